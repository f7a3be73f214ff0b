#!/usr/bin/env python3
"""Checks sim/sectigo_scm.py against the documented SCM REST behaviour.

Run: python3 tests/sim/test_scm_sim.py
"""

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "sim", "sectigo_scm.py")
PENDING = 2


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_csr(d, name, cn, sans=None, key="ec"):
    keyf = os.path.join(d, name + ".key")
    csrf = os.path.join(d, name + ".csr")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec" \
        else ["-newkey", key]
    extra = ["-addext", "subjectAltName=" + ",".join("DNS:" + s for s in sans)] if sans else []
    openssl("req", "-new", *newkey, "-nodes", "-keyout", keyf, "-out", csrf,
            "-subj", "/CN=" + cn, *extra)
    with open(csrf) as f:
        return f.read()


class ScmSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.proc = subprocess.Popen(
            [sys.executable, SIM, "--dir", os.path.join(d, "sim"), "--customer-uri", "example",
             "--login", "api-user", "--password", "s3cret-pw", "--pending", str(PENDING),
             "--org-id", "1234", "--refuse-domain", "bad.example"])
        ready = os.path.join(d, "sim", "ready.json")
        for _ in range(300):
            if os.path.exists(ready):
                break
            if cls.proc.poll() is not None:
                raise RuntimeError("simulator exited")
            time.sleep(0.05)
        with open(ready) as f:
            cls.ready = json.load(f)
        unit = cls.ready["units"][0]
        cls.base = unit["url"]
        cls.origin = cls.base[:-len("/api")]
        cls.ctx = ssl.create_default_context(cafile=unit["ca_file"])
        cls.csr = make_csr(d, "www", "www.example.com", ["www.example.com", "shop.example.com"])
        cls.csr_bad = make_csr(d, "bad", "www.bad.example")

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        try:
            cls.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        cls.tmp.cleanup()

    def call(self, method, path, body=None, auth=True, password="s3cret-pw",
             raw=None, ctype="application/json;charset=utf-8"):
        url = (self.origin if path.startswith("/_sim") else self.base) + path
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", ctype)
        if auth:
            req.add_header("login", "api-user")
            req.add_header("password", password)
            req.add_header("customerUri", "example")
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def jcall(self, *a, **kw):
        st, body, _ = self.call(*a, **kw)
        return st, json.loads(body) if body else None

    def enroll(self, csr=None, **over):
        body = {"orgId": 1234, "csr": csr or self.csr, "certType": 224, "term": 365,
                "subjAltNames": "shop.example.com", "comments": "lbcert test"}
        body.update(over)
        return self.jcall("POST", "/ssl/v1/enroll", body)

    def test_auth_failures(self):
        st, body = self.jcall("GET", "/ssl/v1/types", password="wrong")
        self.assertEqual(st, 401)
        self.assertEqual(body, {"code": -16, "description": "Unknown user"})
        st, body = self.jcall("GET", "/ssl/v1/types", auth=False)
        self.assertEqual((st, body["code"]), (401, -16))
        st, body = self.jcall("POST", "/ssl/v1/enroll", {"orgId": 1234}, password="nope")
        self.assertEqual((st, body["code"]), (401, -16))

    def test_types(self):
        st, body = self.jcall("GET", "/ssl/v1/types")
        self.assertEqual(st, 200)
        t = {x["id"]: x for x in body}
        self.assertEqual(t[224]["name"], "InstantSSL Pro")
        self.assertIn(365, t[224]["terms"])

    def test_enroll_collect_pending_then_issued(self):
        st, body = self.enroll()
        self.assertEqual(st, 200, body)
        self.assertIsInstance(body["sslId"], int)
        self.assertIsInstance(body["renewId"], str)
        sid = body["sslId"]
        for _ in range(PENDING):
            st, err = self.jcall("GET", "/ssl/v1/collect/%d/x509CO" % sid)
            self.assertEqual((st, err), (400, {"code": -183,
                                               "description": "Certificate is not collectable."}))
        st, det = self.jcall("GET", "/ssl/v1/%d" % sid)
        self.assertEqual(st, 200)
        st, leaf, hdr = self.call("GET", "/ssl/v1/collect/%d/x509CO" % sid)
        self.assertEqual(st, 200)
        self.assertEqual(leaf.count(b"BEGIN CERTIFICATE"), 1)
        st, full, _ = self.call("GET", "/ssl/v1/collect/%d/x509" % sid)
        blocks = [b for b in full.decode().split("-----END CERTIFICATE-----") if "BEGIN" in b]
        self.assertEqual(len(blocks), 3)
        # x509 comes root first, leaf last (reference §2.4).
        self.assertIn(leaf.decode().strip().splitlines()[1], blocks[2])
        st, rev, _ = self.call("GET", "/ssl/v1/collect/%d/x509R" % sid)
        self.assertTrue(rev.decode().startswith(leaf.decode().strip()))
        st, io, _ = self.call("GET", "/ssl/v1/collect/%d/x509IO" % sid)
        self.assertEqual(io.count(b"BEGIN CERTIFICATE"), 2)
        st, p7, _ = self.call("GET", "/ssl/v1/collect/%d" % sid)  # default base64
        self.assertIn(b"BEGIN PKCS7", p7)
        st, body = self.jcall("GET", "/ssl/v1/collect/%d/bogus" % sid)
        self.assertEqual((st, body["code"]), (400, -126))
        st, det = self.jcall("GET", "/ssl/v1/%d" % sid)
        self.assertEqual(det["status"], "Issued")
        # The certificate carries the CSR's key and CN + SANs, signed by the sim CA.
        d = self.tmp.name
        with open(os.path.join(d, "leaf.pem"), "wb") as f:
            f.write(leaf)
        with open(os.path.join(d, "chain.pem"), "wb") as f:
            f.write(io)
        out = subprocess.run(["openssl", "verify", "-CAfile", self.ready["ca_root"],
                              "-untrusted", os.path.join(d, "chain.pem"),
                              os.path.join(d, "leaf.pem")], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        text = subprocess.run(["openssl", "x509", "-in", os.path.join(d, "leaf.pem"), "-noout",
                               "-text"], capture_output=True, text=True).stdout
        self.assertIn("DNS:www.example.com", text)
        self.assertIn("DNS:shop.example.com", text)
        st, state = self.jcall("GET", "/_sim/state", auth=False)
        self.assertGreaterEqual(state["enrolls"], 1)
        self.assertIn(1, state["issued_per_key"].values())

    def test_unknown_sslid(self):
        st, body = self.jcall("GET", "/ssl/v1/collect/999999/x509")
        self.assertEqual((st, body["code"]), (404, -124))

    def test_refused_domain(self):
        st, body = self.enroll(csr=self.csr_bad, subjAltNames="")
        self.assertEqual((st, body["code"]), (400, -107))
        self.assertIn("www.bad.example", body["description"])

    def test_enroll_validation(self):
        st, body = self.enroll(bogusField=1)
        self.assertEqual((st, body["code"]), (400, -1002))
        st, body = self.enroll(subjAltNames=["a.example.com"])  # must be a string
        self.assertEqual((st, body["code"]), (400, -1002))
        st, body = self.enroll(orgId=9)
        self.assertEqual((st, body["code"]), (400, -639))
        st, body = self.enroll(certType=1)
        self.assertEqual((st, body["code"]), (400, -39))
        st, body = self.enroll(term=42)
        self.assertEqual((st, body["code"]), (400, -36))
        st, body = self.enroll(csr="-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                               "-----END CERTIFICATE REQUEST-----\n")
        self.assertEqual((st, body["code"]), (400, -10))
        body = {"csr": self.csr, "certType": 224, "term": 365}
        st, body = self.jcall("POST", "/ssl/v1/enroll", body)
        self.assertEqual((st, body), (400, {"code": -7, "description": "orgId is required but missing"}))
        st, body = self.jcall("POST", "/ssl/v1/enroll", raw=b"")
        self.assertEqual((st, body["code"]), (400, -1002))
        # dcvEmail goes with dcvMode EMAIL; custom field values are <= 256.
        st, body = self.enroll(dcvMode="EMAIL")
        self.assertEqual((st, body["code"]), (400, -7))
        st, body = self.enroll(dcvMode="EMAIL", dcvEmail="admin@example.com")
        self.assertEqual(st, 200)
        st, body = self.enroll(customFields=[{"name": "x", "value": "v" * 257}])
        self.assertEqual(st, 400)
        st, body = self.enroll(customFields=[{"name": "x", "value": 5}])
        self.assertEqual((st, body["code"]), (400, -1002))

    def test_revoke(self):
        st, body = self.enroll()
        sid = body["sslId"]
        st, body = self.jcall("POST", "/ssl/v1/revoke/%d" % sid, {"reason": "superseded"})
        self.assertEqual((st, body["code"]), (400, -102))  # not issued yet
        for _ in range(PENDING + 1):
            self.call("GET", "/ssl/v1/collect/%d/x509CO" % sid)
        st, body = self.jcall("POST", "/ssl/v1/revoke/%d" % sid, {})
        self.assertEqual((st, body["code"]), (400, -7))
        st, body = self.jcall("POST", "/ssl/v1/revoke/%d" % sid, {"reason": "x", "reasonCode": 2})
        self.assertEqual((st, body["code"]), (400, -1002))
        st, body, _ = self.call("POST", "/ssl/v1/revoke/%d" % sid,
                                {"reasonCode": 4, "reason": "superseded"})
        self.assertEqual((st, body), (204, b""))
        st, body = self.jcall("POST", "/ssl/v1/revoke/%d" % sid, {"reason": "again"})
        self.assertEqual((st, body["code"]), (400, -159))
        st, body = self.jcall("GET", "/ssl/v1/collect/%d/x509" % sid)
        self.assertEqual((st, body["code"]), (400, -110))
        st, state = self.jcall("GET", "/_sim/state", auth=False)
        self.assertIn(sid, [r["sslId"] for r in state["revoked"]])

    def test_revoke_serial(self):
        st, body = self.enroll()
        sid = body["sslId"]
        for _ in range(PENDING + 1):
            self.call("GET", "/ssl/v1/collect/%d/x509CO" % sid)
        st, det = self.jcall("GET", "/ssl/v1/%d" % sid)
        st, body, _ = self.call("POST", "/ssl/v1/revoke/serial/" + det["serialNumber"],
                                {"reason": "cessation", "reasonCode": 5})
        self.assertEqual(st, 204)

    def test_fault_injection(self):
        st, _ = self.jcall("POST", "/_sim/fault", {"fail_next": {
            "path_contains": "/types", "status": 503, "count": 1}}, auth=False)
        self.assertEqual(st, 200)
        st, _ = self.jcall("GET", "/ssl/v1/types")
        self.assertEqual(st, 503)
        st, _ = self.jcall("GET", "/ssl/v1/types")
        self.assertEqual(st, 200)
        st, log = self.jcall("GET", "/_sim/requests", auth=False)
        self.assertTrue(any(r["path"] == "/api/ssl/v1/types" and r["status"] == 503 for r in log))


class CollectFormsTest(unittest.TestCase):
    """--collect-form / --pending-style serve each documented variant alone."""

    def start(self, d, *extra):
        proc = subprocess.Popen(
            [sys.executable, SIM, "--dir", d, "--password", "pw", "--pending", "1", *extra])
        self.addCleanup(lambda: (proc.send_signal(signal.SIGTERM), proc.wait(10)))
        ready = os.path.join(d, "ready.json")
        for _ in range(300):
            if os.path.exists(ready):
                break
            self.assertIsNone(proc.poll(), "simulator exited")
            time.sleep(0.05)
        with open(ready) as f:
            unit = json.load(f)["units"][0]
        ctx = ssl.create_default_context(cafile=unit["ca_file"])

        def call(method, path, body=None):
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(unit["url"] + path, data=data, method=method)
            if data is not None:
                req.add_header("Content-Type", "application/json")
            for k, v in (("login", "api-user"), ("password", "pw"), ("customerUri", "example")):
                req.add_header(k, v)
            try:
                with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()
        return call

    def test_forms(self):
        with tempfile.TemporaryDirectory() as d:
            csr = make_csr(d, "f", "www.example.com")
            for form, style in (("query", "error"), ("path", "empty"),
                                ("default-only", "error")):
                with self.subTest(form=form):
                    call = self.start(os.path.join(d, form), "--collect-form", form,
                                      "--pending-style", style)
                    st, body = call("POST", "/ssl/v1/enroll", {
                        "orgId": 1234, "csr": csr, "certType": 224, "term": 365})
                    self.assertEqual(st, 200)
                    sid = json.loads(body)["sslId"]
                    q, p = "/ssl/v1/collect/%d?format=x509" % sid, "/ssl/v1/collect/%d/x509" % sid
                    first = call("GET", p if form == "path" else q)
                    if style == "empty":
                        self.assertEqual(first, (200, b""))
                    else:
                        self.assertEqual(first[0], 400)
                        self.assertEqual(json.loads(first[1])["code"], -183)
                    st, body = call("GET", q)
                    if form == "path":
                        self.assertEqual(st, 404)
                        st, body = call("GET", p)
                    elif form == "query":
                        self.assertEqual(call("GET", p)[0], 404)
                    self.assertEqual(st, 200)
                    want = "PKCS7" if form == "default-only" else "CERTIFICATE"
                    self.assertIn(("-----BEGIN %s-----" % want).encode(), body)


class TenantTest(unittest.TestCase):
    """A tenant with custom fields, no DCV pre-validation, reasonCode bound
    as a string, a listing whose ids are "id"; and the drop faults."""

    call = ScmSimTest.call
    jcall = ScmSimTest.jcall

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.proc = subprocess.Popen(
            [sys.executable, SIM, "--dir", os.path.join(d, "sim"), "--customer-uri", "example",
             "--login", "api-user", "--password", "s3cret-pw", "--org-id", "1234",
             "--custom-field", "Cost Center:mandatory", "--custom-field", "Note",
             "--dcv-required", "--revoke-reason", "string", "--list-id", "id"])
        ready = os.path.join(d, "sim", "ready.json")
        for _ in range(300):
            if os.path.exists(ready):
                break
            if cls.proc.poll() is not None:
                raise RuntimeError("simulator exited")
            time.sleep(0.05)
        with open(ready) as f:
            cls.ready = json.load(f)
        unit = cls.ready["units"][0]
        cls.base = unit["url"]
        cls.origin = cls.base[:-len("/api")]
        cls.ctx = ssl.create_default_context(cafile=unit["ca_file"])
        cls.csr = make_csr(d, "t", "tenant.example.com")

    @classmethod
    def tearDownClass(cls):
        ScmSimTest.tearDownClass.__func__(cls)

    def enroll(self, **over):
        body = {"orgId": 1234, "csr": self.csr, "certType": 224, "term": 365,
                "comments": "lbcert t", "dcvMode": "CNAME",
                "customFields": [{"name": "Cost Center", "value": "42"}]}
        body.update(over)
        return self.jcall("POST", "/ssl/v1/enroll", body)

    def test_custom_fields(self):
        st, body = self.jcall("GET", "/ssl/v1/customFields")
        self.assertEqual(st, 200)
        self.assertEqual([(f["name"], f["mandatory"]) for f in body],
                         [("Cost Center", True), ("Note", False)])
        self.assertTrue(all(isinstance(f["id"], int) for f in body))
        st, body = self.enroll(customFields=[])
        self.assertEqual((st, body["code"]), (400, -62))
        self.assertIn("Cost Center", body["description"])
        st, body = self.enroll(customFields=[{"name": "Cost Center", "value": ""}])
        self.assertEqual((st, body["code"]), (400, -62))
        st, body = self.enroll(customFields=[{"name": "Cost Centre", "value": "1"},
                                             {"name": "Cost Center", "value": "1"}])
        self.assertEqual((st, body["code"]), (400, -1002))
        st, body = self.enroll(customFields=[{"name": "Cost Center", "value": 1}])
        self.assertEqual((st, body["code"]), (400, -1002))
        st, body = self.enroll(customFields=[{"name": "Cost Center", "value": "x" * 257}])
        self.assertEqual(st, 400)
        st, body = self.enroll()
        self.assertEqual(st, 200, body)

    def test_dcv_mode(self):
        body = {"orgId": 1234, "csr": self.csr, "certType": 224, "term": 365,
                "customFields": [{"name": "Cost Center", "value": "42"}]}
        st, err = self.jcall("POST", "/ssl/v1/enroll", body)
        self.assertEqual((st, err), (400, {"code": -7,
                                           "description": "dcvMode is required but missing"}))
        st, err = self.enroll(dcvMode="EMAIL")
        self.assertEqual((st, err["code"]), (400, -7))
        st, err = self.enroll(dcvMode="DNS")
        self.assertEqual((st, err["code"]), (400, -1002))
        st, ok = self.enroll(dcvMode="EMAIL", dcvEmail="admin@example.com")
        self.assertEqual(st, 200, ok)

    def test_term(self):
        st, err = self.enroll(term=397)
        self.assertEqual((st, err["code"]), (400, -36))

    def test_listing_and_revoke(self):
        ids = [self.enroll(comments="lbcert list %d" % i)[1]["sslId"] for i in range(3)]
        st, page, hdr = self.call("GET", "/ssl/v1?commonName=tenant.example.com&size=2"
                                  "&position=0")
        self.assertEqual(st, 200)
        page = json.loads(page)
        total = int(hdr["X-Total-Count"])
        self.assertGreaterEqual(total, 3)
        self.assertEqual(len(page), 2)
        self.assertTrue(all("id" in e and "sslId" not in e for e in page))
        st, rest, _ = self.call("GET", "/ssl/v1?commonName=tenant.example.com&size=200"
                                "&position=2")
        self.assertEqual(len(json.loads(rest)), total - 2)
        st, none, hdr = self.call("GET", "/ssl/v1?commonName=nothing.example.com")
        self.assertEqual((st, json.loads(none), hdr["X-Total-Count"]), (200, [], "0"))
        st, err = self.jcall("GET", "/ssl/v1?size=500")
        self.assertEqual(st, 400)
        st, det = self.jcall("GET", "/ssl/v1/%d" % ids[1])
        self.assertEqual(det["comments"], "lbcert list 1")
        # reasonCode bound as a string here: the integer cannot be parsed
        st, err = self.jcall("POST", "/ssl/v1/revoke/%d" % ids[0],
                             {"reasonCode": 4, "reason": "x"})
        self.assertEqual((st, err["code"]), (400, -1002))
        st, err = self.jcall("POST", "/ssl/v1/revoke/%d" % ids[0],
                             {"reasonCode": "2", "reason": "x"})
        self.assertEqual((st, err["code"]), (400, -1002))
        st, _ = self.jcall("POST", "/ssl/v1/revoke/%d" % ids[0],
                           {"reasonCode": "4", "reason": "x"})
        self.assertEqual(st, 204)

    def test_drop_faults(self):
        before = self.jcall("GET", "/_sim/state")[1]["enrolls"]
        self.jcall("POST", "/_sim/fault", {"fail_next": {"path_contains": "/enroll",
                                                         "drop": "after"}})
        with self.assertRaises((urllib.error.URLError, ConnectionError, OSError)):
            self.enroll()
        self.assertEqual(self.jcall("GET", "/_sim/state")[1]["enrolls"], before + 1)
        self.jcall("POST", "/_sim/fault", {"fail_next": {"path_contains": "/enroll",
                                                         "drop": "before"}})
        with self.assertRaises((urllib.error.URLError, ConnectionError, OSError)):
            self.enroll()
        self.assertEqual(self.jcall("GET", "/_sim/state")[1]["enrolls"], before + 1)
        reqs = [r for r in self.jcall("GET", "/_sim/requests")[1] if r.get("dropped")]
        self.assertEqual(len(reqs), 2)
        self.assertIn("resource", reqs[0])
        self.assertNotIn("resource", reqs[1])


if __name__ == "__main__":
    unittest.main()
