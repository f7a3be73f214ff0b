"""mcpd and REST framework error envelopes."""

import base64
import hashlib
import secrets


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


def masked(secret):
    """The encrypted form a GET shows for a stored passphrase ("$M$...").
    Sent back unchanged (a client that PATCHes a whole certKeyChain it has
    read) it stands for the stored one, as in a saved configuration."""
    return "$M$" + base64.b64encode(hashlib.sha256(b"sim-master-key" + secret.encode())
                                    .digest()[:12]).decode()


def not_found(what, fp):
    return ApiError(404, "01020036:3: The requested %s (%s) was not found." % (what, fp))
