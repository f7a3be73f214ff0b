"""NITRO error envelopes: the (HTTP status, errorcode, message) table and the
success body. Documented codes cite ../shared/reference/citrix-nitro.md
("ref §N"); codes the reference leaves open are marked SIM CHOICE."""


CFG = "/nitro/v1/config/"

# (http status, errorcode, message)
E = {
    # documented (ref §1.3, §1.4, §10)
    "not_found": (404, 258, "No such resource [{}]"),
    "exists": (409, 273, "Resource already exists"),
    "file_exists": (409, 1642, "Cannot create output file. File already exists"),
    "missing": (400, 1095, "Required argument missing [{}]"),
    "bad_login": (401, 354, "Invalid username or password"),
    "expired": (401, 444, "Session expired"),
    "privkey": (599, 1537, "Invalid private key, or PEM pass phrase required for this private key"),
    "dup_sni": (599, 1674, "Duplicate domain cert cannot be added."),
    # 278 "Invalid argument" is documented with HTTP 599 in public
    # terraform-provider-citrixadc docs; the detail in [] is a SIM CHOICE.
    "invalid_arg": (599, 278, "Invalid argument [{}]"),
    # SIM CHOICE (ref silent): secondary refuses config changes.
    "secondary": (400, 1, "Operation not permitted on secondary"),
    # SIM CHOICE: codes below are not documented (ref §12 open questions).
    "bad_json": (400, 1074, "Invalid JSON input"),
    "bad_wrapper": (400, 1075, "Invalid object name [{}]"),
    "method": (405, 1, "Method not allowed"),
    "no_action": (400, 1091, "Invalid action [{}]"),
    "bad_cert": (599, 1540, "Invalid certificate"),  # ref §10 CLI text
    "domain": (599, 1541, "Certificate is registered to a different domain; "
               "use the 'no domain check' option to force the operation"),
    "no_file": (599, 1542, "Cannot open file [{}]"),
    "not_issuer": (599, 1543, "Linked certificate is not the issuer of [{}]"),
    "in_use": (599, 1544, "Certificate is bound or linked; unbind/unlink it first [{}]"),
    "sni_off": (599, 1545, "SNI is not enabled on vserver [{}]"),
    "linked": (599, 1546, "Certificate is already linked [{}]"),
    "not_linked": (599, 1547, "Certificate is not linked [{}]"),
    "one_cert": (599, 1548, "Only one server certificate can be bound without SNI [{}]"),
    "no_key": (599, 1549, "Certificate has no private key [{}]"),
    "policy_in_use": (599, 2080, "Cannot remove [{}]: it is in use"),
    "expr": (599, 2081, "Expression syntax error [{}]"),
    "prio": (599, 2082, "Priority already in use [{}]"),
    "unsupported": (599, 1, "Not supported by the simulator [{}]"),
    "sim_fault": (503, 1, "Simulated failure"),
    # ref §6/§10 (terraform-provider-citrixadc#164): per-vserver SSL
    # settings while the default SSL profile is enabled.
    "default_profile": (599, 3740, "Operation not permitted. To do this Disable default "
                        "ssl profile by setting 'set ssl parameter -defaultProfile D'"),
}

DEFAULT_FRONTEND = "ns_default_ssl_profile_frontend"
DEFAULT_BACKEND = "ns_default_ssl_profile_backend"
# nsfeature GET: the read-only flags and the enabled list (adc-nitro-go
# nsfeature.go); the short names map to the "feature" list's names.
FEATURES = {"wl": "WL", "sp": "SP", "lb": "LB", "cs": "CS", "cr": "CR", "cmp": "CMP",
            "ssl": "SSL", "gslb": "GSLB", "rewrite": "REWRITE", "responder": "RESPONDER",
            "appfw": "APPFW", "aaa": "AAA", "sslvpn": "SSLVPN"}


class NitroError(Exception):
    def __init__(self, kind, detail=""):
        self.status, self.code, msg = E[kind]
        self.message = msg.format(detail) if "{}" in msg else msg
        super().__init__(self.message)


def ok_body(**extra):
    d = {"errorcode": 0, "message": "Done", "severity": "NONE"}
    d.update(extra)
    return d
