#!/usr/bin/env python3
"""The Citrix driver step by step through devctl against the NITRO
simulator (HA pair, two SSL vservers, one HTTP vserver): key and CSR on
the device, install with a chain of two CA certificates, first activation
(vs2 as SNI cert), save, served certificate over TLS, resume of every step,
renewal in place with a changed issuer and no unbind, retire, inventory,
http-01 through the responder, remove refused, session re-login, and no
write ever reaching the secondary."""
import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (check_citrix_settled, CitrixSim, Failed, Sim, check, main,  # noqa: E402
                     served_cert, serial_of, SRC, stopping)


class StringsCitrixSim(CitrixSim):
    """CitrixSim serving the other documented GET shape (--nitro-variant)."""

    def __init__(self, workdir):
        self.user, self.password = "nsroot", "nsroot-Pa55"
        Sim.__init__(self, "citrix_adc", workdir, "--user", self.user, "--password",
                     self.password, "--ha", "--vserver", "vs1", "--vserver", "vs2",
                     "--http-vserver", "http1", "--nitro-variant", "strings",
                     subdir="citrix_adc_strings")

DEVCTL = os.environ.get("LBCERT_DEVCTL") or os.path.join(SRC, "build", "devctl")


def sh(*args, inp=None):
    p = subprocess.run(args, input=inp, capture_output=True)
    if p.returncode != 0:
        raise Failed("%s failed: %s" % (" ".join(args), p.stderr.decode()))
    return p.stdout


class Pki:
    """A throwaway root and intermediates made with the openssl command."""

    def __init__(self, d):
        self.d = d
        os.makedirs(d, exist_ok=True)
        self.root = self._ca("Test Root CA", None)
        self.n = 0

    def _ca(self, cn, issuer):
        key = os.path.join(self.d, cn.replace(" ", "_") + ".key")
        crt = os.path.join(self.d, cn.replace(" ", "_") + ".pem")
        sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-out", key)
        if issuer is None:
            sh("openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=" + cn,
               "-days", "30", "-out", crt, "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        else:
            csr = crt + ".csr"
            sh("openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn, "-out", csr)
            ext = os.path.join(self.d, "ca.ext")
            with open(ext, "w") as f:
                f.write("basicConstraints=critical,CA:TRUE,pathlen:0\n"
                        "keyUsage=critical,keyCertSign,cRLSign\n")
            sh("openssl", "x509", "-req", "-in", csr, "-CA", issuer[1], "-CAkey", issuer[0],
               "-set_serial", "0x" + os.urandom(8).hex(), "-days", "30", "-extfile", ext,
               "-out", crt)
        return key, crt

    def intermediate(self, cn):
        return self._ca(cn, self.root)

    def sign(self, csr_pem, issuer):
        self.n += 1
        csr = os.path.join(self.d, "leaf%d.csr" % self.n)
        crt = os.path.join(self.d, "leaf%d.pem" % self.n)
        with open(csr, "w") as f:
            f.write(csr_pem)
        sh("openssl", "x509", "-req", "-in", csr, "-CA", issuer[1], "-CAkey", issuer[0],
           "-set_serial", "0x" + os.urandom(12).hex(), "-days", "20",
           "-copy_extensions", "copy", "-out", crt)
        return crt

    def chain(self, issuer, name):
        path = os.path.join(self.d, name)
        with open(path, "w") as f:
            f.write(open(issuer[1]).read() + open(self.root[1]).read())
        return path


class Devctl:
    def __init__(self, spec_path, log_path):
        self.log = open(log_path, "w")
        self.p = subprocess.Popen([DEVCTL, "-l", "debug", spec_path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.log, text=True)

    def __call__(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        if not out:
            raise Failed("devctl died on: " + line)
        return json.loads(out)

    def ok(self, line):
        r = self(line)
        check(r.get("ok") is True, "devctl " + line.split()[0] + " succeeds", r)
        return r

    def stop(self):
        try:
            self.p.stdin.close()
            self.p.wait(10)
        finally:
            if self.p.poll() is None:
                self.p.kill()
            self.log.close()


def write(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    return path


def spec_for(w, sim, name, url, peers, profile):
    primary, secondary = sim.units[0], sim.units[1]
    bundle = os.path.join(w, "mgmt-bundle.pem")
    spec = {"device": {"name": "adc1", "type": "citrix-adc", "url": url, "peers": peers,
                       "ca_file": bundle, "pin_sha256": None, "insecure": False,
                       "username": sim.user, "password": sim.password, "timeout_s": 10},
            "profile": profile}
    return write(os.path.join(w, name + ".json"), json.dumps(spec))


def other_profile(w, sim, pki, issuer):
    prof = {"name": "other", "common_name": "other.example.com",
            "sans": ["other.example.com"], "key": {"type": "rsa", "size": 2048},
            "subject": {"organization": "Example Ltd", "country": "GB", "state": "Yorks"},
            "object_name": "other",
            "vservers": [{"name": "vs1", "sni": True}, {"name": "vs2", "sni": True}],
            "challenge_vserver": "http1"}
    dc = Devctl(spec_for(w, sim, "spec-other", sim.units[0]["url"], [sim.units[1]["url"]],
                         prof), os.path.join(w, "devctl-other.log"))
    dc.ok("open")
    r = dc.ok("key-create T1")
    leaf = pki.sign(r["csr_pem"], issuer)
    iref = dc.ok("install %s %s %s" % (r["key_ref"], leaf,
                                        pki.chain(issuer, "chain-other.pem")))["install_ref"]
    dc.ok("activate %s %s first" % (r["key_ref"], write(os.path.join(w, "iref-o.json"), iref)))
    check(serial_of(served_cert(sim.port("vs1"), sni="other.example.com")) ==
          serial_of(open(leaf).read()), "vs1 serves the other profile by SNI")
    return dc


def ha_refusals(w, sim):
    prof = {"name": "x", "common_name": "x.example.com", "sans": ["x.example.com"],
            "key": {"type": "rsa", "size": 2048}, "subject": {}, "object_name": "x",
            "vservers": [], "challenge_vserver": None}
    secondary = sim.units[1]["url"]
    dc = Devctl(spec_for(w, sim, "spec-sec", secondary, [], prof),
                os.path.join(w, "devctl-sec.log"))
    with stopping(dc):
        r = dc("open")
        check(r.get("ok") is False and "primary" in r.get("error", ""),
              "the secondary alone is refused", r)
    dead = "https://127.0.0.1:1"
    dc = Devctl(spec_for(w, sim, "spec-dead", dead, [sim.units[0]["url"]], prof),
                os.path.join(w, "devctl-dead.log"))
    with stopping(dc):
        r = dc.ok("open")
        check(r["active_url"] == sim.units[0]["url"], "an unreachable unit is skipped", r)
    dc = Devctl(spec_for(w, sim, "spec-none", dead, [], prof),
                os.path.join(w, "devctl-none.log"))
    with stopping(dc):
        r = dc("open")
        check(r.get("ok") is False and r.get("code") == -2, "nothing reachable: LB_EUNREACH", r)


def scenario(w):
    sim = CitrixSim(w, vservers=("vs1", "vs2"), ha=True, http_vservers=("http1",))
    with stopping(sim):
        run(w, sim)
    # The other documented GET shape (reference 1.4): numbers as strings,
    # singletons as arrays. The driver must read both alike.
    v = os.path.join(w, "variant")
    os.makedirs(v)
    sim = StringsCitrixSim(v)
    with stopping(sim):
        run(v, sim)


def run(w, sim):
    primary, secondary = sim.units[0], sim.units[1]
    bundle = write(os.path.join(w, "mgmt-bundle.pem"),
                   open(primary["ca_file"]).read() + open(secondary["ca_file"]).read())
    spec = {
        "device": {"name": "adc1", "type": "citrix-adc",
                   # the secondary first: the driver must find the primary
                   "url": secondary["url"], "peers": [primary["url"]],
                   "ca_file": bundle, "pin_sha256": None, "insecure": False,
                   "username": sim.user, "password": sim.password, "timeout_s": 10},
        "profile": {"name": "www", "common_name": "www.example.com",
                    "sans": ["www.example.com", "shop.example.com"],
                    "key": {"type": "ecdsa", "curve": "P-256"},
                    "subject": {"organization": "Example Ltd", "country": "GB",
                                "state": "West Yorkshire", "locality": "Leeds"},
                    "object_name": "www",
                    "vservers": [{"name": "vs1", "sni": False}, {"name": "vs2", "sni": True}],
                    "challenge_vserver": None},
    }
    spec_path = write(os.path.join(w, "spec.json"), json.dumps(spec))
    pki = Pki(os.path.join(w, "pki"))
    int1 = pki.intermediate("Test Issuing CA 1")
    int2 = pki.intermediate("Test Issuing CA 2")
    ha_refusals(w, sim)
    dc = Devctl(spec_path, os.path.join(w, "devctl.log"))
    try:
        steps(w, sim, dc, pki, int1, int2)
    except Failed:
        dc.stop()
        print(open(os.path.join(w, "devctl.log")).read()[-6000:], file=sys.stderr)
        raise
    dc.stop()


def steps(w, sim, dc, pki, int1, int2):
    primary = sim.units[0]
    r = dc.ok("open")
    check(r["active_url"] == primary["url"], "open picks the HA primary", r)

    r = dc("cert-get")
    check(r.get("ok") is False and r.get("code") == -3, "cert-get before enrollment: not found", r)

    # --- key and CSR on the device, resumable
    check(dc.ok("unsaved")["unsaved"] is False, "nothing unsaved before a write")
    ref_for = dc.ok("key-ref-for 20250101T000000Z")["key_ref"]
    r = dc.ok("key-create 20250101T000000Z")
    key1, csr1 = r["key_ref"], r["csr_pem"]
    check(ref_for == key1, "key-ref-for names the key key-create makes", ref_for, key1)
    check(dc.ok("unsaved")["unsaved"] is True, "a key made is unsaved until a save")
    check(key1.endswith(".key") and len(key1) <= 63, "key file name", key1)
    check("BEGIN CERTIFICATE REQUEST" in csr1, "CSR read back from the device")
    text = sh("openssl", "req", "-noout", "-text", inp=csr1.encode()).decode()
    check("DNS:www.example.com" in text and "DNS:shop.example.com" in text,
          "CSR carries both SANs", text)
    check("prime256v1" in text or "P-256" in text, "CSR key is P-256", text)
    r = dc.ok("key-create 20250101T000000Z")
    check(r["key_ref"] == key1 and r["csr_pem"] == csr1, "key-create resumes with the same CSR")
    check(dc.ok("key-usable " + key1)["usable"] is True, "key is usable")

    # a key made and thrown away
    r = dc.ok("key-create 20250102T000000Z")
    spare = r["key_ref"]
    dc.ok("key-discard " + spare)
    files = sim.ctl("/_sim/state")["files"]
    check(not any(spare[:-4] in f for f in files), "key-discard removes key and CSR", files)
    check(dc.ok("key-usable " + spare)["usable"] is False, "discarded key is not usable")
    # keys whose creation answer was lost: never made, or made without a CSR
    never = dc.ok("key-ref-for 20250103T000000Z")["key_ref"]
    dc.ok("key-discard " + never)
    half = dc.ok("key-ref-for 20250104T000000Z")["key_ref"]
    status, body = sim.api("POST", "/nitro/v1/config/sslrsakey?action=create",
                           {"sslrsakey": {"keyfile": half, "bits": 2048}})
    check(status == 200, "a key without its CSR", body)
    dc.ok("key-discard " + half)
    files = sim.ctl("/_sim/state")["files"]
    check(not any(half[:-4] in f for f in files), "key-discard removes a key without CSR", files)

    # --- install with a chain (intermediate, root)
    leaf1 = pki.sign(csr1, int1)
    chain1 = pki.chain(int1, "chain1.pem")
    r = dc.ok("install %s %s %s" % (key1, leaf1, chain1))
    iref1 = r["install_ref"]
    r2 = dc.ok("install %s %s %s" % (key1, leaf1, chain1))
    check(r2["install_ref"] == iref1, "install is idempotent", r2)
    st = sim.ctl("/_sim/state")
    cas = {n: c for n, c in st["certkeys"].items() if n != "www"}
    check(len(cas) == 2, "two CA certkeys (intermediate and root)", st["certkeys"])
    check("www" not in st["certkeys"], "install does not create the leaf certkey")
    ica = json.loads(iref1)["ca"]
    check(len(ica) <= 31 and ica in cas, "CA certkey name within 31 characters", ica)
    check(cas[ica]["linkcertkeyname"] in cas, "intermediate linked to the root", cas)
    check(served_cert(sim.port("vs1")) is None, "nothing served before activation")

    # --- first activation
    iref_path = write(os.path.join(w, "iref1.json"), iref1)
    dc.ok("activate %s %s first" % (key1, iref_path))
    dc.ok("activate %s %s first" % (key1, iref_path))  # resume: all done already
    dc.ok("save")
    check(dc.ok("unsaved")["unsaved"] is False, "nothing unsaved after a save")
    st = sim.ctl("/_sim/state")
    check(st["counters"]["saves"] >= 1, "configuration saved")
    check(st["counters"]["hafiles_sync"] >= 1, "HA files synced")
    check(st["certkeys"]["www"]["linkcertkeyname"] == ica, "leaf linked to its issuer")
    binds = {(b["vservername"], b["snicert"]) for b in st["bindings"]
             if b["certkeyname"] == "www"}
    check(binds == {("vs1", False), ("vs2", True)}, "vs1 plain, vs2 SNI binding", binds)
    check(st["vservers"]["vs2"]["snienable"] == "ENABLED", "SNI enabled on vs2")
    s1 = serial_of(open(leaf1).read())
    check(serial_of(served_cert(sim.port("vs1"))) == s1, "vs1 serves the new certificate")
    check(serial_of(served_cert(sim.port("vs2"), sni="www.example.com")) == s1,
          "vs2 serves it by SNI")

    r = dc.ok("cert-get")
    check(r["serial"] == s1, "cert-get serial", r)
    check(sorted(r["bound"]) == ["vs1", "vs2"], "cert-get bindings", r)
    check(sorted(r["names"]) == ["shop.example.com", "www.example.com"], "cert-get names", r)
    check(r["key_desc"] == "ecdsa:P-256", "cert-get key type", r)
    refs1 = r["refs"]

    # --- session expiry: re-login and replay
    sim.ctl("/_sim/fault", {"expire_sessions": True})
    dc.ok("cert-get")

    # --- renewal in place with a new issuer
    r = dc.ok("key-create 20250201T000000Z")
    key2, csr2 = r["key_ref"], r["csr_pem"]
    leaf2 = pki.sign(csr2, int2)
    chain2 = pki.chain(int2, "chain2.pem")
    iref2 = dc.ok("install %s %s %s" % (key2, leaf2, chain2))["install_ref"]
    iref2_path = write(os.path.join(w, "iref2.json"), iref2)
    start = len(sim.requests())
    dc.ok("activate %s %s renew" % (key2, iref2_path))
    dc.ok("activate %s %s renew" % (key2, iref2_path))  # resume
    dc.ok("save")
    reqs = sim.requests(start)
    unbinds = [q for q in reqs if q["method"] == "DELETE" and
               "sslvserver_sslcertkey_binding" in q["path"]]
    check(not unbinds, "renewal never unbinds", unbinds)
    check(any("action=update" in q["path"] for q in reqs), "renewal updates in place")
    s2 = serial_of(open(leaf2).read())
    check(serial_of(served_cert(sim.port("vs1"))) == s2, "vs1 serves the renewed certificate")
    check(serial_of(served_cert(sim.port("vs2"), sni="shop.example.com")) == s2,
          "vs2 serves the renewed certificate by SNI")
    st = sim.ctl("/_sim/state")
    ica2 = json.loads(iref2)["ca"]
    check(st["certkeys"]["www"]["linkcertkeyname"] == ica2, "leaf relinked to the new issuer")

    # --- retire the old objects
    old = json.loads(refs1)
    dc.ok("retire " + write(os.path.join(w, "refs1.json"), refs1))
    st = sim.ctl("/_sim/state")
    files = st["files"]
    for f in (old["cert"], old["key"], old["csr"]):
        check(not any(x.endswith("/" + f) for x in files), "retire deleted " + f, files)
    check(ica not in st["certkeys"], "old intermediate certkey deleted", st["certkeys"])
    check(ica2 in st["certkeys"], "new intermediate kept")
    cur = json.loads(dc.ok("cert-get")["refs"])
    check(any(x.endswith("/" + cur["cert"]) for x in files), "current cert file kept")
    dc.ok("retire " + write(os.path.join(w, "refs1b.json"), refs1))  # again: nothing to do
    # a file reference whose directory does not fit the driver's buffer is
    # refused, never deleted in a cut (other) directory
    start = len(sim.requests())
    longref = json.dumps({"cert": "/nsconfig/ssl/" + "d" * 300 + "/old.crt"})
    r = dc("retire " + write(os.path.join(w, "refs_long.json"), longref))
    check(r.get("ok") is False and "directory name too long" in r.get("error", ""),
          "retire refuses a file in a directory too long to name", r)
    check(not [q for q in sim.requests(start) if q["method"] == "DELETE"],
          "and sends no DELETE", sim.requests(start))

    # --- inventory: one listing of certkeys, one of bindings, kept for the
    # session (retire lists afresh and leaves the snapshot alone)
    start = len(sim.requests())
    inv = dc.ok("inventory")["items"]
    gets = [q["path"] for q in sim.requests(start) if q["method"] == "GET"]
    listings = ["/nitro/v1/config/sslcertkey",
                "/nitro/v1/config/sslvserver_sslcertkey_binding?bulkbindings=yes"]
    # the session's snapshot may already hold both (retire's file deletions
    # change neither listing); what is read is read once, as a listing
    check(len(gets) == len(set(gets)) and set(gets) <= set(listings),
          "inventory reads the certkeys and the bindings at most once each, "
          "as listings", gets)
    start = len(sim.requests())
    dc.ok("inventory")
    check(not [q for q in sim.requests(start) if q["method"] == "GET"],
          "a second inventory in the same session sends no request")
    byname = {i["name"]: i for i in inv}
    check(byname["www"]["serial"] == s2 and not byname["www"]["is_ca"], "inventory leaf", inv)
    check(sorted(byname["www"]["bound"]) == ["vs1", "vs2"], "inventory bindings", inv)
    check(byname["www"]["subject_cn"] == "www.example.com", "inventory subject CN", inv)
    check(byname[ica2]["is_ca"], "inventory marks CA certkeys", inv)

    # --- http-01 through the responder (global REQ_OVERRIDE binding)
    token = "tok_" + os.urandom(16).hex()
    ka = token + ".thumbprint-abc_DEF"
    dc.ok("http01-publish %s %s" % (token, ka))
    dc.ok("http01-publish %s %s" % (token, ka))  # resume
    port = sim.ready["http_vservers"]["http1"]
    body = urllib.request.urlopen("http://127.0.0.1:%d/.well-known/acme-challenge/%s" %
                                  (port, token), timeout=5).read().decode()
    check(body == ka, "http-01 token served", body)
    dc.ok("http01-withdraw " + token)
    dc.ok("http01-withdraw " + token)  # absent is fine
    resp = sim.ctl("/_sim/state")["responder"]
    check(not resp["actions"] and not resp["policies"] and not resp["global_bindings"],
          "http-01 objects withdrawn", resp)

    # --- remove refuses to leave a vserver without a certificate
    r = dc("remove")
    check(r.get("ok") is False and "vs1" in r.get("error", ""), "remove refused", r)
    check("www" in sim.ctl("/_sim/state")["certkeys"], "certkey still there")

    # --- a second profile (SNI on both vservers, http-01 on an lb vserver)
    other = other_profile(w, sim, pki, int2)
    with stopping(other):
        r = other.ok("http01-publish tokOther abc.def")
        port = sim.ready["http_vservers"]["http1"]
        body = urllib.request.urlopen("http://127.0.0.1:%d/.well-known/acme-challenge/"
                                      "tokOther" % port, timeout=5).read().decode()
        check(body == "abc.def", "http-01 served through the lb vserver binding", body)
        resp = sim.ctl("/_sim/state")["responder"]
        check(len(resp["vserver_bindings"]) == 1 and not resp["global_bindings"],
              "policy bound to the challenge vserver", resp)
        other.ok("http01-withdraw tokOther")
        check(not sim.ctl("/_sim/state")["responder"]["vserver_bindings"],
              "vserver responder binding removed")
        r = other("http01-publish bad/token x")
        check(r.get("ok") is False, "a token outside base64url is refused", r)

    # --- now every vserver has another certificate: remove goes through
    www_files = [json.loads(dc.ok("cert-get")["refs"])[k] for k in ("cert", "key", "csr")]
    dc.ok("remove")
    st = sim.ctl("/_sim/state")
    check("www" not in st["certkeys"], "remove deleted the certkey", st["certkeys"])
    check(not [b for b in st["bindings"] if b["certkeyname"] == "www"], "and its bindings")
    for f in www_files:
        check(not any(x.endswith("/" + f) for x in st["files"]), "and its file " + f)
    check(dc("cert-get").get("code") == -3, "cert-get after remove: not found")
    check(dc.ok("unsaved")["unsaved"] is True, "remove left the configuration unsaved")
    dc.ok("save")
    check_citrix_settled(sim)

    dc.ok("close")
    st = sim.ctl("/_sim/state")
    writes = st["counters"]["writes"]
    check(writes.get("1", 0) == 0, "no write request reached the secondary", writes)
    check(st["sessions"].get("0", 0) == 0, "session logged out", st["sessions"])


if __name__ == "__main__":
    main(scenario)
