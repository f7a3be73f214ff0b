"""revoke/{sslId}, revoke/serial/{serial} and revoke/manual."""

from .errors import check_fields, err
from .schema import MANUAL_REVOKE_FIELDS, REVOKE_CODES, REVOKE_FIELDS, REVOKE_FIELDS_STR


class RevokeApi:
    """Mixed into Handler."""

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
