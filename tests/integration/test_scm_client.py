#!/usr/bin/env python3
"""The SCM client (src/ca/scm.c) against sim/sectigo_scm.py, through cactl.

Needs LBCERT_CACTL (set by meson test) and LBCERT_SRC. Exits non-zero on the
first failed expectation.
"""

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.environ.get("LBCERT_SRC") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
CACTL = os.environ.get("LBCERT_CACTL") or os.path.join(SRC, "build", "cactl")
PASSWORD = "Very-s3cret-SCM-pw"
PENDING = 2


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


class Sim:
    def __init__(self, d, *extra, sub="sim"):
        self.dir = os.path.join(d, sub)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SRC, "sim", "sectigo_scm.py"), "--dir", self.dir,
             "--customer-uri", "example", "--login", "api-user", "--password", PASSWORD,
             "--pending", str(PENDING), "--org-id", "1234", "--refuse-domain", "bad.example",
             *extra])
        ready = os.path.join(self.dir, "ready.json")
        for _ in range(400):
            if os.path.exists(ready):
                break
            if self.proc.poll() is not None:
                fail("simulator exited")
            time.sleep(0.05)
        else:
            fail("simulator not ready")
        with open(ready) as f:
            self.ready = json.load(f)
        self.unit = self.ready["units"][0]
        self.ctx = ssl.create_default_context(cafile=self.unit["ca_file"])

    def sim(self, method, path, body=None):
        url = self.unit["url"][:-len("/api")] + path
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
            return json.load(r)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def make_csr(d, name, cn, sans):
    csr = os.path.join(d, name + ".csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", os.path.join(d, name + ".key"),
                    "-out", csr, "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=" + ",".join("DNS:" + s for s in sans)],
                   check=True, capture_output=True)
    return csr


def spec(d, sim, name, **over):
    ca = {"name": "scm", "type": "sectigo-scm", "url": sim.unit["url"],
          "customer_uri": "example", "org_id": 1234, "cert_type": "224", "term": 365,
          "poll_interval_s": 1, "poll_timeout_s": 10, "ca_file": sim.unit["ca_file"],
          "login": "api-user", "password": PASSWORD, "timeout_s": 10,
          "directory": None, "contact": [], "challenge": "none",
          "eab_kid": None, "eab_hmac_key": None, "preferred_chain": None}
    ca.update(over)
    path = os.path.join(d, name + ".json")
    with open(path, "w") as f:
        json.dump({"state_dir": os.path.join(d, "state"), "ca": ca}, f)
    return path


def cactl(spec_path, *commands):
    p = subprocess.run([CACTL, "-l", "trace", spec_path], input="\n".join(commands) + "\n",
                       capture_output=True, text=True, timeout=120)
    expect(PASSWORD not in p.stderr and PASSWORD not in p.stdout,
           "the SCM password reached the output or the trace log")
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    expect(len(lines) == len(commands),
           "cactl gave %d lines for %d commands: %s\n%s" % (len(lines), len(commands),
                                                           p.stdout, p.stderr[-3000:]))
    return lines


def main():
    if not os.access(CACTL, os.X_OK):
        fail("cactl not found at %s (set LBCERT_CACTL)" % CACTL)
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "state"))
        sim = Sim(d)
        try:
            run(d, sim)
        finally:
            sim.stop()
        variants(d)
    print("ok")


def variants(d):
    """Every documented collect variant, served alone (reference 2.4): the
    query form only, the older path form only (with sguidia's empty-200
    "not yet"), and an instance that ignores format= and sends the default
    base64 (PKCS#7)."""
    csr = make_csr(d, "v", "v.example.com", ["v.example.com"])
    for form, style in (("query", "error"), ("path", "empty"), ("default-only", "error")):
        sim = Sim(d, "--collect-form", form, "--pending-style", style, sub="sim-" + form)
        try:
            sp = spec(d, sim, "v-" + form)
            out = cactl(sp, "submit %s v.example.com" % csr)
            expect(out[0]["ok"], "%s: submit: %s" % (form, out[0]))
            ref = out[0]["order_ref"]
            prefix = os.path.join(d, "v-" + form)
            out = cactl(sp, "collect %s %s %s v.example.com" % (ref, csr, prefix))
            expect(out[0]["ok"], "%s: collect: %s" % (form, out[0]))
            expect(out[0]["nchain"] == 1, "%s: chain is the intermediate: %s" % (form, out[0]))
            v = subprocess.run(["openssl", "verify", "-CAfile", sim.ready["ca_root"],
                                "-untrusted", prefix + ".chain.pem", prefix + ".crt"],
                               capture_output=True, text=True)
            expect(v.returncode == 0, "%s: issued chain verifies: %s" % (form, v.stderr))
            st = sim.sim("GET", "/_sim/state")
            expect(st["certs"][ref]["collects"] == PENDING + 1,
                   "%s: polled through the pending answers: %s" % (form, st["certs"][ref]))
            reqs = [r for r in sim.sim("GET", "/_sim/requests") if "/collect/" in r["path"]]
            bad = [r for r in reqs if r["status"] == 404]
            expect(len(bad) == (1 if form == "path" else 0),
                   "%s: one query-form try at most before the path form: %s" % (form, reqs))
        finally:
            sim.stop()


def enroll_posts(sim):
    return [r for r in sim.sim("GET", "/_sim/requests")
            if r["method"] == "POST" and r["path"].endswith("/ssl/v1/enroll")]


def run(d, sim):
    good = spec(d, sim, "good")
    csr = make_csr(d, "www", "www.example.com", ["www.example.com", "shop.example.com"])
    names = "www.example.com shop.example.com"

    # ping, submit, collect through the pending answers, revoke.
    out = cactl(good, "ping", "submit %s %s" % (csr, names))
    expect(out[0]["ok"], "ping: %s" % out[0])
    expect(out[1]["ok"], "submit: %s" % out[1])
    ref = out[1]["order_ref"]
    expect(ref.isdigit(), "order_ref is the sslId: %r" % ref)
    prefix = os.path.join(d, "www")
    out = cactl(good, "collect %s %s %s %s" % (ref, csr, prefix, names))
    expect(out[0]["ok"], "collect: %s" % out[0])
    expect(out[0]["nchain"] == 1, "chain is the intermediate only: %s" % out[0])
    st = sim.sim("GET", "/_sim/state")
    expect(st["certs"][ref]["collects"] == PENDING + 1,
           "collect polled through %d pending answers: %s" % (PENDING, st["certs"][ref]))
    expect(st["enrolls"] == 1, "one enroll: %s" % st)
    v = subprocess.run(["openssl", "verify", "-CAfile", sim.ready["ca_root"], "-untrusted",
                        prefix + ".chain.pem", prefix + ".crt"], capture_output=True, text=True)
    expect(v.returncode == 0, "issued chain verifies: %s" % v.stderr)
    text = subprocess.run(["openssl", "x509", "-in", prefix + ".crt", "-noout", "-text"],
                          capture_output=True, text=True).stdout
    expect("DNS:www.example.com" in text and "DNS:shop.example.com" in text, "SANs: " + text)
    with open(prefix + ".crt") as f:
        expect(f.read().count("BEGIN CERTIFICATE") == 1, "leaf file holds one certificate")

    # Not issued within the wait: LB_EPENDING (-4), and a later run resumes.
    quick = spec(d, sim, "quick", poll_timeout_s=0)
    out = cactl(quick, "submit %s %s" % (csr, names))
    ref2 = out[0]["order_ref"]
    out = cactl(quick, "collect %s %s %s %s" % (ref2, csr, prefix + "2", names))
    expect(not out[0]["ok"] and out[0]["code"] == -4, "pending collect: %s" % out[0])
    expect("-183" in out[0]["error"], "pending message names the SCM answer: %s" % out[0])
    out = cactl(good, "collect %s %s %s %s" % (ref2, csr, prefix + "2", names))
    expect(out[0]["ok"], "resumed collect: %s" % out[0])

    # Refusal: the SCM code and description reach the user.
    bad = make_csr(d, "bad", "www.bad.example", ["www.bad.example"])
    out = cactl(good, "submit %s www.bad.example" % bad)
    expect(not out[0]["ok"], "refused submit: %s" % out[0])
    expect(out[0]["error"].startswith("scm scm: -107 Domain Control Validation")
           and out[0]["error"].endswith("(HTTP 400)"), "refusal message: %s" % out[0]["error"])

    # Wrong password: LB_EAUTH (-5) with the documented answer.
    wrong = spec(d, sim, "wrong", password="not-the-" + "password")
    out = cactl(wrong, "ping")
    expect(not out[0]["ok"] and out[0]["code"] == -5, "wrong password: %s" % out[0])
    expect(out[0]["error"] == "scm scm: -16 Unknown user (HTTP 401)", out[0]["error"])

    # cert_type by name, and an unknown name listing the available ones.
    byname = spec(d, sim, "byname", cert_type="instantssl pro")
    out = cactl(byname, "ping", "submit %s %s" % (csr, names))
    expect(out[0]["ok"] and out[1]["ok"], "cert_type by name: %s" % out)
    st = sim.sim("GET", "/_sim/state")
    expect(st["certs"][out[1]["order_ref"]]["certType"] == 224, "resolved id: %s" % st)
    nope = spec(d, sim, "nope", cert_type="EV Deluxe")
    out = cactl(nope, "ping")
    expect(not out[0]["ok"] and "224 \"InstantSSL Pro\"" in out[0]["error"],
           "unknown cert_type: %s" % out[0])
    out = cactl(spec(d, sim, "noid", cert_type="999"), "ping")
    expect(not out[0]["ok"] and "unknown cert_type \"999\"" in out[0]["error"],
           "unoffered cert_type id: %s" % out[0])

    # enroll is never retried: one 503 means one POST and a failed submit.
    before = len(enroll_posts(sim))
    sim.sim("POST", "/_sim/fault", {"fail_next": {"path_contains": "/enroll",
                                                  "status": 503, "count": 1}})
    out = cactl(good, "submit %s %s" % (csr, names))
    expect(not out[0]["ok"] and "(HTTP 503)" in out[0]["error"], "503 submit: %s" % out[0])
    expect(len(enroll_posts(sim)) == before + 1, "enroll was sent exactly once")

    # A transient 5xx during collect is ridden out.
    sim.sim("POST", "/_sim/fault", {"fail_next": {"path_contains": "/collect/",
                                                  "status": 503, "count": 4}})
    out = cactl(good, "collect %s %s %s %s" % (ref, csr, prefix + "3", names))
    expect(out[0]["ok"], "collect after 503s: %s" % out[0])

    # Revoke, again (already revoked is fine), a reason SCM does not take.
    out = cactl(good, "revoke %s %s superseded" % (ref, prefix + ".crt"),
                "revoke %s %s superseded" % (ref, prefix + ".crt"),
                "revoke %s %s cACompromise" % (ref2, prefix + "2.crt"))
    expect(out[0]["ok"], "revoke: %s" % out[0])
    expect(out[1]["ok"], "second revoke: %s" % out[1])
    expect(not out[2]["ok"] and "reason" in out[2]["error"], "cACompromise: %s" % out[2])
    st = sim.sim("GET", "/_sim/state")
    rev = [r for r in st["revoked"] if str(r["sslId"]) == ref]
    expect(len(rev) == 1 and rev[0]["reasonCode"] == 4, "revoked with code 4: %s" % st["revoked"])
    out = cactl(good, "collect %s %s %s %s" % (ref, csr, prefix + "4", names))
    expect(not out[0]["ok"] and out[0]["code"] != -4 and "-110" in out[0]["error"],
           "collect of a revoked certificate is final: %s" % out[0])


if __name__ == "__main__":
    main()
