"""Shipped objects, keys and certificates as stored, and the validation run
after every change (a failure rolls the change back)."""

import hashlib
import os
import re
import ssl
import threading
import time

from simlib import OpensslError, fingerprint_sha256, openssl, passin

from .errors import ApiError, not_found
from .names import split_fp, to_fullpath


PEM_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\s*", re.S)


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


class SimObjects:
    """Mixed into Sim."""

    # ---- shipped objects ---------------------------------------------------
    def ship_defaults(self):
        keyf = os.path.join(self.dir, "run", "default.key")
        crtf = os.path.join(self.dir, "run", "default.crt")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyf,
                "-out", crtf, "-days", "3650", "-subj", "/CN=localhost.localdomain")
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
            text = openssl("pkey", "-in", path, "-noout", "-text", *passin(secret),
                           secret=secret).decode()
            pub = openssl("pkey", "-in", path, "-pubout", *passin(secret),
                          secret=secret).decode()
        except OpensslError as ex:
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
            text = openssl("x509", "-in", first, "-noout", "-text", "-nameopt", "RFC2253").decode()
            meta = openssl("x509", "-in", first, "-noout", "-serial", "-enddate",
                           "-startdate", "-subject", "-issuer", "-nameopt", "RFC2253",
                           "-pubkey").decode()
        except OpensslError:
            raise ApiError(400, "01070712:3: Certificate/Key has unknown format or security type.")
        fp = fingerprint_sha256(first)
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
                openssl("pkey", "-in", key["_file"], "-noout", *passin(secret), secret=secret)
                self.match_cache[ck] = True
            except OpensslError:
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
