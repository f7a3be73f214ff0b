"""Exercises sim/citrix_adc.py directly (urllib + ssl), so that the
simulator's own strictness is tested. Run:
    python3 -m unittest tests/sim/test_citrix_sim.py
"""

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "..", "..", "sim", "citrix_adc.py")
PW = "s3cret-pw"


def sh(*args, input=None):
    p = subprocess.run(list(args), input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise AssertionError("%s failed: %s" % (args, p.stderr.decode()))
    return p.stdout


class Sim:
    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="citrix-sim-")
        self.proc = subprocess.Popen(
            [sys.executable, SIM, "--dir", self.dir, "--password", PW] + list(extra),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ready = os.path.join(self.dir, "ready.json")
        deadline = time.time() + 20
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("simulator did not start: %s" % self.proc.stderr.read())
            time.sleep(0.05)
        with open(ready) as f:
            self.ready = json.load(f)
        self.ctx = []
        for u in self.ready["units"]:
            c = ssl.create_default_context(cafile=u["ca_file"])
            self.ctx.append(c)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, method, path, body=None, unit=0, cookie=None, auth=True, raw=None,
             headers=None):
        """Returns (status, parsed JSON or None, response headers)."""
        url = self.ready["units"][unit]["url"] + path
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if cookie:
            req.add_header("Cookie", "NITRO_AUTH_TOKEN=" + cookie)
        elif auth:
            req.add_header("X-NITRO-USER", "nsroot")
            req.add_header("X-NITRO-PASS", PW)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=self.ctx[unit], timeout=20) as r:
                status, text, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), e.headers
        return status, (json.loads(text) if text else None), hdrs

    def cfg(self, method, res, body=None, **kw):
        return self.call(method, "/nitro/v1/config/" + res, body, **kw)

    def upload(self, name, data):
        st, js, _ = self.cfg("POST", "systemfile", {"systemfile": {
            "filename": name, "filecontent": base64.b64encode(data).decode(),
            "filelocation": "/nsconfig/ssl/", "fileencoding": "BASE64"}})
        assert st == 201, (st, js)

    def download(self, name):
        st, js, _ = self.cfg("GET", "systemfile?args=filename:%s,filelocation:%%2Fnsconfig%%2Fssl"
                             % name)
        assert st == 200, (st, js)
        return base64.b64decode(js["systemfile"][0]["filecontent"])


def peer_cert(port, server_name=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname=server_name) as t:
            return t.getpeercert(binary_form=True)


def pem_to_der(pem):
    return ssl.PEM_cert_to_DER_cert(pem.decode() if isinstance(pem, bytes) else pem)


class CA:
    """A throwaway openssl CA in a temp dir."""

    def __init__(self, d, name):
        self.d, self.name = d, name
        self.key = os.path.join(d, name + ".key")
        self.crt = os.path.join(d, name + ".crt")
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key, "-out", self.crt,
           "-days", "30", "-subj", "/O=Test/CN=" + name,
           "-addext", "basicConstraints=critical,CA:TRUE",
           "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.n = 0

    def sign(self, csr_pem, days=20):
        self.n += 1
        csr = os.path.join(self.d, "req%d.csr" % self.n)
        out = os.path.join(self.d, "leaf%d.crt" % self.n)
        ext = os.path.join(self.d, "ext%d.cnf" % self.n)
        with open(csr, "wb") as f:
            f.write(csr_pem)
        sans = sh("openssl", "req", "-in", csr, "-noout", "-text").decode()
        line = sans.split("X509v3 Subject Alternative Name:")[1].strip().splitlines()[0]
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % line.replace(" ", ""))
        sh("openssl", "x509", "-req", "-in", csr, "-CA", self.crt, "-CAkey", self.key,
           "-CAcreateserial", "-out", out, "-days", str(days), "-extfile", ext)
        with open(out, "rb") as f:
            return f.read()

    def pem(self):
        with open(self.crt, "rb") as f:
            return f.read()


class CitrixSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--ha", "--vserver", "vs1", "--vserver", "vs2:cs",
                      "--http-vserver", "web80", "--version", "13.0")
        cls.tmp = tempfile.mkdtemp(prefix="citrix-test-")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def assertErr(self, resp, status, code):
        st, js, _ = resp
        self.assertEqual(st, status, js)
        self.assertEqual(js["errorcode"], code, js)
        self.assertEqual(js["severity"], "ERROR", js)

    def test_zz_no_simulator_errors(self):
        # Runs last (alphabetical): no request made the simulator crash.
        st, log, _ = self.sim.call("GET", "/_sim/requests", auth=False)
        self.assertEqual([e for e in log if e["status"] in (None, 500)], [])

    # ------------------------------------------------------------ auth
    def test_login_logout(self):
        s = self.sim
        st, js, h = s.cfg("POST", "login", {"login": {"username": "nsroot", "password": PW,
                                                      "timeout": 3600}}, auth=False)
        self.assertEqual(st, 201)
        sid = js["sessionid"]
        self.assertIn("NITRO_AUTH_TOKEN=" + sid, h["Set-Cookie"])
        st, js, _ = s.cfg("GET", "nsversion", cookie=sid)
        self.assertEqual(st, 200)
        self.assertIn("NS13.0", js["nsversion"]["version"])
        st, _, _ = s.cfg("POST", "logout", {"logout": {}}, cookie=sid)
        self.assertIn(st, (200, 201))
        self.assertErr(s.cfg("GET", "nsversion", cookie=sid), 401, 444)

    def test_bad_password_and_no_auth(self):
        s = self.sim
        self.assertErr(s.cfg("POST", "login", {"login": {"username": "nsroot",
                                                         "password": "wrong"}}, auth=False),
                       401, 354)
        self.assertErr(s.cfg("GET", "sslcertkey", auth=False), 401, 354)
        self.assertErr(s.cfg("GET", "sslcertkey", auth=False,
                             headers={"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "x"}),
                       401, 354)

    def test_session_expiry_fault(self):
        s = self.sim
        _, js, _ = s.cfg("POST", "login", {"login": {"username": "nsroot", "password": PW}},
                         auth=False)
        sid = js["sessionid"]
        self.assertEqual(s.cfg("GET", "hanode", cookie=sid)[0], 200)
        s.call("POST", "/_sim/fault", {"expire_sessions": True}, auth=False)
        self.assertErr(s.cfg("GET", "hanode", cookie=sid), 401, 444)

    def test_session_timeout_option(self):
        sim = Sim("--session-timeout", "1")
        try:
            st, js, _ = sim.cfg("POST", "login", {"login": {
                "username": "nsroot", "password": PW, "timeout": 3600}}, auth=False)
            sid = js["sessionid"]
            self.assertEqual(sim.cfg("GET", "hanode", cookie=sid)[0], 200)
            time.sleep(1.3)
            self.assertErr(sim.cfg("GET", "hanode", cookie=sid), 401, 444)
            st, js, _ = sim.cfg("GET", "hanode")
            self.assertEqual(len(js["hanode"]), 1)  # standalone
            self.assertEqual(js["hanode"][0]["state"], "Primary")
        finally:
            sim.stop()

    def test_strings_variant(self):
        """--nitro-variant strings: numbers as strings, singletons as arrays."""
        sim = Sim("--ha", "--nitro-variant", "strings")
        try:
            st, js, _ = sim.cfg("GET", "hanode")
            self.assertEqual(st, 200)
            self.assertEqual(js["errorcode"], 0)
            self.assertEqual([n["id"] for n in js["hanode"]], ["0", "1"])
            st, js, _ = sim.cfg("GET", "nsversion")
            self.assertIsInstance(js["nsversion"], list)
            self.assertIn("NS13.1", js["nsversion"][0]["version"])
            # errors keep their numeric envelope
            st, js, _ = sim.cfg("GET", "sslcertkey/nope")
            self.assertEqual((st, js["errorcode"]), (404, 258))
        finally:
            sim.stop()

    def test_fail_next_fault(self):
        s = self.sim
        s.call("POST", "/_sim/fault", {"fail_next": {"path_contains": "nsconfig",
                                                     "status": 503, "count": 1}}, auth=False)
        self.assertEqual(s.cfg("POST", "nsconfig?action=save", {"nsconfig": {}})[0], 503)
        self.assertEqual(s.cfg("POST", "nsconfig?action=save", {"nsconfig": {}})[0], 200)

    # ------------------------------------------------------- envelope
    def test_strict_envelope(self):
        s = self.sim
        # wrong wrapper object
        self.assertErr(s.cfg("POST", "sslrsakey?action=create",
                             {"sslecdsakey": {"keyfile": "w.key", "curve": "P_256"}}), 400, 1075)
        # unknown field
        self.assertErr(s.cfg("POST", "sslrsakey?action=create",
                             {"sslrsakey": {"keyfile": "w.key", "bits": 2048, "size": 1}}),
                       599, 278)
        # not JSON
        self.assertErr(s.cfg("POST", "systemfile", raw=b"{nope"), 400, 1074)
        # unknown resource
        self.assertErr(s.cfg("GET", "nosuchthing"), 404, 258)
        # method not allowed
        self.assertEqual(s.cfg("PATCH", "sslcertkey", {"sslcertkey": {}})[0], 405)
        # missing object
        self.assertErr(s.cfg("GET", "sslcertkey/absent"), 404, 258)
        # missing required argument
        self.assertErr(s.cfg("POST", "sslcertkey", {"sslcertkey": {"cert": "x.crt"}}),
                       400, 1095)

    # ----------------------------------------------------- keys + CSR
    def test_keys_and_csr(self):
        s = self.sim
        ok = s.cfg("POST", "sslrsakey?action=create",
                   {"sslrsakey": {"keyfile": "t-rsa.key", "bits": 2048, "exponent": "F4",
                                  "keyform": "PEM"}})
        self.assertEqual(ok[0], 200, ok)
        self.assertErr(s.cfg("POST", "sslrsakey?action=create",
                             {"sslrsakey": {"keyfile": "t-rsa.key", "bits": 2048}}), 409, 1642)
        self.assertErr(s.cfg("POST", "sslrsakey?action=create",
                             {"sslrsakey": {"keyfile": "t-small.key", "bits": 256}}), 599, 278)
        self.assertErr(s.cfg("POST", "sslrsakey?action=create",
                             {"sslrsakey": {"keyfile": "k" * 64, "bits": 2048}}), 599, 278)
        self.assertEqual(s.cfg("POST", "sslecdsakey?action=create",
                               {"sslecdsakey": {"keyfile": "t-ec.key", "curve": "P_384"}})[0], 200)
        self.assertErr(s.cfg("POST", "sslecdsakey?action=create",
                             {"sslecdsakey": {"keyfile": "t-ec2.key", "curve": "P_521"}}),
                       599, 278)
        self.assertIn(b"BEGIN RSA PRIVATE KEY", s.download("t-rsa.key"))
        self.assertIn(b"BEGIN EC PRIVATE KEY", s.download("t-ec.key"))

        base = {"reqfile": "t-ec.csr", "keyfile": "t-ec.key", "countryname": "GB",
                "statename": "West Yorkshire", "organizationname": "Example Ltd",
                "commonname": "www.example.com", "digestmethod": "SHA256",
                "subjectaltname": "DNS:www.example.com DNS:shop.example.com"}
        self.assertEqual(s.cfg("POST", "sslcertreq?action=create", {"sslcertreq": base})[0], 200)
        csr = s.download("t-ec.csr")
        out = sh("openssl", "req", "-verify", "-noout", "-text", input=csr).decode()
        self.assertIn("DNS:www.example.com, DNS:shop.example.com", out)
        self.assertIn("CN=www.example.com", out.replace(" = ", "="))
        self.assertIn("C=GB", out.replace(" = ", "="))
        self.assertErr(s.cfg("POST", "sslcertreq?action=create", {"sslcertreq": base}), 409, 1642)
        bad = dict(base, reqfile="t2.csr", countryname="GBR")
        self.assertErr(s.cfg("POST", "sslcertreq?action=create", {"sslcertreq": bad}), 599, 278)
        bad = dict(base, reqfile="t3.csr")
        del bad["statename"]
        self.assertErr(s.cfg("POST", "sslcertreq?action=create", {"sslcertreq": bad}), 400, 1095)
        bad = dict(base, reqfile="t4.csr", keyfile="nokey.key")
        self.assertErr(s.cfg("POST", "sslcertreq?action=create", {"sslcertreq": bad}), 599, 1542)

    # ----------------------------------------------------- systemfile
    def test_systemfile(self):
        s = self.sim
        data = b"hello\x00world\n" * 10
        s.upload("sf-test.bin", data)
        self.assertEqual(s.download("sf-test.bin"), data)
        self.assertErr(s.cfg("POST", "systemfile", {"systemfile": {
            "filename": "sf-test.bin", "filecontent": base64.b64encode(b"x").decode(),
            "filelocation": "/nsconfig/ssl/", "fileencoding": "BASE64"}}), 409, 1642)
        self.assertErr(s.cfg("POST", "systemfile", {"systemfile": {
            "filename": "../evil", "filecontent": "eA==", "filelocation": "/nsconfig/ssl/"}}),
            599, 278)
        st, js, _ = s.cfg("GET", "systemfile?args=filelocation:%2Fnsconfig%2Fssl")
        self.assertIn("sf-test.bin", [f["filename"] for f in js["systemfile"]])
        self.assertNotIn("filecontent", js["systemfile"][0])
        self.assertEqual(s.cfg("DELETE", "systemfile/sf-test.bin?args=filelocation:%2Fnsconfig%2Fssl")[0], 200)
        self.assertErr(s.cfg("GET", "systemfile?args=filename:sf-test.bin,filelocation:%2Fnsconfig%2Fssl"),
                       404, 258)
        s.upload("sf-test2.bin", b"y")
        self.assertEqual(s.cfg("DELETE", "systemfile?args=filename:sf-test2.bin,filelocation:%2Fnsconfig%2Fssl")[0], 200)

    # ------------------------------------------- certkeys, bindings, TLS
    def make_leaf(self, ca, key, csr, names, ec=False):
        s = self.sim
        if ec:
            r = s.cfg("POST", "sslecdsakey?action=create",
                      {"sslecdsakey": {"keyfile": key, "curve": "P_256"}})
        else:
            r = s.cfg("POST", "sslrsakey?action=create",
                      {"sslrsakey": {"keyfile": key, "bits": 2048}})
        self.assertEqual(r[0], 200, r)
        r = s.cfg("POST", "sslcertreq?action=create", {"sslcertreq": {
            "reqfile": csr, "keyfile": key, "countryname": "GB", "statename": "WY",
            "organizationname": "Ex", "commonname": names[0],
            "subjectaltname": " ".join("DNS:" + n for n in names)}})
        self.assertEqual(r[0], 200, r)
        return ca.sign(s.download(csr))

    def test_certkey_bind_tls_update(self):
        s = self.sim
        ca = CA(self.tmp, "Sim Test CA")
        other_ca = CA(self.tmp, "Other CA")
        leaf = self.make_leaf(ca, "app1.key", "app1.csr", ["www.example.com", "alt.example.com"])
        s.upload("app1.crt", leaf)
        s.upload("ca1.crt", ca.pem())

        # CA object without key; leaf with matching key; mismatched key refused
        self.assertEqual(s.cfg("POST", "sslcertkey", {"sslcertkey": {
            "certkey": "ca1", "cert": "ca1.crt"}})[0], 201)
        s.cfg("POST", "sslecdsakey?action=create",
              {"sslecdsakey": {"keyfile": "wrong.key", "curve": "P_256"}})
        self.assertErr(s.cfg("POST", "sslcertkey", {"sslcertkey": {
            "certkey": "app-bad", "cert": "app1.crt", "key": "wrong.key"}}), 599, 1540)
        self.assertErr(s.cfg("POST", "sslcertkey", {"sslcertkey": {
            "certkey": "app-nofile", "cert": "missing.crt", "key": "app1.key"}}), 599, 1542)
        self.assertErr(s.cfg("POST", "sslcertkey", {"sslcertkey": {
            "certkey": "a" * 32, "cert": "app1.crt", "key": "app1.key"}}), 599, 278)
        r = s.cfg("POST", "sslcertkey", {"sslcertkey": {
            "certkey": "app", "cert": "app1.crt", "key": "app1.key",
            "expirymonitor": "ENABLED", "notificationperiod": 30}})
        self.assertEqual(r[0], 201, r)
        self.assertErr(s.cfg("POST", "sslcertkey", {"sslcertkey": {
            "certkey": "app", "cert": "app1.crt", "key": "app1.key"}}), 409, 273)

        # link: target must exist and be the issuer
        self.assertErr(s.cfg("POST", "sslcertkey?action=link", {"sslcertkey": {
            "certkey": "app", "linkcertkeyname": "nope"}}), 404, 258)
        s.upload("other.crt", other_ca.pem())
        s.cfg("POST", "sslcertkey", {"sslcertkey": {"certkey": "other", "cert": "other.crt"}})
        self.assertErr(s.cfg("POST", "sslcertkey?action=link", {"sslcertkey": {
            "certkey": "app", "linkcertkeyname": "other"}}), 599, 1543)
        self.assertEqual(s.cfg("POST", "sslcertkey?action=link", {"sslcertkey": {
            "certkey": "app", "linkcertkeyname": "ca1"}})[0], 200)

        # GET fields
        serial = sh("openssl", "x509", "-noout", "-serial", input=leaf).decode().split("=")[1].strip()
        st, js, _ = s.cfg("GET", "sslcertkey/app")
        ck = js["sslcertkey"][0]
        self.assertEqual(ck["serial"], serial)
        self.assertEqual(ck["status"], "Valid")
        self.assertEqual(ck["linkcertkeyname"], "ca1")
        self.assertIn(ck["daystoexpiration"], (18, 19, 20))
        self.assertRegex(ck["clientcertnotafter"], r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$")
        self.assertIn("www.example.com", ck["sandns"])
        st, js, _ = s.cfg("GET", "sslcertkey?filter=serial:" + serial)
        self.assertEqual([c["certkey"] for c in js["sslcertkey"]], ["app"])
        st, js, _ = s.cfg("GET", "sslcertkey?filter=serial:00")
        self.assertNotIn("sslcertkey", js)

        # bind: vserver/certkey must exist; snicert needs SNI enabled
        bind = lambda vs, ck, sni=False: s.cfg("PUT", "sslvserver_sslcertkey_binding", {
            "sslvserver_sslcertkey_binding": dict(
                {"vservername": vs, "certkeyname": ck}, **({"snicert": True} if sni else {}))})
        self.assertErr(bind("novs", "app"), 404, 258)
        self.assertErr(bind("vs1", "nock"), 404, 258)
        self.assertErr(bind("vs2", "app", sni=True), 599, 1545)
        # vs1 has no cert: the handshake fails like a DOWN vserver
        with self.assertRaises((ssl.SSLError, OSError)):
            peer_cert(s.ready["vservers"]["vs1"])
        self.assertEqual(bind("vs1", "app")[0], 201)
        self.assertErr(bind("vs1", "app"), 409, 273)
        self.assertEqual(s.cfg("PUT", "sslvserver", {"sslvserver": {
            "vservername": "vs2", "snienable": "ENABLED"}})[0], 200)
        self.assertEqual(bind("vs2", "app", sni=True)[0], 201)
        st, js, _ = s.cfg("GET", "sslcertkey_sslvserver_binding/app")
        self.assertEqual(sorted(b["servername"] for b in js["sslcertkey_sslvserver_binding"]),
                         ["vs1", "vs2"])
        st, js, _ = s.cfg("GET", "sslvserver_sslcertkey_binding/vs2")
        self.assertTrue(js["sslvserver_sslcertkey_binding"][0]["snicert"])

        leaf_der = pem_to_der(leaf)
        self.assertEqual(peer_cert(s.ready["vservers"]["vs1"]), leaf_der)
        self.assertEqual(peer_cert(s.ready["vservers"]["vs2"], "alt.example.com"), leaf_der)
        with self.assertRaises((ssl.SSLError, OSError)):
            peer_cert(s.ready["vservers"]["vs2"], "unknown.example.net")
        # the linked CA is sent as chain, and the chain verifies
        vctx = ssl.create_default_context(cafile=ca.crt)
        with socket.create_connection(("127.0.0.1", s.ready["vservers"]["vs1"]), 5) as so:
            with vctx.wrap_socket(so, server_hostname="www.example.com") as t:
                self.assertEqual(t.getpeercert(True), leaf_der)
        out = sh("openssl", "s_client", "-connect", "127.0.0.1:%d" % s.ready["vservers"]["vs1"],
                 "-showcerts", input=b"").decode()
        self.assertEqual(out.count("BEGIN CERTIFICATE"), 2)

        # delete refused while bound / linked-to
        self.assertErr(s.cfg("DELETE", "sslcertkey/app"), 599, 1544)
        self.assertErr(s.cfg("DELETE", "sslcertkey/ca1"), 599, 1544)

        # update in place: mismatched key refused, then the served cert changes
        leaf2 = self.make_leaf(ca, "app2.key", "app2.csr", ["www.example.com", "alt.example.com"],
                               ec=True)
        s.upload("app2.crt", leaf2)
        self.assertErr(s.cfg("POST", "sslcertkey?action=update", {"sslcertkey": {
            "certkey": "app", "cert": "app2.crt", "key": "app1.key"}}), 599, 1540)
        self.assertEqual(peer_cert(s.ready["vservers"]["vs1"]), leaf_der)
        r = s.cfg("POST", "sslcertkey?action=update", {"sslcertkey": {
            "certkey": "app", "cert": "app2.crt", "key": "app2.key", "nodomaincheck": True}})
        self.assertEqual(r[0], 200, r)
        leaf2_der = pem_to_der(leaf2)
        self.assertEqual(peer_cert(s.ready["vservers"]["vs1"]), leaf2_der)
        self.assertEqual(peer_cert(s.ready["vservers"]["vs2"], "www.example.com"), leaf2_der)
        st, js, _ = s.cfg("GET", "sslcertkey_sslvserver_binding/app")
        self.assertEqual(len(js["sslcertkey_sslvserver_binding"]), 2)
        # a different domain needs nodomaincheck
        leaf3 = self.make_leaf(ca, "app3.key", "app3.csr", ["other.example.org"])
        s.upload("app3.crt", leaf3)
        self.assertErr(s.cfg("POST", "sslcertkey?action=update", {"sslcertkey": {
            "certkey": "app", "cert": "app3.crt", "key": "app3.key"}}), 599, 1541)

        # unbind, unlink, delete
        self.assertEqual(s.cfg("DELETE", "sslvserver_sslcertkey_binding/vs2?args=certkeyname:app,snicert:true")[0], 200)
        self.assertEqual(s.cfg("DELETE", "sslvserver_sslcertkey_binding/vs1?args=certkeyname:app")[0], 200)
        self.assertErr(s.cfg("DELETE", "sslvserver_sslcertkey_binding/vs1?args=certkeyname:app"), 404, 258)
        self.assertEqual(s.cfg("POST", "sslcertkey?action=unlink", {"sslcertkey": {"certkey": "app"}})[0], 200)
        self.assertEqual(s.cfg("DELETE", "sslcertkey/app")[0], 200)
        self.assertEqual(s.cfg("DELETE", "sslcertkey/ca1")[0], 200)

        # save and HA file sync are counted
        self.assertEqual(s.cfg("POST", "hafiles?action=sync", {"hafiles": {"mode": ["ssl"]}})[0], 200)
        self.assertEqual(s.cfg("POST", "nsconfig?action=save", {"nsconfig": {}})[0], 200)
        st, state, _ = s.call("GET", "/_sim/state", auth=False)
        self.assertGreaterEqual(state["counters"]["saves"], 1)
        self.assertGreaterEqual(state["counters"]["hafiles_sync"], 1)

    # ----------------------------------------------------------- HA
    def test_secondary_rejects_writes(self):
        s = self.sim
        s.call("POST", "/_sim/requests/clear", auth=False)
        st, js, _ = s.cfg("GET", "hanode", unit=1)
        self.assertEqual(js["hanode"][0]["id"], 0)
        self.assertEqual(js["hanode"][0]["state"], "Secondary")
        st, js, _ = s.cfg("GET", "hanode", unit=0)
        self.assertEqual(js["hanode"][0]["state"], "Primary")
        self.assertEqual(js["hanode"][1]["state"], "Secondary")
        # the secondary has the primary's files only after an HA file sync
        s.upload("ha-shared.txt", b"shared")
        q = "systemfile?args=filename:ha-shared.txt,filelocation:%2Fnsconfig%2Fssl"
        self.assertErr(s.cfg("GET", q, unit=1), 404, 258)
        self.assertEqual(s.cfg("POST", "hafiles?action=sync", {"hafiles": {"mode": ["ssl"]}})[0],
                         200)
        st, js, _ = s.cfg("GET", q, unit=1)
        self.assertEqual(st, 200)
        self.assertErr(s.cfg("POST", "sslrsakey?action=create",
                             {"sslrsakey": {"keyfile": "sec.key", "bits": 2048}}, unit=1), 400, 1)
        self.assertErr(s.cfg("DELETE", "systemfile/ha-shared.txt?args=filelocation:%2Fnsconfig%2Fssl",
                             unit=1), 400, 1)
        st, state, _ = s.call("GET", "/_sim/state", auth=False)
        self.assertEqual(state["counters"]["writes_ok"].get("1", 0), 0)
        self.assertNotIn("/sec.key", " ".join(state["files"]))
        st, log, _ = s.call("GET", "/_sim/requests", auth=False)
        sec_writes = [e for e in log if e["unit"] == 1 and e["write"]]
        self.assertEqual(len(sec_writes), 2)
        self.assertTrue(all(e["status"] == 400 for e in sec_writes))

    # ------------------------------------------ saved config, HA files, gaps
    def state(self):
        return self.sim.call("GET", "/_sim/state", auth=False)[1]

    def test_unsaved_files_in_sync_gaps(self):
        s = self.sim
        self.assertEqual(s.cfg("POST", "nsconfig?action=save", {"nsconfig": {}})[0], 200)
        st = self.state()
        self.assertFalse(st["unsaved"])
        ngaps = len(st["gaps"])
        # a file is not configuration, but the secondary lacks it
        ca = CA(self.tmp, "Gap CA")
        leaf = self.make_leaf(ca, "gap.key", "gap.csr", ["gap.example.com"])
        s.upload("gap.crt", leaf)
        st = self.state()
        self.assertFalse(st["unsaved"])
        self.assertFalse(st["files_in_sync"])
        self.assertIn("/nsconfig/ssl/gap.crt", st["files_missing_on_secondary"])
        # a certkey command propagated before the files: the secondary fails it
        nprop = len(st["propagation_failures"])
        self.assertEqual(s.cfg("POST", "sslcertkey", {"sslcertkey": {
            "certkey": "gap", "cert": "gap.crt", "key": "gap.key"}})[0], 201)
        st = self.state()
        self.assertTrue(st["unsaved"])
        self.assertEqual(len(st["propagation_failures"]), nprop + 1)
        self.assertEqual(s.cfg("POST", "hafiles?action=sync", {"hafiles": {"mode": ["ssl"]}})[0],
                         200)
        st = self.state()
        self.assertTrue(st["files_in_sync"], st["files_missing_on_secondary"])
        self.assertIn("gap.key", st["secondary_files"])
        # create + delete nets to no change
        self.assertEqual(s.cfg("DELETE", "sslcertkey/gap")[0], 200)
        self.assertFalse(self.state()["unsaved"])
        # a vserver that served and stops serving is a gap
        s.cfg("POST", "sslcertkey", {"sslcertkey": {"certkey": "gap", "cert": "gap.crt",
                                                     "key": "gap.key"}})
        self.assertEqual(s.cfg("PUT", "sslvserver_sslcertkey_binding", {
            "sslvserver_sslcertkey_binding": {"vservername": "vs2", "certkeyname": "gap"}})[0],
            201)
        self.assertEqual(len(self.state()["gaps"]), ngaps)
        self.assertEqual(s.cfg("DELETE", "sslvserver_sslcertkey_binding/vs2?args=certkeyname:gap")[0],
                         200)
        gaps = self.state()["gaps"]
        self.assertEqual(len(gaps), ngaps + 1)
        self.assertEqual(gaps[-1]["vserver"], "vs2")
        self.assertIn("sslvserver_sslcertkey_binding", gaps[-1]["path"])
        self.assertEqual(s.cfg("DELETE", "sslcertkey/gap")[0], 200)
        self.assertEqual(s.cfg("POST", "nsconfig?action=save", {"nsconfig": {}})[0], 200)
        self.assertFalse(self.state()["unsaved"])
        st, js, _ = s.cfg("GET", "nsconfig")
        self.assertFalse(js["nsconfig"]["configchanged"])

    def test_expire_before_fault(self):
        s = self.sim
        _, js, _ = s.cfg("POST", "login", {"login": {"username": "nsroot", "password": PW}},
                         auth=False)
        sid = js["sessionid"]
        s.call("POST", "/_sim/fault", {"expire_before": {"path_contains": "action=unlink",
                                                         "method": "POST"}}, auth=False)
        self.assertEqual(s.cfg("GET", "hanode", cookie=sid)[0], 200)
        self.assertEqual(s.cfg("GET", "sslcertkey?action=unlink", cookie=sid)[0], 200)
        self.assertErr(s.cfg("POST", "sslcertkey?action=unlink",
                             {"sslcertkey": {"certkey": "x"}}, cookie=sid), 401, 444)
        # once only
        _, js, _ = s.cfg("POST", "login", {"login": {"username": "nsroot", "password": PW}},
                         auth=False)
        self.assertErr(s.cfg("POST", "sslcertkey?action=unlink",
                             {"sslcertkey": {"certkey": "x"}}, cookie=js["sessionid"]), 404, 258)

    # -------------------------------------------------------- http-01
    def test_http01_responder(self):
        s = self.sim
        tok, keyauth = "tok123_-abc", "tok123_-abc.thumbprint"
        self.assertEqual(s.cfg("POST", "responderaction", {"responderaction": {
            "name": "rsa_acme", "type": "respondwith",
            "target": '"HTTP/1.0 200 OK\\r\\n\\r\\n" + "%s"' % keyauth}})[0], 201)
        self.assertErr(s.cfg("POST", "responderpolicy", {"responderpolicy": {
            "name": "rsp_bad", "rule": 'HTTP.REQ.URL.FOO("x"', "action": "rsa_acme"}}), 599, 2081)
        self.assertEqual(s.cfg("POST", "responderpolicy", {"responderpolicy": {
            "name": "rsp_acme", "action": "rsa_acme",
            "rule": 'HTTP.REQ.URL.EQ("/.well-known/acme-challenge/%s")' % tok}})[0], 201)
        port = s.ready["http_vservers"]["web80"]
        url = "http://127.0.0.1:%d/.well-known/acme-challenge/" % port

        def get(path):
            try:
                with urllib.request.urlopen(url + path, timeout=5) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        self.assertEqual(get(tok)[0], 404)  # not bound yet
        self.assertEqual(s.cfg("PUT", "responderglobal_responderpolicy_binding", {
            "responderglobal_responderpolicy_binding": {
                "policyname": "rsp_acme", "priority": 100, "gotopriorityexpression": "END",
                "type": "REQ_OVERRIDE"}})[0], 201)
        self.assertEqual(get(tok), (200, keyauth.encode()))
        self.assertEqual(get("other")[0], 404)
        self.assertErr(s.cfg("DELETE", "responderpolicy/rsp_acme"), 599, 2080)
        self.assertEqual(s.cfg("DELETE", "responderglobal_responderpolicy_binding?args=policyname:rsp_acme,type:REQ_OVERRIDE")[0], 200)
        self.assertEqual(get(tok)[0], 404)
        # vserver binding with CONTAINS
        s.cfg("POST", "responderaction", {"responderaction": {
            "name": "rsa2", "type": "respondwith", "target": '"HTTP/1.0 200 OK\\r\\n\\r\\nK2"'}})
        s.cfg("POST", "responderpolicy", {"responderpolicy": {
            "name": "rsp2", "action": "rsa2",
            "rule": 'HTTP.REQ.URL.CONTAINS(".well-known/acme-challenge/t2")'}})
        self.assertEqual(s.cfg("PUT", "lbvserver_responderpolicy_binding", {
            "lbvserver_responderpolicy_binding": {"name": "web80", "policyname": "rsp2",
                                                  "priority": 10}})[0], 201)
        self.assertEqual(get("t2"), (200, b"K2"))
        self.assertEqual(s.cfg("DELETE", "lbvserver_responderpolicy_binding/web80?args=policyname:rsp2,priority:10")[0], 200)
        for p in ("responderpolicy/rsp_acme", "responderpolicy/rsp2",
                  "responderaction/rsa_acme", "responderaction/rsa2"):
            self.assertEqual(s.cfg("DELETE", p)[0], 200, p)


def peer_cert_for(port, kind, server_name=None):
    """The leaf (DER) served to an openssl client offering only kind's
    ("rsa" or "ecdsa") signature algorithms, None when the handshake fails."""
    sigalgs = "ECDSA+SHA256:ECDSA+SHA384" if kind == "ecdsa" else "RSA-PSS+SHA256:RSA+SHA256"
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3",
           "-sigalgs", sigalgs] + (["-servername", server_name] if server_name else
                                    ["-noservername"])
    p = subprocess.run(cmd, input=b"", capture_output=True, timeout=20)
    out = p.stdout.decode(errors="replace")
    b, e = out.find("-----BEGIN CERTIFICATE-----"), out.find("-----END CERTIFICATE-----")
    if p.returncode != 0 or b < 0:
        return None
    return pem_to_der(out[b:e + len("-----END CERTIFICATE-----")] + "\n")


class CitrixSimDualTest(unittest.TestCase):
    """One RSA and one ECDSA server certificate per vserver, and per SNI
    domain; a second one of the same key type is refused (ref: the
    appliance picks between an RSA and an ECDSA certificate by the client's
    ciphers and signature algorithms)."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--vserver", "d1", "--vserver", "d2")
        cls.tmp = tempfile.mkdtemp(prefix="citrix-dual-")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    assertErr = CitrixSimTest.assertErr
    make_leaf = CitrixSimTest.make_leaf

    def test_rsa_and_ecdsa(self):
        s = self.sim
        ca = CA(self.tmp, "Dual CA")
        leaves = {}
        for n, ec, names in (("r1", False, ["www.example.com"]), ("r2", False, ["www.example.com"]),
                             ("e1", True, ["www.example.com"]), ("e2", True, ["www.example.com"])):
            pem = self.make_leaf(ca, n + ".key", n + ".csr", names, ec=ec)
            leaves[n] = pem_to_der(pem)
            s.upload(n + ".crt", pem)
            self.assertEqual(s.cfg("POST", "sslcertkey", {"sslcertkey": {
                "certkey": n, "cert": n + ".crt", "key": n + ".key"}})[0], 201)
        bind = lambda vs, ck, sni=False: s.cfg("PUT", "sslvserver_sslcertkey_binding", {
            "sslvserver_sslcertkey_binding": dict(
                {"vservername": vs, "certkeyname": ck}, **({"snicert": True} if sni else {}))})
        self.assertEqual(bind("d1", "r1")[0], 201)
        self.assertErr(bind("d1", "r2"), 599, 1548)
        self.assertEqual(bind("d1", "e1")[0], 201)
        self.assertErr(bind("d1", "e2"), 599, 1548)
        port = s.ready["vservers"]["d1"]
        self.assertEqual(peer_cert_for(port, "rsa"), leaves["r1"])
        self.assertEqual(peer_cert_for(port, "ecdsa"), leaves["e1"])

        self.assertEqual(s.cfg("PUT", "sslvserver", {"sslvserver": {
            "vservername": "d2", "snienable": "ENABLED"}})[0], 200)
        self.assertEqual(bind("d2", "r1", sni=True)[0], 201)
        self.assertErr(bind("d2", "r2", sni=True), 599, 1674)
        self.assertEqual(bind("d2", "e1", sni=True)[0], 201)
        self.assertErr(bind("d2", "e2", sni=True), 599, 1674)
        port = s.ready["vservers"]["d2"]
        self.assertEqual(peer_cert_for(port, "rsa", "www.example.com"), leaves["r1"])
        self.assertEqual(peer_cert_for(port, "ecdsa", "www.example.com"), leaves["e1"])
        self.assertIsNone(peer_cert_for(port, "ecdsa", "other.example.com"))


class CitrixSimModesTest(unittest.TestCase):
    """Default SSL profiles enabled and the RESPONDER feature off."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--default-profile", "--responder-off", "--vserver", "vs1",
                      "--http-vserver", "web80")
        cls.tmp = tempfile.mkdtemp(prefix="citrix-test-")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    assertErr = CitrixSimTest.assertErr
    make_leaf = CitrixSimTest.make_leaf

    def test_default_profile(self):
        s = self.sim
        st, js, _ = s.cfg("GET", "sslparameter")
        self.assertEqual(js["sslparameter"]["defaultprofile"], "ENABLED")
        st, js, _ = s.cfg("GET", "sslvserver/vs1")
        self.assertEqual(js["sslvserver"][0]["sslprofile"], "ns_default_ssl_profile_frontend")
        self.assertErr(s.cfg("PUT", "sslvserver", {"sslvserver": {
            "vservername": "vs1", "snienable": "ENABLED"}}), 599, 3740)
        ca = CA(self.tmp, "Profile CA")
        for n in ("a", "b"):
            s.upload(n + ".crt", self.make_leaf(ca, n + ".key", n + ".csr",
                                                [n + ".example.com"], ec=True))
            self.assertEqual(s.cfg("POST", "sslcertkey", {"sslcertkey": {
                "certkey": n, "cert": n + ".crt", "key": n + ".key"}})[0], 201)
        self.assertEqual(s.cfg("PUT", "sslvserver_sslcertkey_binding", {
            "sslvserver_sslcertkey_binding": {"vservername": "vs1", "certkeyname": "a"}})[0], 201)
        self.assertErr(s.cfg("PUT", "sslvserver_sslcertkey_binding", {
            "sslvserver_sslcertkey_binding": {"vservername": "vs1", "certkeyname": "b",
                                              "snicert": True}}), 599, 1545)
        self.assertErr(s.cfg("PUT", "sslprofile", {"sslprofile": {
            "name": "nosuch", "snienable": "ENABLED"}}), 404, 258)
        self.assertEqual(s.cfg("PUT", "sslprofile", {"sslprofile": {
            "name": "ns_default_ssl_profile_frontend", "snienable": "ENABLED"}})[0], 200)
        st, js, _ = s.cfg("GET", "sslvserver/vs1")
        self.assertEqual(js["sslvserver"][0]["snienable"], "ENABLED")
        self.assertEqual(s.cfg("PUT", "sslvserver_sslcertkey_binding", {
            "sslvserver_sslcertkey_binding": {"vservername": "vs1", "certkeyname": "b",
                                              "snicert": True}})[0], 201)
        port = s.ready["vservers"]["vs1"]
        self.assertIn(b"b.example.com", peer_cert(port, "b.example.com"))
        self.assertIn(b"a.example.com", peer_cert(port, "a.example.com"))

    def test_responder_off(self):
        s = self.sim
        st, js, _ = s.cfg("GET", "nsfeature")
        self.assertIs(js["nsfeature"]["responder"], False)
        self.assertNotIn("RESPONDER", js["nsfeature"]["feature"])
        s.cfg("POST", "responderaction", {"responderaction": {
            "name": "ra", "type": "respondwith", "target": '"HTTP/1.0 200 OK\\r\\n\\r\\nK"'}})
        s.cfg("POST", "responderpolicy", {"responderpolicy": {
            "name": "rp", "action": "ra", "rule": 'HTTP.REQ.URL.EQ("/t")'}})
        self.assertEqual(s.cfg("PUT", "responderglobal_responderpolicy_binding", {
            "responderglobal_responderpolicy_binding": {
                "policyname": "rp", "priority": 1, "type": "REQ_OVERRIDE"}})[0], 201)
        url = "http://127.0.0.1:%d/t" % s.ready["http_vservers"]["web80"]

        def get():
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code

        self.assertEqual(get(), 404)  # not evaluated
        self.assertErr(s.cfg("POST", "nsfeature?action=enable",
                             {"nsfeature": {"feature": ["NOSUCH"]}}), 599, 278)
        self.assertEqual(s.cfg("POST", "nsfeature?action=enable",
                               {"nsfeature": {"feature": ["RESPONDER"]}})[0], 200)
        self.assertEqual(get(), 200)
        st, js, _ = s.cfg("GET", "nsfeature")
        self.assertIs(js["nsfeature"]["responder"], True)


if __name__ == "__main__":
    unittest.main()
