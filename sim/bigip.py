#!/usr/bin/env python3
"""F5 BIG-IP iControl REST simulator (TMOS 14+ naming), for lbcert tests.

Python 3 standard library plus the `openssl` command. Strict where the real
box is strict (see ../shared/reference/f5-bigip.md): token auth, mcpd error
envelopes, unknown properties, duplicates (409), missing objects (404),
key/cert mismatch, wrong key passphrase, Content-Range upload rules,
all-or-nothing transactions, SNI-default rules.

  python3 sim/bigip.py --dir DIR [--pair] [--virtual NAME]... \
      [--http-virtual NAME]... [--http-port NAME=PORT]... \
      [--user admin --password PW] [--allow-bash] \
      [--partition Common] [--device-group dg-failover]

/mgmt/tm/util/bash is refused (401 "Authorization failed ... resource=
/mgmt/tm/util/bash") as on a hardened unit (no advanced shell for the
account, Appliance Mode, systemauth.disablebash) unless --allow-bash.

/_sim/state reports "unsaved" (the running configuration differs from the
one at the last `sys config save`), "sync_status" ("Changes Pending" after
a change on the active unit until config-sync), "bulk" (files in
/var/config/rest/bulk per unit) and "gaps": one record each time a change
left a virtual that served a certificate through a client-ssl profile with
none.

With --pair there are two units (0 active, 1 standby) sharing one
configuration, as config-sync would keep it; every write sent to the
standby is recorded in /_sim/state "standby_writes".

Secrets: passphrases are kept in memory only (the TLS listeners need them
to load the encrypted keys); nothing written under DIR holds one, except
that the keys themselves are stored encrypted with them.
"""

import argparse
import base64
import copy
import hashlib
import http.server
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simlib import Pace  # noqa: E402

UPLOAD_DIR = "/var/config/rest/downloads"
BULK_DIR = "/var/config/rest/bulk"
CSR_DIR = "/config/ssl/ssl.csr"
# Where util/unix-mv may put a file (SIM CHOICE: the REST worker's own
# directories and the temporary ones; a real unit refuses other targets
# for a non-root REST user (unverified which)).
MV_TARGETS = (UPLOAD_DIR, BULK_DIR, "/var/tmp", "/shared/tmp")
CHUNK_MAX = 1024 * 1024
TOKEN_MAX_TIMEOUT = 36000
# Active tokens per user; "admin" is exempt (reference §1.3).
TOKENS_PER_USER = 100

# Allowed JSON properties per collection (besides the common ones).
COMMON_PROPS = {"name", "partition", "fullPath", "kind", "generation",
                "selfLink", "description", "subPath", "appService"}
PROPS = {
    "cert": {"sourcePath", "command", "from-local-file", "fromLocalFile",
             "checksum", "isBundle"},
    "key": {"sourcePath", "passphrase", "securityType", "keyType", "keySize",
            "curveName", "command", "from-local-file", "fromLocalFile",
            "commonName", "organization", "ou", "city", "state", "country",
            "emailAddress", "subjectAlternativeName",
            "subject-alternative-name", "options", "checksum"},
    "csr": {"key", "commonName", "organization", "ou", "city", "state",
            "country", "emailAddress", "subjectAlternativeName",
            "subject-alternative-name", "challengePassword", "passphrase"},
    "clientssl": {"defaultsFrom", "certKeyChain", "serverName", "sniDefault",
                  "sniRequire", "cert", "key", "chain", "passphrase",
                  "ciphers", "options", "inheritCertkeychain"},
    "http": {"defaultsFrom"},
    "tcp": {"defaultsFrom"},
    "virtual": {"destination", "mask", "ipProtocol", "profiles", "rules",
                "source", "pool", "sourceAddressTranslation", "enabled",
                "disabled"},
    "rule": {"apiAnonymous"},
    "datagroup": {"type", "records"},
}
CKC_PROPS = {"name", "cert", "key", "chain", "passphrase", "appService",
             "certReference", "keyReference", "chainReference", "usage"}

COLLECTIONS = [
    ("sys/file/ssl-cert", "cert", "tm:sys:file:ssl-cert:ssl-certstate", "Certificate File"),
    ("sys/crypto/cert", "cert", "tm:sys:crypto:cert:certstate", "Certificate"),
    ("sys/file/ssl-key", "key", "tm:sys:file:ssl-key:ssl-keystate", "Key File"),
    ("sys/crypto/key", "key", "tm:sys:crypto:key:keystate", "Key"),
    ("sys/crypto/csr", "csr", "tm:sys:crypto:csr:csrstate", "CSR"),
    ("ltm/profile/client-ssl", "clientssl", "tm:ltm:profile:client-ssl:client-sslstate", "ClientSSL Profile"),
    ("ltm/profile/http", "http", "tm:ltm:profile:http:httpstate", "HTTP Profile"),
    ("ltm/profile/tcp", "tcp", "tm:ltm:profile:tcp:tcpstate", "TCP Profile"),
    ("ltm/virtual", "virtual", "tm:ltm:virtual:virtualstate", "Virtual Server"),
    ("ltm/rule", "rule", "tm:ltm:rule:rulestate", "Rule"),
    ("ltm/data-group/internal", "datagroup", "tm:ltm:data-group:internal:internalstate", "Data Group"),
]


class ApiError(Exception):
    def __init__(self, code, message, api=3, framework=False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.api = api
        self.framework = framework

    def body(self):
        if self.framework:
            return {"code": self.code, "message": self.message,
                    "referer": "127.0.0.1", "restOperationId": secrets.randbelow(10**8),
                    "kind": ":resterrorresponse"}
        return {"code": self.code, "message": self.message, "errorStack": [],
                "apiError": self.api}



def tmos_serial(hexserial):
    """serialNumber as TMOS prints it (OpenSSL's rule, as in a published
    TMOS 14.1 answer): decimal when it fits in a signed 64-bit integer,
    else lower-case hex bytes joined by colons."""
    if not hexserial:
        return ""
    n = int(hexserial, 16)
    if n < 1 << 63:
        return str(n)
    h = "%x" % n
    h = "0" * (len(h) % 2) + h
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))

def masked(secret):
    """The encrypted form a GET shows for a stored passphrase ("$M$...").
    Sent back unchanged (a client that PATCHes a whole certKeyChain it has
    read) it stands for the stored one, as in a saved configuration."""
    return "$M$" + base64.b64encode(hashlib.sha256(b"sim-master-key" + secret.encode())
                                    .digest()[:12]).decode()


def not_found(what, fp):
    return ApiError(404, "01020036:3: The requested %s (%s) was not found." % (what, fp))


class OsslError(Exception):
    pass


def openssl(args, secret=None, input=None):
    env = dict(os.environ)
    if secret is not None:
        env["LBSIM_PASS"] = secret
    p = subprocess.run(["openssl"] + [str(a) for a in args], input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if p.returncode != 0:
        raise OsslError(p.stderr.decode(errors="replace").strip())
    return p.stdout


def passin(secret):
    return ["-passin", "env:LBSIM_PASS" if secret is not None else "pass:"]


def fingerprint(path):
    with open(path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def write_atomic(path, text):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


PEM_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\s*", re.S)


def to_fullpath(name, partition, default_part):
    if name.startswith("/"):
        return name
    return "/%s/%s" % (partition or default_part, name)


def url_name(seg, default_part):
    seg = urllib.parse.unquote(seg)
    if seg.startswith("~"):
        return seg.replace("~", "/")
    return "/%s/%s" % (default_part, seg)


def split_fp(fp):
    parts = fp.split("/")
    return parts[1], "/".join(parts[2:])


class Sim:
    def __init__(self, args):
        self.args = args
        self.dir = os.path.abspath(args.dir)
        self.lock = threading.RLock()
        self.nunits = 2 if args.pair else 1
        self.partitions = {"Common", args.partition}
        self.tokens = {}
        self.transactions = {}
        self.next_trans = int(time.time() * 1000) % 10**9
        self.requests = []
        self.standby_writes = []
        self.faults = []
        self.saves = 0
        self.sync = {"status": "In Sync" if args.pair else "Standalone", "until": 0}
        self.uploads = [{} for _ in range(self.nunits)]
        self.filectr = 0
        self.match_cache = {}
        self.seen_pass = set()
        self.seen_tokens = set()
        self.sync_seconds = 0.3
        self.sync_runs = []
        for sub in ("run",):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        for u in range(self.nunits):
            os.makedirs(self.upload_dir(u), exist_ok=True)
        self.state = {k: {} for k in ("cert", "key", "csr", "clientssl", "http",
                                      "tcp", "virtual", "rule", "datagroup")}
        self.gaps = []
        for u in range(self.nunits):
            os.makedirs(self.bulk_dir(u), exist_ok=True)
        self.ship_defaults()
        # what `sys config save` last wrote, and what the peer last received
        self.saved_view = self.config_view()
        self.synced_view = self.saved_view

    # ---- saved / synced / serving --------------------------------------
    def config_view(self, state=None):
        """The configuration as a comparable text: every object's visible
        properties (file contents by checksum), nothing volatile."""
        st = self.state if state is None else state
        out = {}
        for typ, store in st.items():
            out[typ] = {}
            for fp, o in store.items():
                d = {k: v for k, v in o.items()
                     if not k.startswith("_") and k not in ("createTime", "lastUpdateTime",
                                                             "cachePath")}
                if typ == "clientssl":
                    d["certKeyChain"] = [dict({k: v for k, v in e.items() if not k.startswith("_")},
                                              passphrase=bool(e.get("_passphrase")))
                                         for e in o.get("certKeyChain", [])]
                out[typ][fp] = d
        return json.dumps(out, sort_keys=True)

    def unsaved(self):
        return self.config_view() != self.saved_view

    def sync_state(self):
        if not self.args.pair:
            return "Standalone"
        if self.sync["status"] == "Syncing" and time.time() < self.sync["until"]:
            return "Syncing"
        return "In Sync" if self.config_view() == self.synced_view else "Changes Pending"

    def serving(self, state):
        """Virtuals that present a certificate: an attached client-ssl
        profile with a cert-key-chain entry whose cert and key exist."""
        out = set()
        for vfp, v in state["virtual"].items():
            for p in v["profiles"]:
                prof = state["clientssl"].get(p["fullPath"])
                if prof is None:
                    continue
                if any(e.get("cert") in state["cert"] and e.get("key") in state["key"]
                       for e in prof.get("certKeyChain", [])):
                    out.add(vfp)
        return out

    def note_gaps(self, before, method, path):
        lost = self.serving(before) - self.serving(self.state)
        for vfp in sorted(lost):
            self.gaps.append({"virtual": vfp, "method": method, "path": path,
                              "time": time.time()})

    # ---- files -----------------------------------------------------------
    def upload_dir(self, unit):
        return os.path.join(self.dir, "unit%d" % unit, "downloads")

    def bulk_dir(self, unit):
        return os.path.join(self.dir, "unit%d" % unit, "bulk")

    def unit_path(self, unit, box):
        """A REST-worker directory path on the box → host path; None when
        it is not in one of those directories."""
        d = os.path.dirname(box)
        if d == UPLOAD_DIR:
            return os.path.join(self.upload_dir(unit), os.path.basename(box))
        if d == BULK_DIR:
            return os.path.join(self.bulk_dir(unit), os.path.basename(box))
        return None

    def local_path(self, unit, source):
        """file:///var/config/rest/downloads/x or file:/var/... → host path."""
        s = source
        if s.startswith("file://"):
            s = s[len("file://"):]
        elif s.startswith("file:"):
            s = s[len("file:"):]
        s = os.path.normpath(s)
        if os.path.dirname(s) != UPLOAD_DIR:
            raise ApiError(400, "01070712:3: Values (%s) specified for file source: "
                           "the file was not found." % source)
        p = os.path.join(self.upload_dir(unit), os.path.basename(s))
        if not os.path.isfile(p) or not self.uploads[unit].get(os.path.basename(s), {}).get("done", True):
            raise ApiError(400, "01070712:3: File (%s) was not found." % s)
        return p

    def store_file(self, kind, fp, data):
        """Keeps the file where TMOS would (the filestore); returns the box
        path (cachePath). host_path() maps it under DIR."""
        self.filectr += 1
        sub = {"key": "certificate_key_d", "cert": "certificate_d",
               "csr": "certificate_request_d"}[kind]
        part, _ = split_fp(fp)
        box = "/config/filestore/files_d/%s_d/%s/%s_%d_1" % (part, sub, fp.replace("/", ":"),
                                                              self.filectr)
        path = self.host_path(box)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)
        return path

    def host_path(self, box):
        return os.path.join(self.dir, box.lstrip("/"))

    # ---- shipped objects ---------------------------------------------------
    def ship_defaults(self):
        keyf = os.path.join(self.dir, "run", "default.key")
        crtf = os.path.join(self.dir, "run", "default.crt")
        openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyf,
                 "-out", crtf, "-days", "3650", "-subj", "/CN=localhost.localdomain"])
        with open(keyf, "rb") as f:
            self.add_key("/Common/default.key", f.read(), None, "normal")
        with open(crtf, "rb") as f:
            self.add_cert("/Common/default.crt", f.read())
        self.state["clientssl"]["/Common/clientssl"] = {
            "name": "clientssl", "partition": "Common", "fullPath": "/Common/clientssl",
            "defaultsFrom": "none", "serverName": "none", "sniDefault": "false",
            "sniRequire": "false", "certKeyChain": [
                {"name": "default", "cert": "/Common/default.crt",
                 "key": "/Common/default.key", "chain": "none"}]}
        for kind, name in (("http", "http"), ("tcp", "tcp")):
            self.state[kind]["/Common/" + name] = {
                "name": name, "partition": "Common", "fullPath": "/Common/" + name,
                "defaultsFrom": "none"}
        port = 443
        for vs in self.args.virtual:
            self.add_virtual(vs, port, [("/Common/http", "all"), ("/Common/tcp", "all")])
            port += 1
        port = 80
        for vs in self.args.http_virtual:
            self.add_virtual(vs, port, [("/Common/http", "all"), ("/Common/tcp", "all")])
            port += 1000

    def add_virtual(self, name, port, profiles):
        fp = to_fullpath(name, None, self.args.partition)
        part, short = split_fp(fp)
        self.state["virtual"][fp] = {
            "name": short, "partition": part, "fullPath": fp,
            "destination": "/%s/10.0.0.%d:%d" % (part, len(self.state["virtual"]) + 10, port),
            "mask": "255.255.255.255", "ipProtocol": "tcp",
            "sourceAddressTranslation": {"type": "automap"},
            "profiles": [{"name": split_fp(p)[1], "partition": split_fp(p)[0],
                          "fullPath": p, "context": c} for p, c in profiles],
        }

    # ---- crypto objects ----------------------------------------------------
    def key_info(self, path, secret):
        try:
            text = openssl(["pkey", "-in", path, "-noout", "-text"] + passin(secret),
                           secret=secret).decode()
            pub = openssl(["pkey", "-in", path, "-pubout"] + passin(secret),
                          secret=secret).decode()
        except OsslError as ex:
            raise ApiError(400, "01070313:3: Error reading key PEM file %s: %s"
                           % (path, "bad password read" if "bad decrypt" in str(ex)
                              or "password" in str(ex).lower() else str(ex)[:200]))
        m = re.search(r"\((\d+) bit", text)
        size = m.group(1) if m else "0"
        c = re.search(r"ASN1 OID: (\S+)", text)
        ktype = "ec-private" if c else "rsa-private"
        return ktype, size, (c.group(1) if c else "none"), pub

    def add_key(self, fp, data, secret, security):
        path = self.store_file("key", fp, data)
        ktype, size, curve, pub = self.key_info(path, secret)
        encrypted = b"ENCRYPTED" in data
        part, short = split_fp(fp)
        self.state["key"][fp] = {
            "name": short, "partition": part, "fullPath": fp, "keyType": ktype,
            "keySize": size, "curveName": curve,
            "securityType": "password" if encrypted else "normal",
            "_file": path, "_pub": pub,
            "checksum": "SHA1:%d:%s" % (len(data), hashlib.sha1(data).hexdigest()),
        }
        return self.state["key"][fp]

    def cert_fields(self, path):
        data = open(path, "rb").read()
        blocks = PEM_CERT_RE.findall(data.decode(errors="replace"))
        if not blocks:
            raise ApiError(400, "01070712:3: Certificate/Key has unknown format or security type.")
        first = os.path.join(self.dir, "run", "first-%d.pem" % threading.get_ident())
        with open(first, "w") as f:
            f.write(blocks[0])
        try:
            text = openssl(["x509", "-in", first, "-noout", "-text", "-nameopt", "RFC2253"]).decode()
            meta = openssl(["x509", "-in", first, "-noout", "-serial", "-enddate",
                            "-startdate", "-subject", "-issuer", "-nameopt", "RFC2253",
                            "-pubkey"]).decode()
        except OsslError:
            raise ApiError(400, "01070712:3: Certificate/Key has unknown format or security type.")
        fp = fingerprint(first)
        os.unlink(first)
        f = {}
        for line in meta.splitlines():
            if "=" in line and not line.startswith("-"):
                k, v = line.split("=", 1)
                f[k.strip()] = v.strip()
        pub = meta[meta.index("-----BEGIN PUBLIC KEY"):]
        not_after = f.get("notAfter", "")
        exp = int(ssl.cert_time_to_seconds(not_after)) if not_after else 0
        nb = int(ssl.cert_time_to_seconds(f["notBefore"])) if "notBefore" in f else 0
        m = re.search(r"X509v3 Subject Alternative Name:.*?\n\s*(.*?)\n", text)
        san = m.group(1).strip() if m else None
        size = re.search(r"Public-Key: \((\d+) bit", text)
        curve = re.search(r"ASN1 OID: (\S+)", text)
        out = {
            "expirationDate": exp, "expirationString": not_after,
            "_notBefore": nb,
            "subject": f.get("subject", ""), "issuer": f.get("issuer", ""),
            "serialNumber": tmos_serial(f.get("serial", "")),
            "keyType": "ec-public" if curve else "rsa-public",
            "certificateKeySize": int(size.group(1)) if size else 0,
            "certificateKeyCurveName": curve.group(1) if curve else "none",
            "fingerprint": "SHA256/" + fp,
            "checksum": "SHA1:%d:%s" % (len(data), hashlib.sha1(data).hexdigest()),
            "isBundle": "true" if len(blocks) > 1 else "false",
            "size": len(data), "_pub": pub,
        }
        if san:
            out["subjectAlternativeName"] = san
        return out

    def add_cert(self, fp, data, source=None):
        path = self.store_file("cert", fp, data)
        fields = self.cert_fields(path)
        part, short = split_fp(fp)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        old = self.state["cert"].get(fp)
        # reference §2.1: an uploaded certificate lives in the filestore
        # (cachePath); the object describes it by its own properties
        obj = {"name": short, "partition": part, "fullPath": fp,
               "cachePath": "/" + os.path.relpath(path, self.dir), "_file": path,
               "createTime": old["createTime"] if old else now, "lastUpdateTime": now,
               "createdBy": self.args.user, "updatedBy": self.args.user,
               "revision": old["revision"] + 1 if old else 1}
        if source:
            obj["sourcePath"] = source
        obj.update(fields)
        self.state["cert"][fp] = obj
        return obj

    def key_decrypts(self, key, secret):
        if key["securityType"] != "password":
            return True
        ck = (key["_file"], hashlib.sha256((secret or "").encode()).hexdigest())
        if ck not in self.match_cache:
            try:
                openssl(["pkey", "-in", key["_file"], "-noout"] + passin(secret), secret=secret)
                self.match_cache[ck] = True
            except OsslError:
                self.match_cache[ck] = False
        return self.match_cache[ck]

    # ---- validation (run after every change; a failure rolls back) ---------
    def validate(self):
        st = self.state
        for fp, p in st["clientssl"].items():
            seen_types = set()
            for e in p.get("certKeyChain", []):
                cert = st["cert"].get(e.get("cert"))
                key = st["key"].get(e.get("key"))
                if key is None:
                    raise ApiError(400, "01070277:3: The requested key (%s) was not found." % e.get("key"))
                if cert is None:
                    raise ApiError(400, "01070276:3: The requested certificate (%s) was not found." % e.get("cert"))
                ch = e.get("chain", "none")
                if ch not in ("none", "", None) and ch not in st["cert"]:
                    raise ApiError(400, "01070279:3: The requested chain certificate (%s) was not found." % ch)
                if not self.key_decrypts(key, e.get("_passphrase")):
                    raise ApiError(400, "01070313:3: Error reading key PEM file %s for profile %s: "
                                   "error:0906A068:PEM routines:PEM_do_header:bad password read"
                                   % (key["_file"].replace(self.dir, ""), fp))
                if key["_pub"] != cert["_pub"]:
                    raise ApiError(400, "01070317:3: profile %s's key and certificate do not match" % fp)
                if key["keyType"] in seen_types:
                    raise ApiError(400, "01071800:3: Client SSL profile (%s): only one cert-key-chain "
                                   "per key type is allowed." % fp)
                seen_types.add(key["keyType"])
        for fp, v in st["virtual"].items():
            cs = [st["clientssl"][p["fullPath"]] for p in v["profiles"]
                  if p["fullPath"] in st["clientssl"]]
            if len(cs) > 1:
                nd = sum(1 for p in cs if p.get("sniDefault") == "true")
                if nd == 0:
                    raise ApiError(400, "01070097:3: Virtual server %s has more than one clientssl "
                                   "profile but none of them is the SNI default." % fp)
                if nd > 1:
                    raise ApiError(400, "01070097:3: Virtual server %s has more than one clientssl "
                                   "profile set as the SNI default." % fp)
                names = [p.get("serverName") for p in cs if p.get("serverName") not in (None, "none")]
                if len(names) != len(set(names)):
                    raise ApiError(400, "01070097:3: Virtual server %s has clientssl profiles with "
                                   "the same server name." % fp)
            if v.get("rules"):
                has_http = any(p["fullPath"] in st["http"] for p in v["profiles"])
                for r in v["rules"]:
                    rule = st["rule"].get(r)
                    if rule is None:
                        raise not_found("rule", r)
                    if "HTTP_REQUEST" in rule.get("apiAnonymous", "") and not has_http:
                        raise ApiError(400, "01071912:3: HTTP_REQUEST event in rule (%s) requires an "
                                       "associated HTTP or FASTHTTP profile on the virtual-server (%s)."
                                       % (r, fp))

    # ---- rendering ----------------------------------------------------------
    def render(self, coll, kindname, obj, expand=False):
        out = {"kind": kindname}
        for k, v in obj.items():
            if k.startswith("_"):
                continue
            out[k] = copy.deepcopy(v)
        fp = obj["fullPath"]
        out["selfLink"] = "https://localhost/mgmt/tm/%s/%s?ver=15.1.0" % (coll, fp.replace("/", "~"))
        if coll.startswith("sys/crypto"):
            out["name"] = fp
        if kindname.startswith("tm:sys:crypto:cert"):
            m = re.search(r"CN=([^,]+)", obj.get("subject", ""))
            out["commonName"] = m.group(1) if m else ""
            out["apiRawValues"] = {"certificateKeySize": str(obj.get("certificateKeySize")),
                                   "expiration": obj.get("expirationString"),
                                   "issuer": obj.get("issuer"),
                                   "publicKeyType": "EC" if obj.get("keyType") == "ec-public" else "RSA"}
        if "key" == self.coll_type(coll):
            if obj.get("securityType") == "password":
                out["passphrase"] = "$M$" + base64.b64encode(hashlib.sha256(fp.encode()).digest()[:12]).decode()
        if self.coll_type(coll) == "clientssl":
            ckc = []
            for e in obj.get("certKeyChain", []):
                i = {k: v for k, v in e.items() if not k.startswith("_")}
                if e.get("_passphrase"):
                    i["passphrase"] = masked(e["_passphrase"])
                ckc.append(i)
            out["certKeyChain"] = ckc
            out["inheritCertkeychain"] = "false" if obj.get("certKeyChain") else "true"
            first = ckc[0] if ckc else {}
            out["cert"] = first.get("cert", "none")
            out["key"] = first.get("key", "none")
            out["chain"] = first.get("chain", "none")
        if self.coll_type(coll) == "virtual":
            profs = out.pop("profiles", [])
            link = out["selfLink"].split("?")[0] + "/profiles?ver=15.1.0"
            out["profilesReference"] = {"link": link, "isSubcollection": True}
            if expand:
                out["profilesReference"]["items"] = [self.render_vprof(fp, p) for p in profs]
            if not out.get("rules"):
                out.pop("rules", None)
        return out

    def render_vprof(self, vfp, p):
        d = dict(p)
        d["kind"] = "tm:ltm:virtual:profiles:profilesstate"
        d["selfLink"] = "https://localhost/mgmt/tm/ltm/virtual/%s/profiles/%s?ver=15.1.0" % (
            vfp.replace("/", "~"), p["fullPath"].replace("/", "~"))
        return d

    @staticmethod
    def coll_type(coll):
        for c, t, _, _ in COLLECTIONS:
            if c == coll:
                return t
        return None


# ---------------------------------------------------------------------------
# Request handling


class Ctx:
    """One request: unit, method, path segments, query, body."""

    def __init__(self, sim, unit, method, path, query, body, headers):
        self.sim = sim
        self.unit = unit
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.headers = headers


def check_props(body, allowed, where):
    if not isinstance(body, dict):
        raise ApiError(400, "Found invalid JSON body in the request.", api=1)
    for k, v in body.items():
        if k not in allowed and k not in COMMON_PROPS:
            raise ApiError(400, "Found unexpected json pair at configuration item %s. "
                           "The json pair is \"%s\":%s." % (where, k, json.dumps(v)[:100]), api=1)


def parse_bool(v, field):
    if v in (True, "true", "enabled"):
        return "true"
    if v in (False, "false", "disabled"):
        return "false"
    raise ApiError(400, "Invalid value for %s: %s" % (field, v), api=1)


class Api:
    def __init__(self, sim):
        self.sim = sim

    @property
    def st(self):
        return self.sim.state

    def part(self):
        return self.sim.args.partition

    # ---- /mgmt/tm dispatch ----------------------------------------------
    def tm(self, c):
        rest = c.path[len("/mgmt/tm/"):].strip("/")
        if rest == "sys/config":
            return self.sys_config(c)
        if rest == "cm":
            return self.cm_run(c)
        if rest == "cm/failover-status":
            return self.failover_status(c)
        if rest == "cm/sync-status":
            return self.sync_status(c)
        if rest.startswith("cm/device-group"):
            return self.device_group(c, rest)
        if rest == "sys/clock" and c.method == "GET":
            return 200, {"kind": "tm:sys:clock:clockstats", "entries": {}}
        if rest in ("util/unix-rm", "util/unix-mv", "util/bash"):
            return self.util(c, rest)
        if rest == "transaction" or rest.startswith("transaction/"):
            return self.transaction(c, rest)
        for coll, typ, kindname, label in COLLECTIONS:
            if rest == coll or rest.startswith(coll + "/"):
                tail = rest[len(coll):].strip("/")
                segs = tail.split("/") if tail else []
                return self.collection(c, coll, typ, kindname, label, segs)
        raise ApiError(404, "Public URI path not registered: %s" % c.path[len("/mgmt"):],
                       framework=True)

    def collection(self, c, coll, typ, kindname, label, segs):
        store = self.st[typ]
        expand = c.query.get("expandSubcollections") == "true"
        if typ == "virtual" and len(segs) >= 2 and segs[1] == "profiles":
            return self.vprofiles(c, url_name(segs[0], self.part()), segs[2:])
        if len(segs) > 1:
            raise ApiError(404, "Public URI path not registered: %s" % c.path[len("/mgmt"):],
                           framework=True)
        if not segs:
            if c.method == "GET":
                items = [self.sim.render(coll, kindname, o, expand) for o in store.values()]
                filt = c.query.get("$filter", "")
                m = re.match(r"partition\s+eq\s+(\S+)", filt)
                if m:
                    items = [i for i in items if i.get("partition") == m.group(1)]
                return 200, {"kind": kindname.rsplit(":", 1)[0] + ":" +
                             kindname.rsplit(":", 1)[1].replace("state", "collectionstate"),
                             "selfLink": "https://localhost/mgmt/tm/%s?ver=15.1.0" % coll,
                             "items": items}
            if c.method == "POST":
                check_props(c.body, PROPS[typ], "/" + coll)
                obj = getattr(self, "create_" + typ)(c, coll, label)
                return 200, self.sim.render(coll, kindname, obj)
            raise ApiError(405, "Method not allowed", framework=True)
        fp = url_name(segs[0], self.part())
        obj = store.get(fp)
        if obj is None:
            raise not_found(label, fp)
        if c.method == "GET":
            return 200, self.sim.render(coll, kindname, obj, expand)
        if c.method in ("PATCH", "PUT"):
            check_props(c.body, PROPS[typ], "/" + coll + "/" + fp)
            if not c.body or set(c.body) <= {"name", "partition", "fullPath", "kind"}:
                raise ApiError(400, "one or more properties must be specified", api=1)
            getattr(self, "modify_" + typ)(c, fp, obj, label)
            return 200, self.sim.render(coll, kindname, store[fp])
        if c.method == "DELETE":
            self.delete(typ, fp, label)
            return 200, None
        raise ApiError(405, "Method not allowed", framework=True)

    def body_fp(self, c, label):
        name = c.body.get("name")
        if not name or not isinstance(name, str):
            raise ApiError(400, "01070734:3: Configuration error: a name must be specified", api=1)
        fp = to_fullpath(name, c.body.get("partition"), "Common")
        part = split_fp(fp)[0]
        if part not in self.sim.partitions:
            raise ApiError(400, "01020036:3: The requested folder (/%s) was not found." % part)
        if "*" in fp or "<" in fp:
            raise ApiError(400, "the \"create\" command does not accept wildcard configuration identifiers", api=1)
        return fp

    def exists(self, store, fp, label):
        if fp in store:
            part = split_fp(fp)[0]
            raise ApiError(409, "01020066:3: The requested %s (%s) already exists in partition %s."
                           % (label, fp, part))

    # ---- keys / certs / csrs ---------------------------------------------
    def create_key(self, c, coll, label):
        b = c.body
        if b.get("command") == "install":
            return self.install_file(c, "key", b.get("from-local-file") or b.get("fromLocalFile"), label)
        fp = self.body_fp(c, label)
        if "sourcePath" in b:
            self.exists(self.st["key"], fp, label)
            return self.key_from_source(c, fp, b["sourcePath"], b.get("passphrase"))
        if coll != "sys/crypto/key":
            raise ApiError(400, "01070712:3: Values (sourcePath) must be specified for %s." % fp)
        self.exists(self.st["key"], fp, label)
        ktype = b.get("keyType", "rsa-private")
        security = b.get("securityType", "normal")
        pw = b.get("passphrase")
        if security not in ("normal", "password"):
            raise ApiError(400, "01070712:3: Invalid security type (%s)." % security)
        if security == "password" and not pw:
            raise ApiError(400, "01070313:3: A passphrase is required for security type password.")
        if security == "normal" and pw:
            raise ApiError(400, "01070313:3: A passphrase may only be given for security type password.")
        if ktype == "rsa-private":
            size = str(b.get("keySize", "2048"))
            if size not in ("1024", "2048", "3072", "4096"):
                raise ApiError(400, "01070313:3: Invalid key size (%s)." % size)
            gen = ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:" + size]
        elif ktype == "ec-private":
            curve = b.get("curveName")
            if curve not in ("prime256v1", "secp384r1", "secp521r1"):
                raise ApiError(400, "01070313:3: Invalid curve name (%s)." % curve)
            gen = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + curve]
        else:
            raise ApiError(400, "01070313:3: Invalid key type (%s)." % ktype)
        csr_name = None
        for o in b.get("options", []) or []:
            if not isinstance(o, dict) or len(o) != 1:
                raise ApiError(400, "Invalid options value", api=1)
            k, v = next(iter(o.items()))
            if k == "gen-csr":
                csr_name = v
            elif k != "gen-certificate":
                raise ApiError(400, "01070734:3: unknown option %s" % k)
        csr_fp = None
        if csr_name is not None:
            if "*" in csr_name:
                raise ApiError(400, "the \"create\" command does not accept wildcard configuration identifiers")
            csr_fp = to_fullpath(csr_name, split_fp(fp)[0], "Common")
            self.exists(self.st["csr"], csr_fp, "CSR")
            if not b.get("commonName"):
                raise ApiError(400, "01070313:3: A common name is required to generate a CSR.")
        if security == "password":
            gen += ["-aes-256-cbc", "-pass", "env:LBSIM_PASS"]
        if pw:
            self.sim.seen_pass.add(pw)
        Pace.make_key()
        pem = openssl(gen, secret=pw if security == "password" else None)
        key = self.sim.add_key(fp, pem, pw if security == "password" else None, security)
        if csr_fp:
            self.make_csr(csr_fp, key, b, pw if security == "password" else None)
        return key

    def make_csr(self, csr_fp, key, b, secret):
        subj = ""
        for field, attr in (("country", "C"), ("state", "ST"), ("city", "L"),
                            ("organization", "O"), ("ou", "OU"), ("commonName", "CN"),
                            ("emailAddress", "emailAddress")):
            if b.get(field):
                val = str(b[field]).replace("/", "\\/")
                subj += "/%s=%s" % (attr, val)
        args = ["req", "-new", "-key", key["_file"], "-subj", subj, "-sha256"] + passin(secret)
        san = b.get("subject-alternative-name") or b.get("subjectAlternativeName")
        if san:
            args += ["-addext", "subjectAltName=" + ",".join(s.strip() for s in san.split(","))]
        try:
            pem = openssl(args, secret=secret)
        except OsslError as ex:
            raise ApiError(400, "01070313:3: CSR generation failed: %s" % str(ex)[:200])
        path = self.sim.store_file("csr", csr_fp, pem)
        part, short = split_fp(csr_fp)
        self.st["csr"][csr_fp] = {
            "name": short, "partition": part, "fullPath": csr_fp,
            "commonName": b.get("commonName"), "key": key["fullPath"],
            "subjectAlternativeName": san or "",
            "apiRawValues": {"keySize": key["keySize"],
                             "publicKeyType": "EC" if key["keyType"] == "ec-private" else "RSA"},
            "_file": path, "_pem": pem.decode(),
        }

    def create_csr(self, c, coll, label):
        b = c.body
        fp = self.body_fp(c, label)
        self.exists(self.st["csr"], fp, label)
        key = self.st["key"].get(to_fullpath(b.get("key", ""), None, "Common"))
        if key is None:
            raise ApiError(400, "01070277:3: The requested key (%s) was not found." % b.get("key"))
        if key["securityType"] == "password" and not self.sim.key_decrypts(key, b.get("passphrase")):
            raise ApiError(400, "01070313:3: Error reading key PEM file: bad password read")
        self.make_csr(fp, key, b, b.get("passphrase") if key["securityType"] == "password" else None)
        return self.st["csr"][fp]

    def key_from_source(self, c, fp, source, pw):
        path = self.sim.local_path(c.unit, source)
        data = open(path, "rb").read()
        if b"PRIVATE KEY" not in data:
            raise ApiError(400, "01070712:3: Certificate/Key has unknown format or security type.")
        key = self.sim.add_key(fp, data, pw, "password" if pw else "normal")
        key["sourcePath"] = source
        return key

    def install_file(self, c, typ, local, label):
        b = c.body
        fp = to_fullpath(b.get("name", ""), b.get("partition"), "Common")
        if not local:
            raise ApiError(400, "01070712:3: from-local-file must be specified")
        src = "file://" + local
        if typ == "key":
            return self.key_from_source(c, fp, src, b.get("passphrase"))
        path = self.sim.local_path(c.unit, src)
        return self.sim.add_cert(fp, open(path, "rb").read(), src)

    def create_cert(self, c, coll, label):
        b = c.body
        if b.get("command") == "install":
            return self.install_file(c, "cert", b.get("from-local-file") or b.get("fromLocalFile"), label)
        fp = self.body_fp(c, label)
        self.exists(self.st["cert"], fp, label)
        if "sourcePath" not in b:
            raise ApiError(400, "01070712:3: Values (sourcePath) must be specified for %s." % fp)
        path = self.sim.local_path(c.unit, b["sourcePath"])
        return self.sim.add_cert(fp, open(path, "rb").read(), b["sourcePath"])

    def modify_cert(self, c, fp, obj, label):
        if "sourcePath" not in c.body:
            raise ApiError(400, "01070712:3: only sourcePath may be modified on %s" % fp)
        path = self.sim.local_path(c.unit, c.body["sourcePath"])
        self.sim.add_cert(fp, open(path, "rb").read(), c.body["sourcePath"])

    def modify_key(self, c, fp, obj, label):
        if "sourcePath" not in c.body:
            raise ApiError(400, "01070712:3: only sourcePath/passphrase may be modified on %s" % fp)
        self.key_from_source(c, fp, c.body["sourcePath"], c.body.get("passphrase"))

    def modify_csr(self, c, fp, obj, label):
        raise ApiError(400, "01070734:3: a CSR cannot be modified")

    # ---- profiles ------------------------------------------------------------
    def parse_ckc(self, fp, lst, old=()):
        if not isinstance(lst, list):
            raise ApiError(400, "certKeyChain must be an array", api=1)
        stored = {masked(e["_passphrase"]): e["_passphrase"] for e in old if e.get("_passphrase")}
        out = []
        for e in lst:
            check_props(e, CKC_PROPS, "/ltm/profile/client-ssl/%s/certKeyChain" % fp)
            if not e.get("name"):
                raise ApiError(400, "01070734:3: cert-key-chain entry needs a name")
            i = {"name": e["name"], "cert": to_fullpath(e.get("cert", ""), None, "Common"),
                 "key": to_fullpath(e.get("key", ""), None, "Common")}
            ch = e.get("chain")
            i["chain"] = to_fullpath(ch, None, "Common") if ch and ch != "none" else "none"
            if e.get("passphrase"):
                i["_passphrase"] = stored.get(e["passphrase"], e["passphrase"])
            out.append(i)
        return out

    def apply_clientssl(self, fp, obj, b):
        legacy = [k for k in ("cert", "key", "chain", "passphrase") if k in b]
        if legacy and "certKeyChain" in b:
            raise ApiError(400, "01b4002a:3: Client SSL profile (%s):cert-key-chain and profile "
                           "cert/key/chain/passphrase options cannot be specified together." % fp)
        if "certKeyChain" in b:
            obj["certKeyChain"] = self.parse_ckc(fp, b["certKeyChain"], obj.get("certKeyChain", []))
        elif legacy:
            e = {"name": split_fp(fp)[1] + "_0", "cert": b.get("cert"), "key": b.get("key"),
                 "chain": b.get("chain", "none")}
            if b.get("passphrase"):
                e["passphrase"] = b["passphrase"]
            obj["certKeyChain"] = self.parse_ckc(fp, [e])
        for f in ("serverName",):
            if f in b:
                obj[f] = b[f] or "none"
        for f in ("sniDefault", "sniRequire"):
            if f in b:
                obj[f] = parse_bool(b[f], f)
        if obj.get("sniRequire") == "true" and obj.get("sniDefault") != "true":
            raise ApiError(400, "01071802:3: sni-require requires sni-default on profile %s" % fp)

    def create_clientssl(self, c, coll, label):
        b = c.body
        fp = self.body_fp(c, label)
        self.exists(self.st["clientssl"], fp, label)
        parent = to_fullpath(b.get("defaultsFrom", "/Common/clientssl"), None, "Common")
        pobj = self.st["clientssl"].get(parent)
        if pobj is None:
            raise ApiError(400, "01020036:3: The requested parent profile (%s) was not found." % parent)
        part, short = split_fp(fp)
        obj = {"name": short, "partition": part, "fullPath": fp, "defaultsFrom": parent,
               "serverName": "none", "sniDefault": "false", "sniRequire": "false",
               "certKeyChain": copy.deepcopy(pobj.get("certKeyChain", []))}
        self.apply_clientssl(fp, obj, b)
        self.st["clientssl"][fp] = obj
        return obj

    def modify_clientssl(self, c, fp, obj, label):
        if "defaultsFrom" in c.body:
            parent = to_fullpath(c.body["defaultsFrom"], None, "Common")
            if parent not in self.st["clientssl"] or parent == fp:
                raise ApiError(400, "01020036:3: The requested parent profile (%s) was not found." % parent)
            obj["defaultsFrom"] = parent
        self.apply_clientssl(fp, obj, c.body)

    def create_http(self, c, coll, label):
        raise ApiError(400, "sim: creating http profiles is not supported")

    create_tcp = create_http

    def modify_http(self, c, fp, obj, label):
        raise ApiError(400, "sim: modifying http profiles is not supported")

    modify_tcp = modify_http

    # ---- virtuals ------------------------------------------------------------
    def create_virtual(self, c, coll, label):
        raise ApiError(400, "sim: virtual servers are fixed by --virtual/--http-virtual")

    def norm_profiles(self, lst, vfp):
        out = []
        for p in lst:
            if isinstance(p, str):
                p = {"name": p}
            check_props(p, {"context"}, "/ltm/virtual/%s/profiles" % vfp)
            pfp = to_fullpath(p.get("name", ""), p.get("partition"), "Common")
            out.append(self.profile_entry(vfp, pfp, p.get("context", "all")))
        return out

    def profile_entry(self, vfp, pfp, context):
        if context not in ("all", "clientside", "serverside"):
            raise ApiError(400, "01070734:3: invalid profile context %s" % context)
        if not any(pfp in self.st[t] for t in ("clientssl", "http", "tcp")):
            raise ApiError(400, "01020036:3: The requested profile (%s) was not found." % pfp)
        if pfp in self.st["clientssl"] and context != "clientside":
            raise ApiError(400, "01070097:3: Virtual server %s: a client SSL profile (%s) must have "
                           "context clientside." % (vfp, pfp))
        part, short = split_fp(pfp)
        return {"name": short, "partition": part, "fullPath": pfp, "context": context}

    def modify_virtual(self, c, fp, obj, label):
        b = c.body
        for k in b:
            if k not in ("profiles", "rules", "description", "name", "partition", "fullPath",
                         "kind", "enabled", "disabled"):
                raise ApiError(400, "sim: only profiles, rules and description may be modified")
        if "profiles" in b:
            obj["profiles"] = self.norm_profiles(b["profiles"], fp)
        if "rules" in b:
            if not isinstance(b["rules"], list):
                raise ApiError(400, "rules must be an array", api=1)
            rules = []
            for r in b["rules"]:
                rfp = to_fullpath(r, None, "Common")
                if rfp not in self.st["rule"]:
                    raise ApiError(400, "01070151:3: Rule (%s) was not found." % rfp)
                rules.append(rfp)
            obj["rules"] = rules
        if "description" in b:
            obj["description"] = b["description"]

    def vprofiles(self, c, vfp, segs):
        v = self.st["virtual"].get(vfp)
        if v is None:
            raise not_found("Virtual Server", vfp)
        if not segs:
            if c.method == "GET":
                return 200, {"kind": "tm:ltm:virtual:profiles:profilescollectionstate",
                             "items": [self.sim.render_vprof(vfp, p) for p in v["profiles"]]}
            if c.method == "POST":
                check_props(c.body, {"context"}, "/ltm/virtual/%s/profiles" % vfp)
                if not c.body.get("name"):
                    raise ApiError(400, "one or more properties must be specified", api=1)
                pfp = to_fullpath(c.body["name"], c.body.get("partition"), "Common")
                if any(p["fullPath"] == pfp for p in v["profiles"]):
                    raise ApiError(409, "01020066:3: The requested profile (%s) already exists on "
                                   "virtual server %s." % (pfp, vfp))
                e = self.profile_entry(vfp, pfp, c.body.get("context", "all"))
                v["profiles"].append(e)
                return 200, self.sim.render_vprof(vfp, e)
            raise ApiError(405, "Method not allowed", framework=True)
        pfp = url_name(segs[0], "Common")
        idx = [i for i, p in enumerate(v["profiles"]) if p["fullPath"] == pfp]
        if not idx:
            raise not_found("Profile", pfp)
        if c.method == "GET":
            return 200, self.sim.render_vprof(vfp, v["profiles"][idx[0]])
        if c.method == "DELETE":
            if not any(p["fullPath"] in self.st["tcp"] for i, p in enumerate(v["profiles"]) if i != idx[0]):
                raise ApiError(400, "01070097:3: Virtual server %s requires a protocol profile." % vfp)
            del v["profiles"][idx[0]]
            return 200, None
        raise ApiError(405, "Method not allowed", framework=True)

    # ---- rules / data groups ---------------------------------------------------
    def create_rule(self, c, coll, label):
        fp = self.body_fp(c, label)
        self.exists(self.st["rule"], fp, label)
        part, short = split_fp(fp)
        self.st["rule"][fp] = {"name": short, "partition": part, "fullPath": fp,
                               "apiAnonymous": c.body.get("apiAnonymous", "")}
        return self.st["rule"][fp]

    def modify_rule(self, c, fp, obj, label):
        if "apiAnonymous" in c.body:
            obj["apiAnonymous"] = c.body["apiAnonymous"]

    def create_datagroup(self, c, coll, label):
        fp = self.body_fp(c, label)
        self.exists(self.st["datagroup"], fp, label)
        if c.body.get("type") not in ("string", "ip", "integer"):
            raise ApiError(400, "01070734:3: Configuration error: data group type must be string, ip or integer")
        part, short = split_fp(fp)
        obj = {"name": short, "partition": part, "fullPath": fp, "type": c.body["type"]}
        self.st["datagroup"][fp] = obj
        self.set_records(obj, c.body.get("records", []))
        return obj

    def set_records(self, obj, recs):
        if not isinstance(recs, list):
            raise ApiError(400, "records must be an array", api=1)
        out = []
        for r in recs:
            check_props(r, {"data"}, "/ltm/data-group/internal/%s/records" % obj["fullPath"])
            if not r.get("name"):
                raise ApiError(400, "01070734:3: a record needs a name")
            out.append({"name": r["name"], "data": r.get("data", "")})
        if out:
            obj["records"] = out
        else:
            obj.pop("records", None)

    def modify_datagroup(self, c, fp, obj, label):
        if "type" in c.body and c.body["type"] != obj["type"]:
            raise ApiError(400, "01070734:3: the type of a data group cannot be changed")
        if "records" in c.body:
            self.set_records(obj, c.body["records"])

    # ---- delete ----------------------------------------------------------------
    def delete(self, typ, fp, label):
        st = self.st
        if typ in ("key", "cert"):
            for pfp, p in st["clientssl"].items():
                for e in p.get("certKeyChain", []):
                    if fp in (e.get("key"), e.get("cert"), e.get("chain")):
                        raise ApiError(400, "01071349:3: File object by name (%s) is in use." % fp)
        if typ == "key":
            for cfp, csr in st["csr"].items():
                if csr["key"] == fp:
                    raise ApiError(400, "01071349:3: File object by name (%s) is in use by CSR %s." % (fp, cfp))
        if typ == "clientssl":
            if any(p.get("defaultsFrom") == fp for p in st["clientssl"].values()):
                raise ApiError(400, "01070265:3: The ClientSSL Profile (%s) cannot be deleted because "
                               "it is the parent of another profile" % fp)
            for vfp, v in st["virtual"].items():
                if any(p["fullPath"] == fp for p in v["profiles"]):
                    raise ApiError(400, "01070265:3: The ClientSSL Profile (%s) cannot be deleted because "
                                   "it is in use by a virtual server profile (%s)." % (fp, vfp))
        if typ in ("http", "tcp", "virtual"):
            raise ApiError(400, "sim: %s objects are fixed" % typ)
        if typ == "rule":
            for vfp, v in st["virtual"].items():
                if fp in v.get("rules", []):
                    raise ApiError(400, "01071350:3: Cannot delete rule (%s) because it is in use by "
                                   "virtual server (%s)." % (fp, vfp))
        if typ == "datagroup":
            short = split_fp(fp)[1]
            for rfp, r in st["rule"].items():
                if re.search(r"(?<![\w/.-])(%s|%s)(?![\w.-])" % (re.escape(fp), re.escape(short)),
                             r.get("apiAnonymous", "")):
                    raise ApiError(400, "01070151:3: Rule [%s] error: Unable to find value_list (%s) "
                                   "referenced at [class match]" % (rfp, fp))
        del st[typ][fp]

    # ---- sys/config, cm ---------------------------------------------------------
    def sys_config(self, c):
        if c.method != "POST":
            raise ApiError(405, "Method not allowed", framework=True)
        check_props(c.body, {"command", "options", "utilCmdArgs"}, "/sys/config")
        if c.body.get("command") != "save":
            raise ApiError(400, "sim: only the save command is supported")
        self.sim.saves += 1
        self.sim.saved_view = self.sim.config_view()
        return 200, {"kind": "tm:sys:config:savestate", "command": "save"}

    def stats(self, name, entries):
        return {"kind": "tm:cm:%s:%sstats" % (name, name),
                "selfLink": "https://localhost/mgmt/tm/cm/%s?ver=15.1.0" % name,
                "entries": {"https://localhost/mgmt/tm/cm/%s/0" % name: {
                    "nestedStats": {"entries": {k: {"description": v} for k, v in entries.items()}}}}}

    def failover_status(self, c):
        if not self.sim.args.pair:
            st = "ACTIVE"
        else:
            st = "ACTIVE" if c.unit == 0 else "STANDBY"
        out = self.stats("failover-status", {"color": "green" if st == "ACTIVE" else "gray",
                                             "status": st,
                                             "summary": "1/1 active" if st == "ACTIVE" else "0/1 active"})
        return 200, out

    def sync_status(self, c):
        status = self.sim.sync_state()
        mode = "high-availability" if self.sim.args.pair else "standalone"
        color = "green" if status in ("In Sync", "Standalone") else "blue"
        return 200, self.stats("sync-status", {"color": color, "mode": mode,
                                               "status": status, "summary": status})

    def device_group(self, c, rest):
        dg = self.sim.args.device_group
        obj = {"kind": "tm:cm:device-group:device-groupstate", "name": dg, "partition": "Common",
               "fullPath": "/Common/" + dg, "type": "sync-failover", "autoSync": "disabled",
               "fullLoadOnSync": "false", "saveOnAutoSync": "false",
               "devicesReference": {"link": "https://localhost/mgmt/tm/cm/device-group/~Common~%s/devices" % dg}}
        if rest == "cm/device-group":
            items = [obj] if self.sim.args.pair else []
            items.append(dict(obj, name="device_trust_group", fullPath="/Common/device_trust_group",
                              type="sync-only"))
            return 200, {"kind": "tm:cm:device-group:device-groupcollectionstate", "items": items}
        name = url_name(rest[len("cm/device-group/"):], "Common")
        if name == obj["fullPath"] and self.sim.args.pair:
            return 200, obj
        raise not_found("device group", name)

    def cm_run(self, c):
        if c.method != "POST":
            raise ApiError(405, "Method not allowed", framework=True)
        check_props(c.body, {"command", "utilCmdArgs"}, "/cm")
        args = (c.body.get("utilCmdArgs") or "").split()
        if c.body.get("command") != "run" or len(args) < 3 or args[:2] != ["config-sync", "to-group"]:
            raise ApiError(400, "sim: only 'run config-sync to-group GROUP' is supported")
        if not self.sim.args.pair or args[2] != self.sim.args.device_group:
            raise ApiError(400, "01070734:3: Configuration error: Device group (%s) not found in device "
                           "group sync" % args[2])
        self.sim.sync = {"status": "Syncing", "until": time.time() + self.sim.sync_seconds}
        self.sim.synced_view = self.sim.config_view()
        self.sim.sync_runs.append(args[2])
        return 200, {"kind": "tm:cm:runstate", "command": "run", "utilCmdArgs": c.body["utilCmdArgs"]}

    # ---- util --------------------------------------------------------------------
    def util(self, c, rest):
        if c.method != "POST":
            raise ApiError(405, "Method not allowed", framework=True)
        check_props(c.body, {"command", "utilCmdArgs"}, "/" + rest)
        if c.body.get("command") != "run":
            raise ApiError(400, "the command must be run", api=1)
        arg = c.body.get("utilCmdArgs", "")
        kind = "tm:%s:runstate" % rest.replace("/", ":")
        out = {"kind": kind, "command": "run", "utilCmdArgs": arg}
        if rest == "util/unix-rm":
            path = os.path.normpath(arg.strip())
            p = self.sim.unit_path(c.unit, path)
            if p is None or arg.strip().startswith("-") or len(arg.split()) != 1:
                raise ApiError(400, "sim: unix-rm is only allowed for one file under %s or %s"
                               % (UPLOAD_DIR, BULK_DIR))
            if os.path.exists(p):
                os.unlink(p)
                self.sim.uploads[c.unit].pop(os.path.basename(path), None)
            else:
                out["commandResult"] = "/bin/rm: cannot remove '%s': No such file or directory\n" % path
            return 200, out
        if rest == "util/unix-mv":
            return self.unix_mv(c, arg, out)
        if not self.sim.args.allow_bash:
            # A hardened unit: the account has no advanced shell.
            raise ApiError(401, "Authorization failed: user=https://localhost/mgmt/shared/authz/users/%s "
                           "resource=/mgmt/tm/util/bash verb=POST uri:http://localhost:8100/mgmt/tm/util/bash "
                           "referrer:127.0.0.1 sender:127.0.0.1" % self.sim.args.user, framework=True)
        # util/bash: only what a driver needs to read a CSR / cert.
        m = re.fullmatch(r"-c\s+(['\"])(.*)\1", arg.strip(), re.S)
        cmd = m.group(2).strip() if m else ""
        m = re.fullmatch(r"tmsh\s+list\s+sys\s+crypto\s+csr\s+(\S+)", cmd)
        if m:
            fp = to_fullpath(m.group(1), None, "Common")
            csr = self.st["csr"].get(fp)
            if csr is None:
                out["commandResult"] = "01020036:3: The requested CSR (%s) was not found.\n" % fp
            else:
                out["commandResult"] = ("sys crypto csr %s {\n    common-name %s\n    key %s\n"
                                        "    subject-alternative-name \"%s\"\n}\n%s"
                                        % (fp, csr["commonName"], csr["key"],
                                           csr["subjectAlternativeName"], csr["_pem"]))
            return 200, out
        m = re.fullmatch(r"cat\s+(\S+)", cmd)
        if m:
            target = m.group(1)
            for typ in ("cert", "csr"):
                for o in self.st[typ].values():
                    if o["_file"] == self.sim.host_path(target):
                        out["commandResult"] = open(o["_file"]).read()
                        return 200, out
            out["commandResult"] = "cat: %s: No such file or directory\n" % target
            return 200, out
        out["commandResult"] = "sim: command not supported\n"
        return 200, out

    def unix_mv(self, c, arg, out):
        """mv SRC DST, the form F5's bigip_ssl_csr module uses: a CSR's file
        (/config/ssl/ssl.csr/NAME, NAME the object's name) or a REST-worker
        file, moved into a REST-worker directory."""
        args = arg.split()
        if len(args) != 2 or any(a.startswith("-") for a in args):
            raise ApiError(400, "sim: unix-mv takes SOURCE DESTINATION")
        src, dst = (os.path.normpath(a) for a in args)
        if os.path.dirname(dst) not in MV_TARGETS:
            out["commandResult"] = "/bin/mv: cannot move '%s' to '%s': Permission denied\n" % (src, dst)
            return 200, out
        hdst = self.sim.unit_path(c.unit, dst)
        if hdst is None:
            hdst = os.path.join(self.sim.dir, "run", "mv-" + os.path.basename(dst))
        if os.path.dirname(src) == CSR_DIR:
            name = os.path.basename(src)
            found = [o for fp, o in sorted(self.st["csr"].items())
                     if split_fp(fp)[1] == name and os.path.exists(o["_file"])]
            if not found:
                out["commandResult"] = ("/bin/mv: cannot stat '%s': No such file or directory\n"
                                        % src)
                return 200, out
            os.replace(found[0]["_file"], hdst)
            return 200, out
        hsrc = self.sim.unit_path(c.unit, src)
        if hsrc is None or not os.path.exists(hsrc):
            out["commandResult"] = "/bin/mv: cannot stat '%s': No such file or directory\n" % src
            return 200, out
        os.replace(hsrc, hdst)
        self.sim.uploads[c.unit].pop(os.path.basename(src), None)
        return 200, out

    # ---- transactions --------------------------------------------------------
    def transaction(self, c, rest):
        segs = rest.split("/")
        if len(segs) == 1:
            if c.method != "POST":
                raise ApiError(405, "Method not allowed", framework=True)
            self.sim.next_trans += 1
            tid = self.sim.next_trans
            t = {"transId": tid, "state": "STARTED", "timeoutSeconds": 120,
                 "asyncExecution": False, "validateOnly": False, "executionTimeout": 300,
                 "executionTime": 0, "failedCommands": 0,
                 "kind": "tm:transactionstate",
                 "selfLink": "https://localhost/mgmt/tm/transaction/%d?ver=15.1.0" % tid,
                 "_cmds": [], "_unit": c.unit}
            self.sim.transactions[tid] = t
            return 200, {k: v for k, v in t.items() if not k.startswith("_")}
        try:
            t = self.sim.transactions[int(segs[1])]
        except (ValueError, KeyError):
            raise ApiError(404, "Transaction %s not found" % segs[1], framework=True)
        if c.method == "GET":
            return 200, {k: v for k, v in t.items() if not k.startswith("_")}
        if c.method == "DELETE":
            del self.sim.transactions[t["transId"]]
            return 200, None
        if c.method != "PATCH":
            raise ApiError(405, "Method not allowed", framework=True)
        check_props(c.body, {"state", "validateOnly"}, "/transaction")
        if c.body.get("state") != "VALIDATING":
            raise ApiError(400, "transaction state must be VALIDATING", framework=True)
        if t["state"] != "STARTED":
            raise ApiError(400, "transaction %d is %s" % (t["transId"], t["state"]), framework=True)
        if not t["_cmds"]:
            raise ApiError(404, "there is no command to commit in the transaction.", framework=True)
        snap = copy.deepcopy(self.sim.state)
        try:
            for sub in t["_cmds"]:
                self.tm(sub)
            self.sim.validate()
        except ApiError as ex:
            self.sim.state = snap
            t["state"] = "FAILED"
            t["failedCommands"] = 1
            raise ApiError(400, "transaction failed:" + ex.message, api=2)
        t["state"] = "COMPLETED"
        return 200, {k: v for k, v in t.items() if not k.startswith("_")}


# ---------------------------------------------------------------------------
# HTTP front end


def make_handler(sim, unit):
    api = Api(sim)

    class Handler(http.server.BaseHTTPRequestHandler):
        # Headers and body go out in separate writes: without TCP_NODELAY each
        # response waits ~40 ms on the client's delayed ACK.
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def send_json(self, status, obj, extra=None):
            data = b"" if obj is None else json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def read_body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PATCH(self):
            self.handle_any("PATCH")

        def do_PUT(self):
            self.handle_any("PUT")

        def do_DELETE(self):
            self.handle_any("DELETE")

        def handle_any(self, method):
            u = urllib.parse.urlsplit(self.path)
            path = u.path
            query = dict(urllib.parse.parse_qsl(u.query))
            raw = self.read_body()
            if path.startswith("/_sim/"):
                return self.sim_control(method, path, raw)
            Pace.request()
            entry = {"unit": unit, "method": method, "path": path, "time": time.time()}
            try:
                status, obj = self.dispatch(method, path, query, raw, entry)
            except ApiError as ex:
                status, obj = ex.code, ex.body()
            entry["status"] = status
            with sim.lock:
                sim.requests.append(entry)
                if (unit != 0 and sim.args.pair and method != "GET" and entry.get("write")):
                    sim.standby_writes.append(entry)
            if isinstance(obj, tuple) and obj[0] == "raw":
                _, data, extra = obj
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_json(status, obj)

        def check_fault(self, method, path):
            with sim.lock:
                for f in sim.faults:
                    if f.get("count", 1) <= 0:
                        continue
                    if f.get("unit") not in (None, unit):
                        continue
                    if f.get("method") not in (None, method):
                        continue
                    if not path.startswith(f.get("path", "/mgmt/")):
                        continue
                    f["count"] = f.get("count", 1) - 1
                    if f.get("kind") == "expire_tokens":
                        sim.tokens.clear()
                        return None
                    st = int(f.get("status", 500))
                    msg = f.get("message", "The connection to mcpd has been lost, try again.")
                    return ApiError(st, msg, api=32768001)
            return None

        def auth(self, path):
            tok = self.headers.get("X-F5-Auth-Token")
            now = time.time()
            with sim.lock:
                if tok:
                    t = sim.tokens.get(tok)
                    if t and t["expires"] > now:
                        return t
                    raise ApiError(401, "X-F5-Auth-Token does not exist.", framework=True)
            ah = self.headers.get("Authorization", "")
            if ah.startswith("Basic "):
                try:
                    u, p = base64.b64decode(ah[6:]).decode().split(":", 1)
                except Exception:
                    u, p = None, None
                if u == sim.args.user and p == sim.args.password:
                    return {"user": u}
                raise ApiError(401, "Authentication failed.", framework=True)
            raise ApiError(401, "Authorization failed: no user authentication header or token "
                           "detected. Uri:http://localhost:8100%s" % path, framework=True)

        def dispatch(self, method, path, query, raw, entry):
            f = self.check_fault(method, path)
            if f:
                raise f
            if path == "/mgmt/shared/authn/login":
                return self.login(method, raw)
            self.auth(path)
            if path.startswith("/mgmt/shared/authz/tokens/"):
                return self.token_op(method, path.rsplit("/", 1)[1], raw)
            if path == "/mgmt/shared/echo-query":
                return 200, {"kind": "shared:echo-query:echoquerystate"}
            if path.startswith("/mgmt/shared/file-transfer/bulk/"):
                return self.bulk(method, path[len("/mgmt/shared/file-transfer/bulk/"):])
            if path.startswith("/mgmt/shared/file-transfer/uploads/"):
                entry["write"] = True
                entry["resource"] = path
                return self.upload(method, path[len("/mgmt/shared/file-transfer/uploads/"):], raw)
            if not path.startswith("/mgmt/tm/"):
                raise ApiError(404, "Public URI path not registered: %s" % path[len("/mgmt"):]
                               if path.startswith("/mgmt") else path, framework=True)
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Found invalid JSON body in the request.", api=1)
            if body is None:
                body = {}
            ctx = Ctx(sim, unit, method, path, query, body, self.headers)
            read_only = method == "GET" or path.endswith("/cm/sync-status") or (
                path.endswith("/util/bash") and re.match(r"-c\s+'(tmsh list |cat )",
                                                       str(body.get("utilCmdArgs"))))
            if not read_only:
                entry["write"] = True
                entry["resource"] = path
                if isinstance(body, dict) and body.get("name"):
                    entry["name"] = body.get("name")
            coord = self.headers.get("X-F5-REST-Coordination-Id")
            if coord and (path == "/mgmt/tm/transaction" or
                          path.startswith("/mgmt/tm/transaction/")):
                # The reference (§4.5) says the commit must not carry the
                # header; the exact refusal is a SIM CHOICE.
                raise ApiError(400, "Transaction %s: the transaction endpoint cannot be called "
                               "from within a transaction (drop X-F5-REST-Coordination-Id)"
                               % coord, framework=True)
            with sim.lock:
                if coord and method != "GET" and "/transaction" not in path:
                    try:
                        t = sim.transactions[int(coord)]
                    except (ValueError, KeyError):
                        raise ApiError(400, "Transaction %s does not exist" % coord, framework=True)
                    if t["state"] != "STARTED":
                        raise ApiError(400, "Transaction %s is not open" % coord, framework=True)
                    t["_cmds"].append(Ctx(sim, unit, method, path, query, copy.deepcopy(body), {}))
                    entry["transaction"] = int(coord)
                    echo = {k: v for k, v in body.items() if k != "passphrase"} if isinstance(body, dict) else {}
                    if isinstance(echo.get("certKeyChain"), list):
                        echo["certKeyChain"] = [{k: v for k, v in e.items() if k != "passphrase"}
                                                for e in echo["certKeyChain"] if isinstance(e, dict)]
                    return 200, dict(echo, kind="tm:transaction:commandsstate")
                snap = copy.deepcopy(sim.state)
                try:
                    status, obj = api.tm(ctx)
                    if not read_only:
                        sim.validate()
                except ApiError:
                    sim.state = snap
                    raise
                except OsslError as ex:
                    sim.state = snap
                    raise ApiError(400, "01070712:3: %s" % str(ex)[:300])
                if not read_only:
                    sim.note_gaps(snap, method, path)
                return status, obj

        def login(self, method, raw):
            if method != "POST":
                raise ApiError(405, "Method not allowed", framework=True)
            try:
                b = json.loads(raw or b"{}")
            except ValueError:
                raise ApiError(400, "Found invalid JSON body in the request.", framework=True)
            if b.get("loginProviderName", "tmos") != "tmos" and not b.get("loginReference"):
                raise ApiError(401, "Authentication failed.", framework=True)
            if b.get("username") != sim.args.user or b.get("password") != sim.args.password:
                raise ApiError(401, "Authentication failed.", framework=True)
            tok = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(26))
            now = time.time()
            with sim.lock:
                live = sum(1 for t in sim.tokens.values()
                           if t["user"] == b["username"] and t["expires"] > now)
                if b["username"] != "admin" and live >= TOKENS_PER_USER:
                    uid = hashlib.md5(b["username"].encode()).hexdigest()
                    raise ApiError(400, "user %s-%s-%s-%s-%s has reached maximum active login "
                                   "tokens" % (uid[:8], uid[8:12], uid[12:16], uid[16:20],
                                               uid[20:]), framework=True)
                sim.tokens[tok] = {"user": b["username"], "timeout": 1200, "start": now,
                                   "expires": now + 1200}
                sim.seen_tokens.add(tok)
            return 200, {"username": b["username"], "loginProviderName": "tmos",
                         "token": self.token_view(tok)}

        def token_view(self, tok):
            t = sim.tokens[tok]
            return {"token": tok, "name": tok, "userName": t["user"], "authProviderName": "tmos",
                    "timeout": t["timeout"], "startTime": time.strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t["start"])),
                    "partition": "[All]", "lastUpdateMicros": int(time.time() * 1e6),
                    "expirationMicros": int(t["expires"] * 1e6),
                    "kind": "shared:authz:tokens:authtokenitemstate",
                    "selfLink": "https://localhost/mgmt/shared/authz/tokens/" + tok}

        def token_op(self, method, tok, raw):
            own = self.headers.get("X-F5-Auth-Token")
            with sim.lock:
                if tok not in sim.tokens:
                    raise ApiError(404, "Token %s not found" % tok[:4], framework=True)
                if own and own != tok and sim.tokens.get(own, {}).get("user") != sim.tokens[tok]["user"]:
                    raise ApiError(400, "not your token", framework=True)
                if method == "GET":
                    return 200, self.token_view(tok)
                if method == "DELETE":
                    view = self.token_view(tok)
                    del sim.tokens[tok]
                    return 200, view
                if method == "PATCH":
                    try:
                        b = json.loads(raw or b"{}")
                        to = int(b["timeout"])
                    except (ValueError, KeyError, TypeError):
                        raise ApiError(400, "timeout must be specified", framework=True)
                    if to > TOKEN_MAX_TIMEOUT:
                        raise ApiError(406, "Auth-token absolute timeout (36000 seconds) exceeded",
                                       framework=True)
                    t = sim.tokens[tok]
                    t["timeout"] = to
                    t["expires"] = time.time() + to
                    return 200, self.token_view(tok)
            raise ApiError(405, "Method not allowed", framework=True)

        def bulk(self, method, name):
            """GET of a file in /var/config/rest/bulk, in the Content-Range
            chunks the client asks for ("start-end/total", total 0 while
            unknown); the answer's Content-Range gives the real total."""
            if method != "GET":
                raise ApiError(405, "Method not allowed", framework=True)
            name = urllib.parse.unquote(name)
            if not name or "/" in name or name.startswith("."):
                raise ApiError(400, "Invalid file name %s" % name, framework=True)
            p = os.path.join(sim.bulk_dir(unit), name)
            if not os.path.isfile(p):
                raise ApiError(404, "File %s/%s not found" % (BULK_DIR, name), framework=True)
            data = open(p, "rb").read()
            start, end = 0, len(data) - 1
            m = re.fullmatch(r"(\d+)-(\d+)/(\d+)", (self.headers.get("Content-Range") or "").strip())
            if m:
                start, end = int(m.group(1)), min(int(m.group(2)), len(data) - 1)
            if start > end:
                raise ApiError(400, "Content-Range beyond the end of %s" % name, framework=True)
            return 200, ("raw", data[start:end + 1],
                         {"Content-Range": "%d-%d/%d" % (start, end, len(data))})

        def upload(self, method, name, raw):
            if method != "POST":
                raise ApiError(405, "Method not allowed", framework=True)
            name = urllib.parse.unquote(name)
            if not name or "/" in name or name.startswith("."):
                raise ApiError(400, "Invalid file name %s" % name, framework=True)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/octet-stream":
                # Reference §4.1: uploads are raw bytes, application/octet-stream
                # (the refusal text is a SIM CHOICE).
                raise ApiError(400, "Content-Type %s is not supported for file uploads; use "
                               "application/octet-stream" % (ctype or "(none)"), framework=True)
            cr = self.headers.get("Content-Range")
            m = re.fullmatch(r"(\d+)-(\d+)/(\d+)", (cr or "").strip())
            if not m:
                raise ApiError(400, "Content-Range header is missing or invalid: %s" % cr,
                               framework=True)
            start, end, total = (int(x) for x in m.groups())
            if end < start or end >= total:
                raise ApiError(400, "Content-Range %s: end must be >= start and < total" % cr,
                               framework=True)
            if end - start + 1 != len(raw):
                raise ApiError(400, "Content-Range %s does not match the body length %d"
                               % (cr, len(raw)), framework=True)
            if len(raw) > CHUNK_MAX:
                raise ApiError(400, "Chunk size %d exceeds the maximum of %d bytes"
                               % (len(raw), CHUNK_MAX), framework=True)
            path = os.path.join(sim.upload_dir(unit), name)
            with sim.lock:
                up = sim.uploads[unit].get(name)
                if start == 0:
                    up = {"total": total, "have": 0, "done": False, "chunks": {}}
                    open(path, "wb").close()
                    os.chmod(path, 0o600)
                elif up is None or up["done"] or up["total"] != total or start != up["have"]:
                    raise ApiError(400, "Content-Range %s is not contiguous with the %d bytes "
                                   "received" % (cr, up["have"] if up else 0), framework=True)
                with open(path, "ab") as f:
                    f.write(raw)
                up["chunks"][str(start)] = len(raw)
                up["have"] = end + 1
                up["done"] = up["have"] == total
                sim.uploads[unit][name] = up
                return 200, {"remainingByteCount": total - up["have"],
                             "usedChunks": up["chunks"], "totalByteCount": total,
                             "localFilePath": UPLOAD_DIR + "/" + name,
                             "temporaryFilePath": UPLOAD_DIR + "/tmp/" + name,
                             "generation": 0, "lastUpdateMicros": int(time.time() * 1e6)}

        def sim_control(self, method, path, raw):
            if path == "/_sim/state" and method == "GET":
                with sim.lock:
                    out = {}
                    for typ, store in sim.state.items():
                        out[typ] = {}
                        for fp, o in store.items():
                            d = {k: v for k, v in o.items() if not k.startswith("_")}
                            if typ == "clientssl":
                                d["certKeyChain"] = [
                                    dict({k: v for k, v in e.items() if not k.startswith("_")},
                                         has_passphrase=bool(e.get("_passphrase")))
                                    for e in o.get("certKeyChain", [])]
                            if typ in ("key", "cert", "csr"):
                                d["file"] = o["_file"]
                            out[typ][fp] = d
                    out["tokens"] = len(sim.tokens)
                    out["saves"] = sim.saves
                    out["unsaved"] = sim.unsaved()
                    out["sync_status"] = sim.sync_state()
                    out["gaps"] = list(sim.gaps)
                    out["bulk"] = [sorted(os.listdir(sim.bulk_dir(u))) for u in range(sim.nunits)]
                    out["sync_runs"] = list(sim.sync_runs)
                    out["standby_writes"] = sim.standby_writes
                    out["uploads"] = [sorted(os.listdir(sim.upload_dir(u))) for u in range(sim.nunits)]
                    out["transactions"] = {str(k): v["state"] for k, v in sim.transactions.items()}
                return self.send_json(200, out)
            if path == "/_sim/passphrases" and method == "GET":
                # test-only: lets a test prove no file and no log holds one
                with sim.lock:
                    return self.send_json(200, sorted(sim.seen_pass))
            if path == "/_sim/sync" and method == "POST":
                # test-only: how long a config-sync stays "Syncing"
                try:
                    secs = float(json.loads(raw or b"{}")["seconds"])
                except (ValueError, KeyError, TypeError):
                    return self.send_json(400, {"error": "want {\"seconds\": N}"})
                with sim.lock:
                    sim.sync_seconds = secs
                return self.send_json(200, {"ok": True})
            if path == "/_sim/tokens" and method == "GET":
                # test-only: every auth token ever issued, to prove none is logged
                with sim.lock:
                    return self.send_json(200, sorted(sim.seen_tokens))
            if path == "/_sim/requests" and method == "GET":
                with sim.lock:
                    return self.send_json(200, list(sim.requests))
            if path == "/_sim/requests/clear" and method == "POST":
                with sim.lock:
                    sim.requests.clear()
                    return self.send_json(200, {})
            if path == "/_sim/fault" and method == "POST":
                try:
                    f = json.loads(raw or b"{}")
                except ValueError:
                    return self.send_json(400, {"error": "bad json"})
                with sim.lock:
                    if f.get("clear"):
                        sim.faults = []
                    else:
                        sim.faults.append(f)
                return self.send_json(200, {"ok": True})
            return self.send_json(404, {"error": "unknown sim endpoint"})

    Handler.sim = sim
    return Handler


class ThreadedServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


# ---------------------------------------------------------------------------
# Virtual server listeners


class VirtualListener:
    """TLS on 127.0.0.1 serving the client-ssl profiles attached to one
    virtual: SNI picks the profile by serverName, else the sniDefault one,
    else the only one; no client-ssl profile → handshake failure."""

    def __init__(self, sim, vfp, tls, port=0):
        self.sim = sim
        self.vfp = vfp
        self.tls = tls
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.loop, daemon=True).start()

    def profile_ctx(self, pfp, prof):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        st = self.sim.state
        n = 0
        for e in prof.get("certKeyChain", []):
            cert, key = st["cert"].get(e["cert"]), st["key"].get(e["key"])
            if cert is None or key is None:
                continue
            chain = ""
            if e.get("chain") not in (None, "none") and e["chain"] in st["cert"]:
                chain = open(st["cert"][e["chain"]]["_file"]).read()
            fd, tmp = tempfile.mkstemp(dir=os.path.join(self.sim.dir, "run"), suffix=".pem")
            with os.fdopen(fd, "w") as f:
                f.write(open(cert["_file"]).read().strip() + "\n" + chain)
            try:
                ctx.load_cert_chain(tmp, key["_file"], password=e.get("_passphrase") or "")
                n += 1
            finally:
                os.unlink(tmp)
        return ctx if n else None

    def choose(self, server_name):
        with self.sim.lock:
            st = self.sim.state
            v = st["virtual"].get(self.vfp)
            profs = [(p["fullPath"], st["clientssl"][p["fullPath"]]) for p in v["profiles"]
                     if p["fullPath"] in st["clientssl"]]
            if not profs:
                return None
            pick = None
            if server_name:
                for pfp, p in profs:
                    sn = p.get("serverName", "none")
                    if sn == server_name or (sn.startswith("*.") and
                                             server_name.split(".", 1)[-1] == sn[2:]):
                        pick = (pfp, p)
                        break
            if pick is None:
                d = [x for x in profs if x[1].get("sniDefault") == "true"]
                pick = d[0] if d else (profs[0] if len(profs) == 1 else None)
            if pick is None:
                return None
            return self.profile_ctx(*pick)

    def loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        conn.settimeout(10)
        try:
            if self.tls:
                base = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                chosen = {}

                def cb(sslobj, name, _ctx):
                    c = self.choose(name)
                    if c is None:
                        return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
                    sslobj.context = c
                    chosen["ok"] = True
                    return None
                base.sni_callback = cb
                conn = base.wrap_socket(conn, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            line = data.split(b"\r\n", 1)[0].decode(errors="replace").split()
            status, body = 404, "not found\n"
            if len(line) >= 2:
                status, body = self.http_answer(line[1])
            resp = ("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                    "Connection: close\r\n\r\n%s" % (status, "OK" if status == 200 else "Not Found",
                                                     len(body.encode()), body))
            conn.sendall(resp.encode())
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def http_answer(self, target):
        prefix = "/.well-known/acme-challenge/"
        path = urllib.parse.urlsplit(target).path
        if not path.startswith(prefix):
            return 200, "virtual %s\n" % self.vfp
        token = path[len(prefix):]
        with self.sim.lock:
            st = self.sim.state
            v = st["virtual"].get(self.vfp, {})
            for r in v.get("rules", []):
                text = st["rule"].get(r, {}).get("apiAnonymous", "")
                if "acme-challenge" not in text:
                    continue
                for dfp, dg in st["datagroup"].items():
                    short = split_fp(dfp)[1]
                    if re.search(r"(?<![\w.-])(%s|%s)(?![\w.-])" % (re.escape(dfp), re.escape(short)), text):
                        for rec in dg.get("records", []):
                            if rec["name"] == token:
                                return 200, rec["data"]
        return 404, "not found\n"


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pair", action="store_true")
    ap.add_argument("--virtual", action="append", default=[])
    ap.add_argument("--http-virtual", action="append", default=[])
    # Fixed port for an HTTP virtual's listener (the port an ACME CA's
    # http-01 validation connects to); the others take a free port.
    ap.add_argument("--http-port", action="append", default=[], metavar="NAME=PORT")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="admin-pw")
    ap.add_argument("--partition", default="Common")
    ap.add_argument("--device-group", default="dg-failover")
    ap.add_argument("--allow-bash", action="store_true",
                    help="answer /mgmt/tm/util/bash (a unit whose account has the advanced shell)")
    Pace.add_args(ap)
    args = ap.parse_args()
    Pace.set(args)
    os.makedirs(args.dir, exist_ok=True)
    sim = Sim(args)
    units = []
    servers = []
    for u in range(sim.nunits):
        crt = os.path.join(sim.dir, "mgmt-%d.pem" % u)
        key = os.path.join(sim.dir, "mgmt-%d.key" % u)
        openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", key, "-out", crt, "-days", "30",
                 "-subj", "/CN=bigip-%d" % u,
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                 "-addext", "basicConstraints=critical,CA:TRUE"])
        srv = ThreadedServer(("127.0.0.1", 0), make_handler(sim, u))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        units.append({"url": "https://127.0.0.1:%d" % srv.server_address[1], "ca_file": crt,
                      "fingerprint_sha256": fingerprint(crt),
                      "role": "active" if u == 0 else "standby"})
    vservers, http_vs = {}, {}
    listeners = []
    for name in args.virtual:
        lst = VirtualListener(sim, to_fullpath(name, None, args.partition), True)
        listeners.append(lst)
        vservers[name] = lst.port
    http_ports = {}
    for spec in args.http_port:
        name, _, port = spec.partition("=")
        if name not in args.http_virtual or not port.isdigit():
            ap.error("--http-port wants NAME=PORT for an --http-virtual NAME, got %r" % spec)
        http_ports[name] = int(port)
    for name in args.http_virtual:
        lst = VirtualListener(sim, to_fullpath(name, None, args.partition), False,
                              http_ports.get(name, 0))
        listeners.append(lst)
        vservers[name] = lst.port
        http_vs[name] = lst.port
    ready = {"units": units, "vservers": vservers, "http_vservers": http_vs,
             "partition": args.partition, "device_group": args.device_group if args.pair else None}
    write_atomic(os.path.join(sim.dir, "ready.json"), json.dumps(ready, indent=1))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(0.5):
        pass
    for s in servers:
        s.shutdown()
    for lst in listeners:
        lst.sock.close()


if __name__ == "__main__":
    main()
