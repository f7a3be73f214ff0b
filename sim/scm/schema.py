"""What the SCM REST API accepts: enroll and revoke fields with their JSON
types, DCV modes, revocation codes, collect formats, key types."""


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
