#!/usr/bin/env python3
"""The ACME client (src/ca/acme.c) against Pebble, through cactl.

ping, submit, collect (challenge: none answered on Pebble with
PEBBLE_VA_ALWAYS_VALID), a resumed collect of the same order from a new
process, the preferred alternate chain, revoke, badNonce retries (Pebble
rejects 20 % of nonces here), and EAB: wrong key refused, missing
credentials reported. Needs LBCERT_CACTL (set by meson test) and
LBCERT_SRC; exits non-zero on the first failed expectation.
"""
import functools
import http.server
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pebble import FakeDNS, Pebble  # noqa: E402

SRC = os.environ.get("LBCERT_SRC") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
CACTL = os.environ.get("LBCERT_CACTL") or os.path.join(SRC, "build", "cactl")
# The unit test binary holds the http-01 scenario (cactl wires no
# challenge responder); it sits next to cactl in the build directory.
TEST_ACME = os.environ.get("LBCERT_TEST_ACME") or os.path.join(os.path.dirname(CACTL),
                                                                "test_acme")
EAB_KID = "kid-1"
EAB_KEY = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
OTHER_KEY = "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH"
NAMES = ["www.lbcert.test", "shop.lbcert.test"]
EPENDING, EAUTH, ECONFIG = -4, -5, -7


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def expect(cond, msg, *detail):
    if not cond:
        fail(msg + "".join("\n  " + str(d) for d in detail))
    print("ok -", msg, flush=True)


def openssl(*args, inp=None):
    r = subprocess.run(["openssl", *args], input=inp, capture_output=True, text=True)
    if r.returncode != 0:
        fail("openssl " + " ".join(args) + ": " + r.stderr)
    return r.stdout


def make_csr(d, names):
    key, csr = os.path.join(d, "tls.key"), os.path.join(d, "tls.csr")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + names[0],
            "-addext", "subjectAltName=" + ",".join("DNS:" + n for n in names))
    return csr


def cactl(d, name, ca, commands, state_dir):
    """Runs one cactl process; returns its reply lines as dicts."""
    spec = os.path.join(d, name + ".json")
    with open(spec, "w") as f:
        json.dump({"state_dir": state_dir, "ca": ca}, f)
    r = subprocess.run([CACTL, "-l", "trace", spec], input="\n".join(commands) + "\n",
                       capture_output=True, text=True, timeout=300)
    log = os.path.join(d, name + ".log")
    with open(log, "a") as f:
        f.write(r.stderr)
    if os.environ.get("ACME_TEST_KEEP"):
        with open(os.path.join(os.environ["ACME_TEST_KEEP"], name + ".log"), "a") as f:
            f.write(r.stderr)
    replies = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    for secret in (EAB_KEY, OTHER_KEY):
        if secret in r.stdout or secret in r.stderr:
            fail(f"{name}: the EAB HMAC key appears in cactl's output")
    return replies


def ca_spec(p, **kw):
    ca = {"name": "pebble", "type": "acme", "directory": p.directory, "ca_file": p.ca_file,
          "contact": ["mailto:pki@lbcert.test"], "challenge": "none",
          "eab_kid": EAB_KID, "eab_hmac_key": EAB_KEY, "poll_interval_s": 2,
          "poll_timeout_s": 60, "preferred_chain": None, "timeout_s": 10}
    ca.update(kw)
    return ca


def cert_field(pem_file, *args):
    return openssl("x509", "-in", pem_file, "-noout", *args).strip()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def http01_scenario(d):
    """Real http-01 validation: Pebble's VA fetches the token from a
    loopback web server whose webroot the C test's publish() writes."""
    if not os.access(TEST_ACME, os.X_OK):
        fail(f"test_acme not found at {TEST_ACME} (set LBCERT_TEST_ACME)")
    d = os.path.join(d, "http01")
    webroot = os.path.join(d, "www")
    os.makedirs(os.path.join(webroot, ".well-known", "acme-challenge"))
    state = os.path.join(d, "state")
    os.makedirs(state, mode=0o700)
    handler = functools.partial(Quiet, directory=webroot)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with FakeDNS(d) as dns, Pebble(d, eab={EAB_KID: EAB_KEY}, always_valid=False,
                                       http_port=srv.server_address[1],
                                       dns_server=dns.address) as p:
            csr = make_csr(d, ["live.lbcert.test"])
            env = dict(os.environ, ACME_LIVE_DIRECTORY=p.directory, ACME_LIVE_CA_FILE=p.ca_file,
                       ACME_LIVE_WEBROOT=webroot, ACME_LIVE_NAME="live.lbcert.test",
                       ACME_LIVE_BAD_NAME="bad.lbcert.test", ACME_LIVE_CSR=csr,
                       ACME_LIVE_STATE=state, ACME_LIVE_EAB_KID=EAB_KID,
                       ACME_LIVE_EAB_KEY=EAB_KEY, CMOCKA_TEST_ABORT="0")
            r = subprocess.run([TEST_ACME], env=env, capture_output=True, text=True,
                               timeout=300)
            out = r.stdout + r.stderr
            for line in out.splitlines():
                if line.startswith("# acme"):
                    print(line, flush=True)
            expect(r.returncode == 0 and "[       OK ] live_http01" in out,
                   "http-01 validated by Pebble; failed validation reported, tokens withdrawn",
                   out[-3000:])
            expect(os.listdir(os.path.join(webroot, ".well-known", "acme-challenge")) == [],
                   "no token left in the webroot")
            expect(EAB_KEY not in out, "the EAB key is not logged")
    finally:
        srv.shutdown()
        srv.server_close()


def main():
    if not os.access(CACTL, os.X_OK):
        fail(f"cactl not found at {CACTL} (set LBCERT_CACTL)")
    with tempfile.TemporaryDirectory(prefix="lbcert-acme-") as d, \
            Pebble(d, eab={EAB_KID: EAB_KEY, "kid-2": OTHER_KEY}, nonce_reject=20,
                   env={"PEBBLE_ALTERNATE_ROOTS": "1"}) as p:
        state = os.path.join(d, "state")
        os.makedirs(state, mode=0o700)
        csr = make_csr(d, NAMES)
        ca = ca_spec(p)

        # ping is read-only: no account key, no account.
        r = cactl(d, "ping", ca, ["ping"], state)
        expect(r == [{"ok": True}], "ping answers", r)
        expect(os.listdir(state) == [], "ping creates nothing in the state dir",
               os.listdir(state))

        # submit + collect in one process.
        out1 = os.path.join(d, "first")
        r = cactl(d, "order", ca, ["submit " + csr + " " + " ".join(NAMES)], state)
        expect(r and r[0].get("ok") and r[0].get("order_ref", "").startswith("https://127.0.0.1"),
               "submit returns the order URL", r)
        order = r[0]["order_ref"]
        key_file = os.path.join(state, "acme-pebble.key")
        acct_file = os.path.join(state, "acme-pebble.json")
        for f in (key_file, acct_file):
            mode = stat.S_IMODE(os.stat(f).st_mode)
            expect(mode == 0o600, f"{os.path.basename(f)} has mode 0600", oct(mode))
        with open(acct_file) as f:
            acct = json.load(f)
        expect(acct.get("account", "").startswith("https://127.0.0.1") and
               acct.get("directory") == p.directory, "account URL cached", acct)

        r = cactl(d, "collect", ca, [f"collect {order} {csr} {out1} " + " ".join(NAMES)], state)
        expect(r and r[0].get("ok"), "collect issues the certificate", r)
        crt, chain = out1 + ".crt", out1 + ".chain.pem"
        expect(r[0].get("nchain") == 1, "chain has the intermediate", r)
        san = cert_field(crt, "-ext", "subjectAltName")
        expect(all("DNS:" + n in san for n in NAMES), "leaf covers every name", san)
        csr_pub = openssl("req", "-in", csr, "-noout", "-pubkey")
        crt_pub = openssl("x509", "-in", crt, "-noout", "-pubkey")
        expect(csr_pub == crt_pub, "leaf carries the CSR's key")
        root = os.path.join(d, "root0.pem")
        with open(root, "w") as f:
            f.write(p.root_pem(0))
        v = subprocess.run(["openssl", "verify", "-CAfile", root, "-untrusted", chain, crt],
                           capture_output=True, text=True)
        expect(v.returncode == 0, "leaf + chain verify against Pebble's root 0",
               v.stdout + v.stderr)
        with open(acct_file) as f:
            expect(json.load(f) == acct, "collect reuses the cached account")

        # Resume: a new process collects the same (valid) order again.
        out2 = os.path.join(d, "again")
        r = cactl(d, "resume", ca, [f"collect {order} {csr} {out2} " + " ".join(NAMES)], state)
        expect(r and r[0].get("ok"), "resumed collect from a new process succeeds", r)
        with open(crt) as a, open(out2 + ".crt") as b:
            expect(a.read() == b.read(), "resumed collect returns the same certificate")

        # Preferred chain: the alternate issued under root 1.
        root1 = os.path.join(d, "root1.pem")
        with open(root1, "w") as f:
            f.write(p.root_pem(1))
        root1_cn = cert_field(root1, "-subject", "-nameopt", "multiline").split("commonName")[-1]
        root1_cn = root1_cn.split("=", 1)[1].strip()
        out3 = os.path.join(d, "alt")
        r = cactl(d, "alt", ca_spec(p, preferred_chain=root1_cn),
                  [f"collect {order} {csr} {out3} " + " ".join(NAMES)], state)
        expect(r and r[0].get("ok"), "collect with preferred_chain succeeds", r)
        issuer = cert_field(out3 + ".chain.pem", "-issuer", "-nameopt", "multiline")
        expect(root1_cn in issuer, f"preferred chain '{root1_cn}' chosen", issuer)
        v = subprocess.run(["openssl", "verify", "-CAfile", root1, "-untrusted",
                            out3 + ".chain.pem", out3 + ".crt"], capture_output=True, text=True)
        expect(v.returncode == 0, "alternate chain verifies against root 1", v.stdout + v.stderr)

        # Revoke with the account key; Pebble records it.
        serial = cert_field(crt, "-serial").split("=", 1)[1].lower().lstrip("0")
        r = cactl(d, "revoke", ca, [f"revoke {order} {crt} keyCompromise",
                                    f"revoke {order} {crt} keyCompromise"], state)
        expect(len(r) == 2 and r[0].get("ok"), "revoke succeeds", r)
        expect(r[1].get("ok"), "revoking again is not an error (alreadyRevoked)", r)
        st = p.cert_status(serial)
        expect(st.get("Status") == "Revoked", "Pebble lists the certificate as revoked", st)

        # EAB: a wrong HMAC key is refused.
        bad_state = os.path.join(d, "state-bad")
        os.makedirs(bad_state, mode=0o700)
        r = cactl(d, "badeab", ca_spec(p, eab_hmac_key=OTHER_KEY),
                  ["submit " + csr + " " + " ".join(NAMES)], bad_state)
        expect(r and not r[0].get("ok") and r[0].get("code") in (EAUTH, -1),
               "newAccount with a wrong EAB key is refused", r)
        expect("newAccount" in r[0].get("error", ""), "the error names newAccount", r)
        print("#", r[0].get("error"), flush=True)
        expect(not os.path.exists(os.path.join(bad_state, "acme-pebble.json")),
               "no account cached after the refusal")

        # EAB required but not configured: clear configuration error.
        no_state = os.path.join(d, "state-none")
        os.makedirs(no_state, mode=0o700)
        noeab = ca_spec(p, eab_kid=None, eab_hmac_key=None)
        r = cactl(d, "noeab", noeab, ["ping", "submit " + csr + " " + " ".join(NAMES)], no_state)
        expect(len(r) == 2 and all(x.get("code") == ECONFIG for x in r) and
               "External Account Binding" in r[1].get("error", ""),
               "missing EAB credentials are reported as a configuration error", r)

        # An unknown order URL is an error, not pending.
        r = cactl(d, "unknown", ca, [f"collect {p.directory[:-4]}/my-order/nope {csr} "
                                     f"{os.path.join(d, 'x')} {NAMES[0]}"], state)
        expect(r and not r[0].get("ok") and r[0].get("code") != EPENDING,
               "collect of an unknown order fails", r)

        retries = 0
        for f in os.listdir(d):
            if f.endswith(".log"):
                with open(os.path.join(d, f)) as fh:
                    retries += fh.read().count("badNonce on")
        print(f"# {retries} badNonce retries during the run", flush=True)
    with tempfile.TemporaryDirectory(prefix="lbcert-acme-") as d:
        http01_scenario(d)
    print("PASS")


if __name__ == "__main__":
    main()
