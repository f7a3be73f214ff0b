#!/usr/bin/env python3
"""Checks the strict parts of sim/bigip.py against the documented iControl
REST behaviour (../shared/reference/f5-bigip.md): auth, wrong passphrase,
key/cert mismatch, missing defaultsFrom, Content-Range rules, transactions,
and the certificate the virtual server's TLS listener serves.

Run: python3 tests/sim/test_bigip_sim.py
"""

import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "sim", "bigip.py")
PW = "adm1n-pw-sim"
PASS = "Zk3-very-long-test-passphrase-0123456789"


def openssl(*args, env=None, input=None):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, env=env,
                          input=input).stdout


class Api:
    def __init__(self, url, ca):
        self.url = url
        self.ctx = ssl.create_default_context(cafile=ca)
        self.token = None

    def call(self, method, path, body=None, raw=None, headers=None, auth=True):
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if raw is not None:
            data = raw
            h.setdefault("Content-Type", "application/octet-stream")
        if auth and self.token:
            h["X-F5-Auth-Token"] = self.token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                txt = r.read()
                return r.status, json.loads(txt) if txt else None
        except urllib.error.HTTPError as ex:
            txt = ex.read()
            return ex.code, json.loads(txt) if txt else None

    def get_raw(self, path, headers=None):
        h = dict(headers or {}, **{"X-F5-Auth-Token": self.token})
        req = urllib.request.Request(self.url + path, method="GET", headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as ex:
            return ex.code, ex.read(), dict(ex.headers)

    def util(self, cmd, args):
        return self.call("POST", "/mgmt/tm/util/" + cmd, {"command": "run", "utilCmdArgs": args})

    def login(self, pw=PW):
        st, b = self.call("POST", "/mgmt/shared/authn/login",
                          {"username": "admin", "password": pw, "loginProviderName": "tmos"},
                          auth=False)
        if st == 200:
            self.token = b["token"]["token"]
        return st, b

    def upload(self, name, data, chunk=512 * 1024):
        st, b = None, None
        for off in range(0, len(data), chunk):
            part = data[off:off + chunk]
            st, b = self.call("POST", "/mgmt/shared/file-transfer/uploads/" + name, raw=part,
                              headers={"Content-Range": "%d-%d/%d" % (off, off + len(part) - 1,
                                                                      len(data))})
            if st != 200:
                return st, b
        return st, b


class BigipSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.simdir = os.path.join(d, "sim")
        cls.proc = subprocess.Popen(
            [sys.executable, SIM, "--dir", cls.simdir, "--pair", "--virtual", "vs1",
             "--virtual", "vs2", "--http-virtual", "vs80", "--user", "admin",
             "--password", PW])
        ready = os.path.join(cls.simdir, "ready.json")
        for _ in range(600):
            if os.path.exists(ready):
                break
            if cls.proc.poll() is not None:
                raise RuntimeError("simulator exited")
            time.sleep(0.05)
        with open(ready) as f:
            cls.ready = json.load(f)
        u = cls.ready["units"][0]
        cls.api = Api(u["url"], u["ca_file"])
        assert cls.api.login()[0] == 200
        # A throwaway CA for signing the box's CSRs.
        cls.ca_key = os.path.join(d, "ca.key")
        cls.ca_crt = os.path.join(d, "ca.crt")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cls.ca_key,
                "-out", cls.ca_crt, "-days", "30", "-subj", "/CN=Test CA")
        cls.d = d

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.tmp.cleanup()

    def sign(self, csr_pem, name):
        csr = os.path.join(self.d, name + ".csr")
        crt = os.path.join(self.d, name + ".crt")
        ext = os.path.join(self.d, name + ".ext")
        with open(csr, "w") as f:
            f.write(csr_pem)
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s.example.com\n" % name)
        openssl("x509", "-req", "-in", csr, "-CA", self.ca_crt, "-CAkey", self.ca_key,
                "-CAcreateserial", "-days", "10", "-out", crt, "-extfile", ext)
        with open(crt, "rb") as f:
            return f.read()

    def key_and_csr(self, name, ktype="rsa", san_field="subjectAlternativeName"):
        """Key + CSR on the box, the CSR read without the advanced shell:
        unix-mv to the bulk directory, GET it, unix-rm (F5's bigip_ssl_csr)."""
        body = {"name": name + ".key", "partition": "Common", "securityType": "password",
                "passphrase": PASS, "commonName": name + ".example.com",
                san_field: "DNS:%s.example.com" % name,
                "options": [{"gen-csr": name}]}
        if ktype == "rsa":
            body.update(keyType="rsa-private", keySize="2048")
        else:
            body.update(keyType="ec-private", curveName="secp384r1")
        st, b = self.api.call("POST", "/mgmt/tm/sys/crypto/key", body)
        self.assertEqual(st, 200, b)
        st, b = self.api.util("unix-mv", "/config/ssl/ssl.csr/%s /var/config/rest/bulk/%s"
                              % (name, name))
        self.assertEqual((st, b.get("commandResult")), (200, None), b)
        st, raw, hdr = self.api.get_raw("/mgmt/shared/file-transfer/bulk/" + name,
                                        {"Content-Range": "0-524287/0"})
        self.assertEqual(st, 200, raw)
        self.assertRegex(hdr["Content-Range"], r"^0-%d/%d$" % (len(raw) - 1, len(raw)))
        st, b = self.api.util("unix-rm", "/var/config/rest/bulk/" + name)
        self.assertEqual((st, b.get("commandResult")), (200, None), b)
        res = raw.decode()
        self.assertIn("DNS:%s.example.com" % name, openssl("req", "-noout", "-text", input=raw)
                      .decode())
        return res[res.index("-----BEGIN CERTIFICATE REQUEST-----"):]

    def install_cert(self, name, pem):
        st, b = self.api.upload(name + ".crt.up", pem)
        self.assertEqual(st, 200, b)
        self.assertEqual(b["remainingByteCount"], 0)
        st, b = self.api.call("POST", "/mgmt/tm/sys/file/ssl-cert", {
            "name": name + ".crt", "partition": "Common",
            "sourcePath": "file:///var/config/rest/downloads/%s.crt.up" % name})
        self.assertEqual(st, 200, b)
        return b

    # ---------------------------------------------------------------------
    def test_auth(self):
        a = Api(self.api.url, self.ready["units"][0]["ca_file"])
        st, b = a.login("wrong")
        self.assertEqual(st, 401)
        self.assertNotIn("wrong", json.dumps(b))
        st, b = a.call("GET", "/mgmt/tm/ltm/virtual")
        self.assertEqual(st, 401)
        a.token = "NOSUCHTOKEN"
        st, b = a.call("GET", "/mgmt/tm/ltm/virtual")
        self.assertEqual(st, 401)
        self.assertIn("X-F5-Auth-Token does not exist", b["message"])
        self.assertEqual(a.login()[0], 200)
        self.assertEqual(a.call("PATCH", "/mgmt/shared/authz/tokens/" + a.token,
                                {"timeout": 99999})[0], 406)
        self.assertEqual(a.call("PATCH", "/mgmt/shared/authz/tokens/" + a.token,
                                {"timeout": 3600})[0], 200)
        self.assertEqual(a.call("DELETE", "/mgmt/shared/authz/tokens/" + a.token)[0], 200)
        self.assertEqual(a.call("GET", "/mgmt/tm/ltm/virtual")[0], 401)

    def test_failover_and_unknown(self):
        st, b = self.api.call("GET", "/mgmt/tm/cm/failover-status")
        ent = next(iter(b["entries"].values()))["nestedStats"]["entries"]
        self.assertEqual(ent["status"]["description"], "ACTIVE")
        u1 = self.ready["units"][1]
        a = Api(u1["url"], u1["ca_file"])
        self.assertEqual(a.login()[0], 200)
        st, b = a.call("GET", "/mgmt/tm/cm/failover-status")
        ent = next(iter(b["entries"].values()))["nestedStats"]["entries"]
        self.assertEqual(ent["status"]["description"], "STANDBY")
        st, b = self.api.call("POST", "/mgmt/tm/ltm/rule", {"name": "r1", "bogus": 1})
        self.assertEqual(st, 400)
        self.assertIn("unexpected json pair", b["message"])
        st, b = self.api.call("GET", "/mgmt/tm/ltm/profile/client-ssl/~Common~nope")
        self.assertEqual(st, 404)
        self.assertIn("01020036:3", b["message"])
        st, b = self.api.call("GET", "/mgmt/tm/nosuch/thing")
        self.assertEqual(st, 404)
        self.assertIn("Public URI path not registered", b["message"])
        st, b = self.api.call("POST", "/mgmt/tm/cm", {
            "command": "run", "utilCmdArgs": "config-sync to-group nope"})
        self.assertEqual(st, 400)
        self.assertIn("01070734:3", b["message"])

    def test_content_range(self):
        data = os.urandom(3000)
        up = "/mgmt/shared/file-transfer/uploads/cr.bin"
        st, _ = self.api.call("POST", up, raw=data)
        self.assertEqual(st, 400, "missing Content-Range")
        st, _ = self.api.call("POST", up, raw=data[:10], headers={"Content-Range": "0-10/3000"})
        self.assertEqual(st, 400, "length mismatch (end is inclusive)")
        st, _ = self.api.call("POST", up, raw=data[:10],
                              headers={"Content-Range": "bytes 0-9/3000"})
        self.assertEqual(st, 400, "no 'bytes' prefix on BIG-IP")
        st, _ = self.api.call("POST", up, raw=data[:1000], headers={
            "Content-Range": "0-999/3000", "Content-Type": "application/json"})
        self.assertEqual(st, 400, "uploads are application/octet-stream")
        st, b = self.api.call("POST", up, raw=data[:1000], headers={"Content-Range": "0-999/3000"})
        self.assertEqual((st, b["remainingByteCount"]), (200, 2000))
        st, _ = self.api.call("POST", up, raw=data[2000:], headers={"Content-Range": "2000-2999/3000"})
        self.assertEqual(st, 400, "gap")
        st, _ = self.api.call("POST", up, raw=data[1000:2000],
                              headers={"Content-Range": "1000-1999/4000"})
        self.assertEqual(st, 400, "total changed")
        st, b = self.api.call("POST", up, raw=data[1000:], headers={"Content-Range": "1000-2999/3000"})
        self.assertEqual((st, b["remainingByteCount"]), (200, 0))
        big = os.urandom(CHUNK := 1024 * 1024 + 1)
        st, _ = self.api.call("POST", up, raw=big, headers={"Content-Range": "0-%d/%d" % (CHUNK - 1, CHUNK)})
        self.assertEqual(st, 400, "chunk > 1 MiB")
        st, _ = self.api.call("POST", "/mgmt/tm/util/unix-rm",
                              {"command": "run", "utilCmdArgs": "/etc/passwd"})
        self.assertEqual(st, 400)
        st, _ = self.api.call("POST", "/mgmt/tm/util/unix-rm",
                              {"command": "run", "utilCmdArgs": "/var/config/rest/downloads/cr.bin"})
        self.assertEqual(st, 200)

    def test_hardened_unit(self):
        """No advanced shell; the CSR and bulk files; ssl-cert properties;
        unsaved and sync state; a virtual left without a certificate."""
        st, b = self.api.util("bash", "-c 'tmsh list sys crypto csr /Common/x'")
        self.assertEqual(st, 401, b)
        self.assertIn("resource=/mgmt/tm/util/bash", b["message"])
        st, b = self.api.util("unix-mv", "/config/ssl/ssl.csr/nothing /var/config/rest/bulk/n")
        self.assertIn("No such file", b["commandResult"])
        st, b = self.api.util("unix-mv", "/config/ssl/ssl.csr/nothing /etc/passwd")
        self.assertIn("Permission denied", b["commandResult"])
        st, b = self.api.util("unix-rm", "/etc/passwd")
        self.assertEqual(st, 400, b)
        st, raw, _ = self.api.get_raw("/mgmt/shared/file-transfer/bulk/nothing")
        self.assertEqual(st, 404, raw)
        self.assertEqual(self.api.call("POST", "/mgmt/tm/sys/config", {"command": "save"})[0], 200)
        self.assertFalse(self.state()["unsaved"])
        # the tmsh spelling of the SAN is accepted too (unverified which one REST wants)
        csr = self.key_and_csr("gamma", san_field="subject-alternative-name")
        st0 = self.state()
        self.assertTrue(st0["unsaved"])
        self.assertEqual(st0["sync_status"], "Changes Pending")
        self.assertEqual(st0["bulk"], [[], []])
        pem = self.sign(csr, "gamma")
        b = self.install_cert("gamma", pem)
        self.assertRegex(b["cachePath"], r"^/config/filestore/files_d/Common_d/certificate_d/")
        # TMOS prints a serial as OpenSSL does: decimal below 2**63, else colon hex
        serial = int(openssl("x509", "-noout", "-serial", input=pem).split(b"=")[1], 16)
        if serial < 1 << 63:
            self.assertEqual(b["serialNumber"], str(serial))
        else:
            self.assertRegex(b["serialNumber"], r"^[0-9a-f]{2}(:[0-9a-f]{2})+$")
            self.assertEqual(int(b["serialNumber"].replace(":", ""), 16), serial)
        self.assertIsInstance(b["expirationDate"], int)
        self.assertGreater(b["expirationDate"], time.time() + 9 * 86400)
        self.assertEqual(b["subjectAlternativeName"], "DNS:gamma.example.com")
        self.assertRegex(b["fingerprint"], r"^SHA256/([0-9A-F]{2}:){31}[0-9A-F]{2}$")
        self.assertEqual((b["keyType"], b["certificateKeySize"], b["certificateKeyCurveName"]),
                         ("rsa-public", 2048, "none"))
        self.assertIn("CN=gamma.example.com", b["subject"])
        self.assertEqual((b["revision"], b["createdBy"]), (1, "admin"))
        self.assertNotIn("BEGIN CERTIFICATE", json.dumps(b))
        # a create followed by a delete nets to no change
        self.api.call("POST", "/mgmt/tm/sys/config", {"command": "save"})
        self.assertFalse(self.state()["unsaved"])
        st, _ = self.api.call("POST", "/mgmt/tm/ltm/data-group/internal",
                              {"name": "tmp_dg", "type": "string"})
        self.assertEqual(st, 200)
        self.assertTrue(self.state()["unsaved"])
        self.api.call("DELETE", "/mgmt/tm/ltm/data-group/internal/~Common~tmp_dg")
        self.assertFalse(self.state()["unsaved"])
        st, _ = self.api.call("POST", "/mgmt/tm/cm", {"command": "run",
                                                      "utilCmdArgs": "config-sync to-group dg-failover"})
        self.assertEqual(st, 200)
        time.sleep(0.5)
        self.assertEqual(self.state()["sync_status"], "In Sync")
        # serve gamma on vs2, then detach it: one gap
        ckc = [{"name": "g0", "cert": "/Common/gamma.crt", "key": "/Common/gamma.key",
                "passphrase": PASS}]
        st, b = self.api.call("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "p_gamma", "defaultsFrom": "/Common/clientssl", "certKeyChain": ckc})
        self.assertEqual(st, 200, b)
        st, b = self.api.call("POST", "/mgmt/tm/ltm/virtual/~Common~vs2/profiles",
                              {"name": "/Common/p_gamma", "context": "clientside"})
        self.assertEqual(st, 200, b)
        self.assertEqual(self.state()["gaps"], [])
        st, b = self.api.call("DELETE", "/mgmt/tm/ltm/virtual/~Common~vs2/profiles/~Common~p_gamma")
        self.assertEqual(st, 200, b)
        gaps = self.state()["gaps"]
        self.assertEqual([g["virtual"] for g in gaps], ["/Common/vs2"])
        self.api.call("DELETE", "/mgmt/tm/ltm/profile/client-ssl/~Common~p_gamma")

    def state(self):
        u = self.ready["units"][0]
        req = urllib.request.Request(u["url"] + "/_sim/state")
        with urllib.request.urlopen(req, context=self.api.ctx, timeout=10) as r:
            return json.loads(r.read())

    def test_key_profile_tls(self):
        csr = self.key_and_csr("alpha")
        self.assertIn("BEGIN CERTIFICATE REQUEST", csr)
        st, b = self.api.call("GET", "/mgmt/tm/sys/file/ssl-key/~Common~alpha.key")
        self.assertEqual((st, b["securityType"]), (200, "password"))
        self.assertNotIn(PASS, json.dumps(b))
        # duplicate key → 409
        st, b = self.api.call("POST", "/mgmt/tm/sys/crypto/key", {
            "name": "alpha.key", "keyType": "rsa-private", "keySize": "2048"})
        self.assertEqual(st, 409, b)
        self.install_cert("alpha", self.sign(csr, "alpha"))
        st, b = self.api.call("POST", "/mgmt/tm/sys/file/ssl-cert", {
            "name": "alpha.crt", "partition": "Common",
            "sourcePath": "file:///var/config/rest/downloads/alpha.crt.up"})
        self.assertEqual(st, 409, b)
        # A second key, its cert: used for the mismatch check.
        csr2 = self.key_and_csr("beta", "ec")
        self.install_cert("beta", self.sign(csr2, "beta"))
        ckc = {"name": "alpha_0", "cert": "/Common/alpha.crt", "key": "/Common/alpha.key",
               "passphrase": PASS}
        st, b = self.api.call("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "p_alpha", "defaultsFrom": "/Common/missing", "certKeyChain": [ckc]})
        self.assertEqual(st, 400, b)
        self.assertIn("was not found", b["message"])
        st, b = self.api.call("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "p_alpha", "defaultsFrom": "/Common/clientssl",
            "certKeyChain": [dict(ckc, passphrase="wrong-passphrase")]})
        self.assertEqual(st, 400, b)
        self.assertIn("bad password read", b["message"])
        st, b = self.api.call("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "p_alpha", "defaultsFrom": "/Common/clientssl",
            "certKeyChain": [dict(ckc, cert="/Common/beta.crt")]})
        self.assertEqual(st, 400, b)
        self.assertIn("do not match", b["message"])
        st, b = self.api.call("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "p_alpha", "defaultsFrom": "/Common/clientssl", "cert": "/Common/alpha.crt",
            "certKeyChain": [ckc]})
        self.assertEqual(st, 400, b)
        self.assertIn("01b4002a", b["message"])
        st, b = self.api.call("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "p_alpha", "defaultsFrom": "/Common/clientssl", "certKeyChain": [ckc],
            "serverName": "alpha.example.com", "sniDefault": True})
        self.assertEqual(st, 200, b)
        self.assertNotIn(PASS, json.dumps(b))
        # No client-ssl on vs1 yet: the handshake fails.
        port = self.ready["vservers"]["vs1"]
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            self.served(port, "alpha.example.com")
        st, b = self.api.call("POST", "/mgmt/tm/ltm/virtual/~Common~vs1/profiles",
                              {"name": "/Common/p_alpha", "context": "all"})
        self.assertEqual(st, 400, "client-ssl must be clientside")
        st, b = self.api.call("POST", "/mgmt/tm/ltm/virtual/~Common~vs1/profiles",
                              {"name": "/Common/p_alpha", "context": "clientside"})
        self.assertEqual(st, 200, b)
        st, b = self.api.call("GET", "/mgmt/tm/ltm/virtual/~Common~vs1?expandSubcollections=true")
        names = [p["fullPath"] for p in b["profilesReference"]["items"]]
        self.assertEqual(sorted(names), ["/Common/http", "/Common/p_alpha", "/Common/tcp"])
        self.assertIn("alpha.example.com", self.served(port, "alpha.example.com"))
        # A second profile without SNI default on the same virtual is refused.
        st, b = self.api.call("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "p_beta", "defaultsFrom": "/Common/clientssl", "serverName": "beta.example.com",
            "certKeyChain": [{"name": "b0", "cert": "/Common/beta.crt", "key": "/Common/beta.key",
                              "passphrase": PASS}]})
        self.assertEqual(st, 200, b)
        st, b = self.api.call("POST", "/mgmt/tm/ltm/virtual/~Common~vs1/profiles",
                              {"name": "/Common/p_beta", "context": "clientside"})
        self.assertEqual(st, 200, b)
        self.assertIn("beta.example.com", self.served(port, "beta.example.com"))
        self.assertIn("alpha.example.com", self.served(port, None))
        # In use: profile and key cannot be deleted.
        st, b = self.api.call("DELETE", "/mgmt/tm/ltm/profile/client-ssl/~Common~p_alpha")
        self.assertEqual(st, 400)
        st, b = self.api.call("DELETE", "/mgmt/tm/sys/file/ssl-key/~Common~alpha.key")
        self.assertEqual(st, 400)
        # A transaction is all or nothing: a bad second member leaves p_beta as it was.
        st, t = self.api.call("POST", "/mgmt/tm/transaction", {})
        tid = str(t["transId"])
        h = {"X-F5-REST-Coordination-Id": tid}
        st, _ = self.api.call("PATCH", "/mgmt/tm/ltm/profile/client-ssl/~Common~p_beta",
                              {"serverName": "other.example.com"}, headers=h)
        self.assertEqual(st, 200)
        st, _ = self.api.call("PATCH", "/mgmt/tm/ltm/profile/client-ssl/~Common~p_beta",
                              {"certKeyChain": [dict(ckc, name="x")]}, headers=h)
        self.assertEqual(st, 200)
        st, _ = self.api.call("PATCH", "/mgmt/tm/ltm/profile/client-ssl/~Common~p_beta",
                              {"certKeyChain": [dict(ckc, passphrase="nope-nope")]}, headers=h)
        # The commit must not carry the coordination header (reference §4.5).
        st, b = self.api.call("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"},
                              headers=h)
        self.assertEqual(st, 400, b)
        self.assertNotIn("transaction failed:", b["message"])
        st, b = self.api.call("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"})
        self.assertEqual(st, 400, b)
        self.assertIn("transaction failed:", b["message"])
        st, b = self.api.call("GET", "/mgmt/tm/ltm/profile/client-ssl/~Common~p_beta")
        self.assertEqual(b["serverName"], "beta.example.com")
        # The encrypted form a GET shows is taken back by any profile (the box
        # decrypts it with its master key, as when a rollback puts an entry
        # back); a made-up one is not.
        st, b = self.api.call("GET", "/mgmt/tm/ltm/profile/client-ssl/~Common~p_alpha")
        enc = b["certKeyChain"][0]["passphrase"]
        self.assertTrue(enc.startswith("$M$"), enc)
        st, b = self.api.call("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "p_gamma", "defaultsFrom": "/Common/clientssl",
            "certKeyChain": [dict(ckc, passphrase=enc)]})
        self.assertEqual(st, 200, b)
        st, b = self.api.call("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "p_delta", "defaultsFrom": "/Common/clientssl",
            "certKeyChain": [dict(ckc, passphrase="$M$bm90LWEtbWFzaw==")]})
        self.assertEqual(st, 400, b)
        self.assertIn("bad password read", b["message"])
        # Passphrase never in any file but the encrypted keys.
        for root, _, files in os.walk(self.simdir):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    self.assertNotIn(PASS.encode(), fh.read(), f)

    def test_token_cap(self):
        """100 active tokens per user, admin exempt (reference §1.3)."""
        d = os.path.join(self.d, "cap")
        proc = subprocess.Popen([sys.executable, SIM, "--dir", d, "--user", "certbot",
                                 "--password", PW])
        try:
            ready = os.path.join(d, "ready.json")
            for _ in range(600):
                if os.path.exists(ready):
                    break
                self.assertIsNone(proc.poll(), "simulator exited")
                time.sleep(0.05)
            with open(ready) as f:
                u = json.load(f)["units"][0]
            a = Api(u["url"], u["ca_file"])
            body = {"username": "certbot", "password": PW, "loginProviderName": "tmos"}
            toks = []
            for _ in range(100):
                st, b = a.call("POST", "/mgmt/shared/authn/login", body, auth=False)
                self.assertEqual(st, 200)
                toks.append(b["token"]["token"])
            st, b = a.call("POST", "/mgmt/shared/authn/login", body, auth=False)
            self.assertEqual(st, 400)
            self.assertIn("has reached maximum active login tokens", b["message"])
            self.assertEqual(b["kind"], ":resterrorresponse")
            a.token = toks[0]
            self.assertEqual(a.call("DELETE", "/mgmt/shared/authz/tokens/" + toks[0])[0], 200)
            self.assertEqual(a.call("POST", "/mgmt/shared/authn/login", body, auth=False)[0], 200)
        finally:
            proc.terminate()
            proc.wait(10)

    def served(self, port, sni):
        ctx = ssl.create_default_context(cafile=self.ca_crt)
        ctx.check_hostname = False
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=sni) as t:
                der = t.getpeercert(True)
        pem = ssl.DER_cert_to_PEM_cert(der)
        return subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"],
                              input=pem.encode(), capture_output=True, check=True).stdout.decode()


if __name__ == "__main__":
    unittest.main()
