#!/usr/bin/env python3
"""Sectigo Certificate Manager REST simulator (classic header auth).

Serves /api/ssl/v1/{types,enroll,<id>,collect,revoke} on 127.0.0.1 over
HTTPS, with its own root + intermediate CA made by the openssl command, as
described in ../shared/reference/sectigo-scm-acme.md sections 1-3:

- every /api request carries the headers login, password, customerUri;
  anything else is 401 {"code": -16, "description": "Unknown user"};
- errors are {"code": <negative int>, "description": "..."} with status 400
  (404 for an unknown sslId, 401 for auth);
- enroll is strict: unknown fields or wrong JSON types are -1002 "Cannot
  parse message body" (what the Java backend answers for a body it cannot
  bind; the doc only shows it for a non-JSON body, so the code for unknown
  fields is inferred), missing fields -7, bad orgId -639, bad certType -39,
  term not in the profile -36, undecodable CSR -10, unsupported key -11/-13,
  a name under --refuse-domain -107;
- collect answers 400 {"code": -183, "description": "Certificate is not
  collectable."} for the first --pending collects of each sslId, then the
  certificate. Chain order per format follows the reference: x509 and pem
  come root first (root, intermediate, leaf: "the doc example output starts
  with the root", sguidia reverses pem), x509R leaf first, x509IO root then
  intermediate, x509IOR intermediate then root, pemia leaf then issuers;
  the reference marks the order as observed, not specified.
- revoke/{sslId}, revoke/serial/{serial} and revoke/manual answer 204.
  reasonCode is an integer (the 25.5 doc) or, with --revoke-reason string,
  a string of the same codes (the newer OpenAPI's enum); the other type is
  -1002 "Cannot parse message body", as for any field the backend cannot
  bind.
- the tenant as configured: GET customFields lists --custom-field
  NAME[:mandatory] ([{id, name, mandatory}]); an enroll without a value for
  a mandatory field is -62 (the doc's "missing mandatory custom field"), a
  field the tenant does not define is -1002 (SIM CHOICE: the doc names no
  code). --dcv-required (a tenant without DCV pre-validation) makes dcvMode
  required in enroll: -7 "dcvMode is required but missing".
- GET /api/ssl/v1?commonName=&size=&position= lists requests
  [{sslId, commonName, subjectAlternativeNames, serialNumber}] with
  X-Total-Count; --list-id id names the id "id" instead (the details call
  sslId deprecated in favour of id; a client must take either).
- --collect-form picks which collect URL forms exist (the reference gives
  both): "both" (default), "query" (/collect/{id}?format=, the current doc;
  the path form is then 404), "path" (/collect/{id}/{format}, what pycm, KF,
  sguidia call; /collect/{id} is then 404), "default-only" (the query form
  exists but ignores format= and serves the documented default, base64 =
  PKCS#7 PEM). --pending-style empty answers a not-yet-collectable
  certificate with an empty 200 body (what sguidia handles) instead of
  400/-183.

Test-only endpoints: GET /_sim/state, GET /_sim/requests, POST /_sim/requests/clear,
POST /_sim/fault {"fail_next": {path_contains, status, count, code?, description?,
drop?}}: drop "before" closes the connection without processing the request,
drop "after" processes it (an enroll is issued) and then closes the connection
without answering, as a lost answer.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ENROLL_FIELDS = {
    "orgId": int, "csr": str, "certType": int, "term": int,
    "subjAltNames": str, "comments": str, "externalRequester": str,
    "customFields": list, "dcvMode": str, "dcvEmail": str,
    # Legacy fields still sent by pycm and the Keyfactor plugin.
    "numberServers": int, "serverType": int,
}
ENROLL_REQUIRED = ("orgId", "csr", "certType", "term")
DCV_MODES = ("CNAME", "EMAIL", "HTTP", "HTTPS", "TXT", "AUTO")
REVOKE_FIELDS = {"reasonCode": int, "reason": str}
REVOKE_FIELDS_STR = {"reasonCode": str, "reason": str}
REVOKE_CODES = (0, 1, 3, 4, 5)
MANUAL_REVOKE_FIELDS = {"certId": int, "serialNumber": str, "issuer": str,
                        "revokeDate": str, "reasonCode": int}
FORMATS = ("x509", "x509CO", "x509IO", "x509IOR", "base64", "bin", "pem",
           "pemco", "pemia", "x509R", "pkcs12")
KEY_TYPES = {"RSA": ["2048", "3072", "4096"], "EC": ["P-256", "P-384"]}


class ApiError(Exception):
    def __init__(self, status, code, description):
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def openssl(*args, data=None):
    p = subprocess.run(["openssl", *args], input=data, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], p.stderr.decode(errors="replace")))
    return p.stdout


def pem_blocks(text):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?",
                      text, re.S)


def fingerprint(pem_path):
    out = openssl("x509", "-in", pem_path, "-noout", "-fingerprint", "-sha256").decode()
    return out.strip().split("=", 1)[1]


class CA:
    """Root + intermediate made once at start; issues leaves from CSRs."""

    def __init__(self, d):
        self.dir = d
        self.root = os.path.join(d, "ca-root.pem")
        self.root_key = os.path.join(d, "ca-root.key")
        self.int = os.path.join(d, "ca-int.pem")
        self.int_key = os.path.join(d, "ca-int.key")
        ext = os.path.join(d, "ca-ext.cnf")
        with open(ext, "w") as f:
            f.write("[v3_ca]\nbasicConstraints=critical,CA:TRUE\n"
                    "keyUsage=critical,keyCertSign,cRLSign\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid:always\n")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", self.root_key, "-out", self.root, "-days", "3650",
                "-subj", "/C=GB/O=Sim Sectigo/CN=Sim SCM Root CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        csr = os.path.join(d, "ca-int.csr")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", self.int_key, "-out", csr,
                "-subj", "/C=GB/O=Sim Sectigo/CN=Sim SCM Intermediate CA")
        openssl("x509", "-req", "-in", csr, "-CA", self.root, "-CAkey", self.root_key,
                "-set_serial", "0x" + secrets.token_hex(8), "-days", "3000",
                "-extfile", ext, "-extensions", "v3_ca", "-out", self.int)
        with open(self.root) as f:
            self.root_pem = f.read()
        with open(self.int) as f:
            self.int_pem = f.read()

    def inspect_csr(self, csr_pem):
        """Returns (cn, key_alg, key_param, spki_sha256) or raises ApiError."""
        with tempfile.NamedTemporaryFile("w", dir=self.dir, suffix=".csr",
                                         delete=False) as f:
            f.write(csr_pem)
            path = f.name
        try:
            try:
                openssl("req", "-in", path, "-noout", "-verify")
                text = openssl("req", "-in", path, "-noout", "-text").decode()
                subj = openssl("req", "-in", path, "-noout", "-subject",
                               "-nameopt", "RFC2253").decode()
                pub = openssl("req", "-in", path, "-noout", "-pubkey").decode()
            except RuntimeError:
                raise ApiError(400, -10, "Error while decoding CSR.")
        finally:
            os.unlink(path)
        subj = subj.strip()
        if subj.startswith("subject="):
            subj = subj[len("subject="):]
        m = re.search(r"(?:^|,)CN=((?:[^,\\]|\\.)*)", subj)
        cn = m.group(1).replace("\\", "") if m else None
        der = base64.b64decode("".join(l for l in pub.splitlines() if "-----" not in l))
        spki = hashlib.sha256(der).hexdigest()
        if "rsaEncryption" in text:
            m = re.search(r"Public-Key: \((\d+) bit\)", text)
            return cn, "RSA", m.group(1) if m else "?", spki
        if "id-ecPublicKey" in text:
            m = re.search(r"NIST CURVE: (P-\d+)", text)
            return cn, "EC", m.group(1) if m else "?", spki
        return cn, "?", "?", spki

    def issue(self, ssl_id, csr_pem, names, days):
        d = os.path.join(self.dir, "certs")
        os.makedirs(d, exist_ok=True)
        csr = os.path.join(d, "%d.csr" % ssl_id)
        ext = os.path.join(d, "%d.cnf" % ssl_id)
        out = os.path.join(d, "%d.pem" % ssl_id)
        with open(csr, "w") as f:
            f.write(csr_pem)
        with open(ext, "w") as f:
            f.write("[leaf]\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
                    "subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
        serial = "7" + secrets.token_hex(15)
        openssl("x509", "-req", "-in", csr, "-CA", self.int, "-CAkey", self.int_key,
                "-set_serial", "0x" + serial, "-days", str(days), "-extfile", ext,
                "-extensions", "leaf", "-out", out)
        with open(out) as f:
            return f.read(), serial

    def chain(self, leaf, fmt):
        root, inter = self.root_pem, self.int_pem
        order = {
            "x509": [root, inter, leaf], "pem": [root, inter, leaf],
            "x509R": [leaf, inter, root], "pemia": [leaf, inter, root],
            "x509CO": [leaf], "pemco": [leaf],
            "x509IO": [root, inter], "x509IOR": [inter, root],
        }
        if fmt in order:
            return "".join(order[fmt]).encode(), "application/octet-stream"
        bundle = os.path.join(self.dir, "certs", "p7-%s.pem" % secrets.token_hex(4))
        with open(bundle, "w") as f:
            f.write(leaf + inter + root)
        try:
            outform = "DER" if fmt == "bin" else "PEM"
            data = openssl("crl2pkcs7", "-nocrl", "-certfile", bundle, "-outform", outform)
        finally:
            os.unlink(bundle)
        return data, "application/octet-stream"


class State:
    def __init__(self, args, ca):
        self.lock = threading.Lock()
        self.args = args
        self.ca = ca
        self.types = parse_types(args.types)
        self.orgs = {int(x) for x in str(args.org_id).split(",")}
        self.refuse = [d.lower().strip(".") for d in (args.refuse_domain or [])]
        self.next_id = 10001
        self.certs = {}  # sslId -> dict
        self.issued_per_key = {}
        self.enrolls = 0
        self.collects = 0
        self.revoked = []
        self.requests = []
        self.faults = []
        self.custom_fields = []
        for i, cf in enumerate(args.custom_field or []):
            name, _, flag = cf.partition(":")
            self.custom_fields.append({"id": 100 + i, "name": name,
                                       "mandatory": flag == "mandatory"})


def parse_types(spec):
    types = []
    for item in spec.split(","):
        parts = item.strip().split(":")
        if len(parts) < 2:
            sys.exit("--types: want id:name[:term/term...], got %r" % item)
        terms = [int(t) for t in parts[2].split("/")] if len(parts) > 2 else [365, 730]
        types.append({"id": int(parts[0]), "name": parts[1],
                      "description": parts[1], "terms": terms,
                      "keyTypes": KEY_TYPES, "useSecondaryOrgName": False})
    return types


def err(status, code, description):
    raise ApiError(status, code, description)


def check_fields(body, fields):
    if not isinstance(body, dict):
        err(400, -1002, "Cannot parse message body")
    for k, v in body.items():
        want = fields.get(k)
        if want is None:
            err(400, -1002, "Cannot parse message body")
        if v is None:
            continue
        if want is int and (isinstance(v, bool) or not isinstance(v, int)):
            err(400, -1002, "Cannot parse message body")
        if want is not int and not isinstance(v, want):
            err(400, -1002, "Cannot parse message body")


def under(name, domain):
    name = name.lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
    return name == domain or name.endswith("." + domain)


class Handler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes: without TCP_NODELAY each
    # response waits ~40 ms on the client's delayed ACK.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "SimSCM/1.0"
    st = None  # State, set in main

    def log_message(self, fmt, *a):
        if os.environ.get("SIM_DEBUG"):
            sys.stderr.write("sectigo_scm: " + fmt % a + "\n")

    # -- plumbing ---------------------------------------------------------

    def send(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def json_body(self, raw):
        ctype = (self.headers.get("Content-Type") or "").lower()
        if not ctype.startswith("application/json"):
            err(415, -1, "Content type '%s' not supported" % ctype)
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            err(400, -1002, "Cannot parse message body")

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def dispatch(self, method):
        url = urlsplit(self.path)
        path = url.path
        raw = self.read_body()
        if path.startswith("/_sim/"):
            return self.sim(method, path, raw)
        st = self.st
        resource = None
        status = 500
        try:
            fault = self.take_fault(path)
            if fault and fault.get("drop") == "before":
                return self.drop(method, path, None)
            if fault and not fault.get("drop"):
                raise ApiError(fault["status"], fault.get("code", -2),
                               fault.get("description",
                                         "Internal error. Please contact Support for details."))
            self.auth()
            status, body, ctype, headers, resource = self.route(method, path,
                                                                 parse_qs(url.query), raw)
            if fault:
                return self.drop(method, path, resource)
            self.send(status, body, ctype, headers)
        except ApiError as e:
            status = e.status
            hdr = {"WWW-Authenticate": 'Basic realm="cert-manager"'} if e.status == 401 else None
            self.send(e.status, {"code": e.code, "description": e.description},
                      headers=hdr)
        except Exception as e:  # a simulator bug: say so loudly
            status = 500
            sys.stderr.write("sectigo_scm: internal error: %r\n" % e)
            self.send(500, {"code": -2,
                            "description": "Internal error. Please contact Support for details."})
        with st.lock:
            entry = {"method": method, "path": path, "status": status}
            if url.query:
                entry["query"] = url.query
            if method != "GET" and resource is not None:
                entry["resource"] = resource
            st.requests.append(entry)

    def drop(self, method, path, resource):
        """Closes the connection without a byte of answer (a lost answer)."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass
        with self.st.lock:
            entry = {"method": method, "path": path, "status": 0, "dropped": True}
            if resource is not None:
                entry["resource"] = resource
            self.st.requests.append(entry)

    def take_fault(self, path):
        with self.st.lock:
            for f in self.st.faults:
                if f["path_contains"] in path and f["count"] > 0:
                    f["count"] -= 1
                    return dict(f)
        return None

    def auth(self):
        a = self.st.args
        if (self.headers.get("login") != a.login
                or self.headers.get("password") != a.password
                or self.headers.get("customerUri") != a.customer_uri):
            err(401, -16, "Unknown user")

    # -- test-only control ------------------------------------------------

    def sim(self, method, path, raw):
        st = self.st
        if method == "GET" and path == "/_sim/state":
            with st.lock:
                certs = {str(k): {kk: vv for kk, vv in v.items()
                                  if kk not in ("pem", "csr")}
                         for k, v in st.certs.items()}
                return self.send(200, {"issued_per_key": st.issued_per_key,
                                       "enrolls": st.enrolls, "collects": st.collects,
                                       "revoked": st.revoked, "certs": certs})
        if method == "GET" and path == "/_sim/requests":
            with st.lock:
                return self.send(200, list(st.requests))
        if method == "POST" and path == "/_sim/requests/clear":
            with st.lock:
                st.requests.clear()
                return self.send(200, {})
        if method == "POST" and path == "/_sim/fault":
            try:
                f = json.loads(raw or b"{}")["fail_next"]
                f = {"path_contains": str(f.get("path_contains", "")),
                     "status": int(f.get("status", 500)), "count": int(f.get("count", 1)),
                     **({"code": int(f["code"])} if "code" in f else {}),
                     **({"description": str(f["description"])} if "description" in f else {}),
                     **({"drop": str(f["drop"])} if f.get("drop") in ("before", "after") else {})}
            except (ValueError, KeyError, TypeError, AttributeError):
                return self.send(400, {"error": "want {\"fail_next\": {path_contains, status, count}}"})
            with st.lock:
                st.faults.append(f)
            return self.send(200, {"ok": True})
        return self.send(404, {"error": "no such sim endpoint"})

    # -- the API ------------------------------------------------------------

    def route(self, method, path, query, raw):
        p = path.rstrip("/")
        if not p.startswith("/api/ssl/v1"):
            err(404, -1, "Not found: %s" % path)
        rest = p[len("/api/ssl/v1"):].lstrip("/").split("/")
        form = self.st.args.collect_form
        routes = [
            (("",), "GET", self.listing),
            (("types",), "GET", self.types),
            (("customFields",), "GET", self.custom_fields),
            (("enroll",), "POST", self.enroll),
        ]
        if form != "path":
            routes.append((("collect", "*"), "GET", self.collect_query))
        if form in ("both", "path"):
            routes.append((("collect", "*", "*"), "GET", self.collect_path))
        routes += [
            (("revoke", "manual"), "POST", self.revoke_manual),
            (("revoke", "serial", "*"), "POST", self.revoke_serial),
            (("revoke", "*"), "POST", self.revoke_id),
            (("*",), "GET", self.details),
        ]
        allowed = []
        for pat, m, fn in routes:
            if len(pat) != len(rest) or any(a != "*" and a != b for a, b in zip(pat, rest)):
                continue
            if m != method:
                allowed.append(m)
                continue
            args = [b for a, b in zip(pat, rest) if a == "*"]
            return fn(query, raw, *args)
        if allowed:
            err(405, -1, "Request method '%s' not supported" % method)
        err(404, -1, "Not found: %s" % path)

    def cert(self, ssl_id):
        try:
            n = int(ssl_id)
        except ValueError:
            n = None
        c = self.st.certs.get(n)
        if c is None:
            err(404, -124, "Wrong SSL certificate id %s." % ssl_id)
        return n, c

    def types(self, query, raw):
        org = query.get("organizationId", [None])[0]
        if org is not None and (not org.isdigit() or int(org) not in self.st.orgs):
            err(400, -639, "Supplied orgid invalid..")
        return 200, self.st.types, "application/json", None, None

    def custom_fields(self, query, raw):
        return 200, self.st.custom_fields, "application/json", None, None

    def listing(self, query, raw):
        def num(k, dflt):
            v = query.get(k, [str(dflt)])[0]
            if not v.isdigit():
                err(400, -1002, "Cannot parse message body")
            return int(v)
        size, pos = num("size", 10), num("position", 0)
        if size > 200:
            err(400, -1, "size: must be less than or equal to 200")
        cn = query.get("commonName", [None])[0]
        with self.st.lock:
            hits = [(n, c) for n, c in sorted(self.st.certs.items())
                    if cn is None or (c["commonName"] or "").lower() == cn.lower()]
            idk = self.st.args.list_id
            page = []
            for n, c in hits[pos:pos + size]:
                e = {idk: n, "commonName": c["commonName"],
                     "subjectAlternativeNames": c["names"][1:]}
                if c["status"] in ("Issued", "Revoked"):
                    ser = c["serial"].upper()
                    e["serialNumber"] = ":".join(ser[i:i + 2] for i in range(0, len(ser), 2))
                page.append(e)
        return 200, page, "application/json", {"X-Total-Count": str(len(hits))}, None

    def check_custom_fields(self, body):
        given = {}
        for cf in body.get("customFields") or []:
            if (not isinstance(cf, dict) or set(cf) - {"name", "value"}
                    or not isinstance(cf.get("name"), str)
                    or not isinstance(cf.get("value", ""), str)):
                err(400, -1002, "Cannot parse message body")
            if len(cf.get("value") or "") > 256:
                err(400, -1, "customFields.value: size must be between 0 and 256")
            if cf["name"] not in (f["name"] for f in self.st.custom_fields):
                err(400, -1002, "Cannot parse message body")
            given[cf["name"]] = cf.get("value") or ""
        for f in self.st.custom_fields:
            if f["mandatory"] and not given.get(f["name"]):
                err(400, -62, "Custom field '%s' is mandatory and missing." % f["name"])

    def enroll(self, query, raw):
        st = self.st
        body = self.json_body(raw)
        check_fields(body, ENROLL_FIELDS)
        for f in ENROLL_REQUIRED:
            if body.get(f) is None:
                err(400, -7, "%s is required but missing" % f)
        if body["orgId"] not in st.orgs:
            err(400, -639, "Supplied orgid invalid..")
        ctype = next((t for t in st.types if t["id"] == body["certType"]), None)
        if ctype is None:
            err(400, -39, "The certificate profile id is invalid!")
        if body["term"] < 1 or body["term"] not in ctype["terms"]:
            err(400, -36, "The validity period (term) is invalid for this certificate profile.")
        if len(body.get("comments") or "") > 1024:
            err(400, -1, "comments: size must be between 0 and 1024")
        if len(body.get("externalRequester") or "") > 512:
            err(400, -1, "externalRequester: size must be between 0 and 512")
        if body.get("dcvMode") is not None and body["dcvMode"] not in DCV_MODES:
            err(400, -1002, "Cannot parse message body")
        if st.args.dcv_required and body.get("dcvMode") is None:
            err(400, -7, "dcvMode is required but missing")
        if body.get("dcvMode") == "EMAIL" and not body.get("dcvEmail"):
            err(400, -7, "dcvEmail is required but missing")
        self.check_custom_fields(body)
        csr = body["csr"]
        if not 1 <= len(csr) <= 32767:
            err(400, -10, "Error while decoding CSR.")
        if "-----BEGIN" not in csr:
            csr = "-----BEGIN CERTIFICATE REQUEST-----\n%s\n-----END CERTIFICATE REQUEST-----\n" % csr
            try:
                base64.b64decode("".join(csr.splitlines()[1:-1]), validate=True)
            except ValueError:
                err(400, -9, "The CSR is not valid Base-64 data!")
        cn, alg, param, spki = st.ca.inspect_csr(csr)
        if alg not in KEY_TYPES:
            err(400, -11, "The CSR uses an unsupported algorithm!")
        if param not in ctype["keyTypes"].get(alg, []):
            err(400, -13, "The CSR uses an unsupported key size!")
        names = []
        for n in ([cn] if cn else []) + [s.strip() for s in (body.get("subjAltNames") or "").split(",")]:
            if n and n.lower() not in (x.lower() for x in names):
                names.append(n)
        if not names:
            err(400, -7, "commonName is required but missing")
        for n in names:
            for d in st.refuse:
                if under(n, d):
                    err(400, -107, "Domain Control Validation is either incomplete or expired "
                        "for %s. Please complete it before requesting a certificate." % n)
        with st.lock:
            ssl_id = st.next_id
            st.next_id += 1
        pem, serial = st.ca.issue(ssl_id, csr, names, body["term"])
        renew_id = secrets.token_urlsafe(15)
        with st.lock:
            st.enrolls += 1
            st.issued_per_key[spki] = st.issued_per_key.get(spki, 0) + 1
            st.certs[ssl_id] = {
                "commonName": cn, "names": names, "orgId": body["orgId"],
                "certType": ctype["id"], "term": body["term"], "renewId": renew_id,
                "comments": body.get("comments"), "pending": st.args.pending,
                "customFields": body.get("customFields") or [],
                "dcvMode": body.get("dcvMode"), "dcvEmail": body.get("dcvEmail"),
                "collects": 0, "status": "Applied" if st.args.pending else "Issued",
                "serial": serial, "spki_sha256": spki, "pem": pem, "csr": csr,
                "keyType": "%s - %s" % (alg, param),
            }
        return 200, {"sslId": ssl_id, "renewId": renew_id}, "application/json", None, ssl_id

    def details(self, query, raw, ssl_id):
        n, c = self.cert(ssl_id)
        ctype = next(t for t in self.st.types if t["id"] == c["certType"])
        serial = c["serial"].upper()
        body = {
            "commonName": c["commonName"], "sslId": n, "id": n, "orgId": c["orgId"],
            "status": c["status"], "certType": {k: ctype[k] for k in ("id", "name", "description", "terms")},
            "term": c["term"], "requestedVia": "API", "comments": c["comments"] or "",
            "subjectAlternativeNames": c["names"][1:], "keyType": c["keyType"],
            "renewId": c["renewId"],
        }
        if c["status"] in ("Issued", "Revoked"):
            body["serialNumber"] = ":".join(serial[i:i + 2] for i in range(0, len(serial), 2))
        if c["status"] == "Revoked":
            body["reasonCode"] = c.get("reasonCode", 0)
        return 200, body, "application/json", None, None

    def collect_query(self, query, raw, ssl_id):
        if self.st.args.collect_form == "default-only":
            return self.collect(ssl_id, "base64")
        return self.collect(ssl_id, query.get("format", ["base64"])[0])

    def collect_path(self, query, raw, ssl_id, fmt):
        return self.collect(ssl_id, fmt)

    def collect(self, ssl_id, fmt):
        st = self.st
        with st.lock:
            st.collects += 1
            n, c = self.cert(ssl_id)
            if fmt not in FORMATS:
                err(400, -126, "Unknown SSL certificate file format requested: %s" % fmt)
            if c["status"] == "Revoked":
                err(400, -110, "Certificate has been revoked and cannot be downloaded.")
            c["collects"] += 1
            if c["collects"] <= c["pending"]:
                if st.args.pending_style == "empty":
                    return 200, b"", "application/octet-stream", None, None
                err(400, -183, "Certificate is not collectable.")
            c["status"] = "Issued"
            pem = c["pem"]
        if fmt == "pkcs12":
            err(400, -126, "Unknown SSL certificate file format requested: %s" % fmt)
        data, ctype = st.ca.chain(pem, fmt)
        ext = {"bin": "p7b", "base64": "p7b"}.get(fmt, "crt")
        return 200, data, ctype, {
            "Content-Disposition": "attachment; filename=%s_%s.%s"
            % (c["commonName"] or n, fmt, ext)}, None

    def revoke_body(self, raw, fields):
        body = self.json_body(raw)
        if fields is REVOKE_FIELDS and self.st.args.revoke_reason == "string":
            check_fields(body, REVOKE_FIELDS_STR)
            if body.get("reasonCode") is not None:
                if body["reasonCode"] not in [str(c) for c in REVOKE_CODES]:
                    err(400, -1002, "Cannot parse message body")
                body["reasonCode"] = int(body["reasonCode"])
            return body
        check_fields(body, fields)
        return body

    def do_revoke(self, n, c, body):
        reason = body.get("reason")
        if reason is None or reason == "":
            err(400, -7, "reason is required but missing")
        if len(reason) > 512:
            err(400, -1, "reason: size must be between 1 and 512")
        code = body.get("reasonCode")
        if code is not None and code not in REVOKE_CODES:
            err(400, -1002, "Cannot parse message body")
        if c["status"] == "Revoked":
            err(400, -159, "Your certificate already revoked")
        if c["status"] != "Issued":
            err(400, -102, "Only issued certificates could be revoked.")
        c["status"] = "Revoked"
        c["reasonCode"] = code if code is not None else 0
        c["reason"] = reason
        self.st.revoked.append({"sslId": n, "serial": c["serial"],
                                "reasonCode": c["reasonCode"], "reason": reason})

    def revoke_id(self, query, raw, ssl_id):
        body = self.revoke_body(raw, REVOKE_FIELDS)
        with self.st.lock:
            n, c = self.cert(ssl_id)
            self.do_revoke(n, c, body)
        return 204, b"", None, None, n

    def revoke_serial(self, query, raw, serial):
        body = self.revoke_body(raw, REVOKE_FIELDS)
        want = serial.replace(":", "").lower().lstrip("0")
        with self.st.lock:
            hit = [(n, c) for n, c in self.st.certs.items()
                   if c["serial"].lower().lstrip("0") == want]
            if not hit:
                err(400, -166, "Entered data doesn't match the certificate or no valid "
                    "certificate found")
            self.do_revoke(hit[0][0], hit[0][1], body)
        return 204, b"", None, None, serial

    def revoke_manual(self, query, raw):
        body = self.revoke_body(raw, MANUAL_REVOKE_FIELDS)
        if body.get("revokeDate") is None:
            err(400, -7, "revokeDate is required but missing")
        with self.st.lock:
            if body.get("certId") is not None:
                n, c = self.cert(str(body["certId"]))
            else:
                if not body.get("serialNumber") or not body.get("issuer"):
                    err(400, -7, "certId is required but missing")
                want = body["serialNumber"].replace(":", "").lower().lstrip("0")
                hit = [(k, v) for k, v in self.st.certs.items()
                       if v["serial"].lower().lstrip("0") == want]
                if not hit:
                    err(400, -166, "Entered data doesn't match the certificate or no valid "
                        "certificate found")
                n, c = hit[0]
            if c["status"] == "Revoked":
                err(400, -159, "Your certificate already revoked")
            c["status"] = "Revoked"
            c["reasonCode"] = body.get("reasonCode") or 0
            self.st.revoked.append({"sslId": n, "serial": c["serial"],
                                    "reasonCode": c["reasonCode"], "manual": True})
        return 204, b"", None, None, n


def mgmt_cert(d):
    cert = os.path.join(d, "mgmt-0.pem")
    key = os.path.join(d, "mgmt-0.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", cert, "-days", "30",
            "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    return cert, key


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--customer-uri", default="example")
    ap.add_argument("--login", default="api-user")
    ap.add_argument("--password", required=True)
    ap.add_argument("--pending", type=int, default=0,
                    help="collects answered -183 before each certificate is collectable")
    ap.add_argument("--org-id", default="1234", help="valid orgId values, comma-separated")
    ap.add_argument("--types", default="224:InstantSSL Pro:365/730,"
                    "225:PremiumSSL Wildcard:365,226:Sectigo OV Multi-Domain:365/730")
    ap.add_argument("--refuse-domain", action="append",
                    help="names under this domain fail DCV (-107); repeatable")
    ap.add_argument("--collect-form", default="both",
                    choices=("both", "query", "path", "default-only"),
                    help="which documented collect URL forms this instance serves")
    ap.add_argument("--pending-style", default="error", choices=("error", "empty"),
                    help="not yet collectable: 400/-183 (error) or an empty 200 (empty)")
    ap.add_argument("--custom-field", action="append",
                    help="NAME or NAME:mandatory, a custom field of the tenant; repeatable")
    ap.add_argument("--dcv-required", action="store_true",
                    help="no DCV pre-validation: enroll needs dcvMode")
    ap.add_argument("--revoke-reason", default="int", choices=("int", "string"),
                    help="the JSON type revoke binds reasonCode to")
    ap.add_argument("--list-id", default="sslId", choices=("sslId", "id"),
                    help="the id field of the request listing")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    ca = CA(args.dir)
    Handler.st = State(args, ca)
    cert, key = mgmt_cert(args.dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            # Handshake in the handler thread, so that one stuck client
            # cannot block the accept loop.
            sock, addr = self.socket.accept()
            return ctx.wrap_socket(sock, server_side=True,
                                   do_handshake_on_connect=False), addr

    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]

    ready = {"units": [{"url": "https://127.0.0.1:%d/api" % port, "ca_file": cert,
                        "fingerprint_sha256": fingerprint(cert)}],
             "ca_root": ca.root, "ca_intermediate": ca.int}
    tmp = os.path.join(args.dir, ".ready.json.tmp")
    with open(tmp, "w") as f:
        json.dump(ready, f)
    os.rename(tmp, os.path.join(args.dir, "ready.json"))

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()


if __name__ == "__main__":
    main()
