"""types, customFields, the request listing, enroll, details and collect."""

import base64
import secrets

from .errors import check_fields, err, under
from .schema import DCV_MODES, ENROLL_FIELDS, ENROLL_REQUIRED, FORMATS, KEY_TYPES


class CertsApi:
    """Mixed into Handler."""

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
