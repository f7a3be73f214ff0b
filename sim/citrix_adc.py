#!/usr/bin/env python3
"""Simulated Citrix ADC / NetScaler (13.0+) NITRO REST API.

Follows ../shared/reference/citrix-nitro.md (cited as "ref §N"). Where the
reference leaves an error code open, the choice made here is marked
"SIM CHOICE" next to the code in the ERRORS table below.

Usage:
  citrix_adc.py --dir DIR [--ha] [--vserver NAME[:lb|cs|vpn]]...
                [--http-vserver NAME]... [--http-port NAME=PORT]...
                [--user nsroot --password PW]
                [--session-timeout S] [--version 13.1]
                [--nitro-variant default|strings]
                [--default-profile] [--responder-off]

An HA pair (--ha) shares one running configuration (commands on the
primary propagate) but each unit has its own /nsconfig/ssl: files reach
the secondary only through `hafiles?action=sync` (ref §7.3). GET /_sim/state
reports "unsaved" (running config differs from the last `nsconfig save`),
"files_in_sync" (every SSL file of the primary is on the secondary with the
same content), "propagation_failures" (a propagated certkey command named a
file the secondary lacked) and "gaps" (an SSL vserver that served a
certificate stopped serving one because of a request).
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import json
import os
import re
import secrets
import socketserver
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

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


# ---------------------------------------------------------------- crypto

CERT_CACHE = {}
CERT_CACHE_LOCK = threading.Lock()
DN_OPT = "sep_comma_plus,esc_2253,esc_ctrl,esc_msb,utf8"


def cert_info(data):
    """Parses a certificate (PEM or DER bytes) with openssl; cached by
    digest. Raises NitroError('bad_cert') when it does not parse."""
    h = hashlib.sha256(data).hexdigest()
    with CERT_CACHE_LOCK:
        if h in CERT_CACHE:
            return CERT_CACHE[h]
    form = "PEM" if b"-----BEGIN CERTIFICATE-----" in data else "DER"
    try:
        pem = simlib.openssl("x509", "-inform", form, "-outform", "PEM", input=data)
        fields = simlib.openssl("x509", "-noout", "-serial", "-subject", "-issuer",
                                "-startdate", "-enddate", "-nameopt", DN_OPT,
                                input=pem).decode()
        text = simlib.openssl("x509", "-noout", "-text", input=pem).decode()
        pub = simlib.openssl("x509", "-noout", "-pubkey", input=pem).decode()
    except simlib.OpensslError:
        raise NitroError("bad_cert")
    info = {"pem": pem.decode(), "pubkey": pub.strip()}
    for line in fields.splitlines():
        k, _, v = line.partition("=")
        info[k.strip()] = v.strip()
    info["notbefore"] = parse_asn1_time(info.pop("notBefore"))
    info["notafter"] = parse_asn1_time(info.pop("notAfter"))
    m = re.search(r"X509v3 Subject Alternative Name:.*?\n\s*(.*)\n", text)
    sans = [s.strip() for s in m.group(1).split(",")] if m else []
    info["sandns"] = [s[4:] for s in sans if s.startswith("DNS:")]
    info["sanip"] = [s[11:] for s in sans if s.startswith("IP Address:")]
    m = re.search(r"(?:^|,)CN=((?:[^,\\]|\\.)*)", info["subject"])
    info["cn"] = m.group(1).replace("\\", "") if m else ""
    info["is_ca"] = bool(re.search(r"CA:TRUE", text))
    m = re.search(r"Public-Key: \((\d+) bit\)", text)
    info["keysize"] = int(m.group(1)) if m else 0
    info["keytype"] = "ECC" if "id-ecPublicKey" in text else "RSA"
    m = re.search(r"Signature Algorithm: (\S+)", text)
    info["sigalg"] = m.group(1) if m else ""
    info["selfsigned"] = info["subject"] == info["issuer"]
    with CERT_CACHE_LOCK:
        CERT_CACHE[h] = info
    return info


def parse_asn1_time(s):
    return datetime.datetime.strptime(s, "%b %d %H:%M:%S %Y GMT").replace(
        tzinfo=datetime.timezone.utc)


def nitro_date(dt):
    # OpenSSL's ASN1_TIME_print style, which the CLI shows (ref §5.1):
    # 'Aug  7 14:58:18 2004 GMT' (day padded with a space).
    return "%s %2d %s GMT" % (dt.strftime("%b"), dt.day, dt.strftime("%H:%M:%S %Y"))


def key_pubkey(path, passphrase=None, form="PEM"):
    """Public key PEM of a private key file; NitroError('privkey') when the
    key cannot be read (encrypted without passphrase, garbage)."""
    args = ["pkey", "-in", path, "-inform", form, "-pubout", "-passin",
            "pass:" + (passphrase or "")]
    try:
        return simlib.openssl(*args).decode().strip()
    except simlib.OpensslError:
        raise NitroError("privkey")


def name_matches(pattern, host):
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        rest = pattern[2:]
        return "." in host and host.split(".", 1)[1] == rest
    return pattern == host


# ------------------------------------------------- responder expressions

TOKEN_RE = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>&&|\|\||[!()+.,])|'
                      r'(?P<id>[A-Za-z_][A-Za-z0-9_]*))')


def tokenize(s):
    pos, out = 0, []
    s = s.rstrip()
    while pos < len(s):
        m = TOKEN_RE.match(s, pos)
        if not m or m.end() == pos:
            raise ValueError("unexpected text at %d" % pos)
        pos = m.end()
        if m.group("str") is not None:
            out.append(("str", unescape(m.group("str")[1:-1])))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            out.append(("id", m.group("id")))
    return out


def unescape(s):
    rep = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(rep.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_target(expr):
    """A respondwith target: string literals joined by '+'."""
    toks = tokenize(expr)
    if not toks:
        raise ValueError("empty")
    parts, want_str = [], True
    for kind, val in toks:
        if want_str and kind == "str":
            parts.append(val)
        elif not want_str and (kind, val) == ("op", "+"):
            pass
        else:
            raise ValueError("unsupported target syntax")
        want_str = not want_str
    if want_str:
        raise ValueError("dangling +")
    return "".join(parts)


SUBJECTS = {
    ("HTTP", "REQ", "URL"): lambda r: r["url"],
    ("HTTP", "REQ", "URL", "PATH"): lambda r: r["url"].split("?", 1)[0],
    ("HTTP", "REQ", "URL", "PATH_AND_QUERY"): lambda r: r["url"],
    ("HTTP", "REQ", "HOSTNAME"): lambda r: r["host"],
}
OPS = {
    "EQ": lambda a, b: a == b,
    "CONTAINS": lambda a, b: b in a,
    "STARTSWITH": lambda a, b: a.startswith(b),
    "ENDSWITH": lambda a, b: a.endswith(b),
}


def parse_rule(expr):
    """Compiles the subset of PI expressions used for ACME (ref §8.1) into a
    predicate over {'url','host'}; ValueError on anything else."""
    toks = tokenize(expr)
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else (None, None)

    def take(kind=None, val=None):
        t = peek()
        if t[0] is None or (kind and t[0] != kind) or (val and t[1] != val):
            raise ValueError("syntax error near token %d" % pos[0])
        pos[0] += 1
        return t[1]

    def atom():
        t = peek()
        if t == ("op", "!"):
            take()
            f = atom()
            return lambda r: not f(r)
        if t == ("op", "("):
            take()
            f = orexpr()
            take("op", ")")
            return f
        first = take("id")
        if first.lower() in ("true", "false") and peek() != ("op", "."):
            v = first.lower() == "true"
            return lambda r: v
        chain = [first.upper()]
        lower = False
        while True:
            take("op", ".")
            name = take("id").upper()
            if name in OPS:
                take("op", "(")
                arg = take("str")
                take("op", ")")
                sub = SUBJECTS.get(tuple(chain))
                if sub is None:
                    raise ValueError("unsupported expression " + ".".join(chain))
                op = OPS[name]
                if lower:
                    return lambda r: op(sub(r).lower(), arg.lower())
                return lambda r: op(sub(r), arg)
            if name == "SET_TEXT_MODE":
                take("op", "(")
                mode = take("id").upper()
                take("op", ")")
                lower = mode == "IGNORECASE"
                continue
            if name == "TO_LOWER":
                lower = True
                continue
            chain.append(name)

    def andexpr():
        f = atom()
        while peek() == ("op", "&&"):
            take()
            g, f0 = atom(), f
            f = (lambda a, b: lambda r: a(r) and b(r))(f0, g)
        return f

    def orexpr():
        f = andexpr()
        while peek() == ("op", "||"):
            take()
            g, f0 = andexpr(), f
            f = (lambda a, b: lambda r: a(r) or b(r))(f0, g)
        return f

    fn = orexpr()
    if pos[0] != len(toks):
        raise ValueError("trailing tokens")
    return fn


# ---------------------------------------------------------------- state

SSL_DIR = "/nsconfig/ssl"
FS_ROOTS = ("/nsconfig", "/var/tmp", "/var/netscaler/ssl")


class State:
    def __init__(self, args):
        self.lock = threading.RLock()
        self.dir = os.path.abspath(args.dir)
        self.version = args.version
        self.variant = args.nitro_variant
        self.users = {args.user: args.password}
        self.ha = args.ha
        self.session_cap = args.session_timeout
        self.certkeys = {}       # name -> dict
        self.bindings = []       # dicts: vservername, certkeyname, snicert, ca
        self.vservers = {}       # name -> dict(name, kind, servicetype, snienable, port)
        self.ractions = {}
        self.rpolicies = {}
        self.rglobal = []        # dicts: policyname, priority, type, gotopriorityexpression
        self.rvsbind = []        # dicts: kind, name, policyname, priority, ...
        self.counters = {"saves": 0, "hafiles_sync": 0, "writes": {}, "writes_ok": {},
                         "logins": 0, "logouts": 0}
        self.sessions = {}       # unit -> {sid: {user, timeout, last}}
        self.issued_sids = []    # every session id ever issued (test-only, for leak checks)
        self.faults = []
        self.default_profile = "ENABLED" if args.default_profile else "DISABLED"
        self.sslprofiles = {n: {"name": n, "snienable": "DISABLED"}
                            for n in (DEFAULT_FRONTEND, DEFAULT_BACKEND)}
        self.features = {"LB", "CS", "SSL", "REWRITE"}
        if not args.responder_off:
            self.features.add("RESPONDER")
        self.saved = None        # config snapshot at the last save
        self.gaps = []
        self.prop_failures = []
        self.generation = 0
        self.last_change = time.time()
        self.last_save = None
        self.log = simlib.RequestLog()
        for r in FS_ROOTS:
            os.makedirs(self.host_path(r), exist_ok=True)
        os.makedirs(self.host_path(SSL_DIR), exist_ok=True)
        self.run_dir = os.path.join(self.dir, "run")
        os.makedirs(self.run_dir, exist_ok=True)
        # the secondary's own /nsconfig/ssl (HA file sync copies into it)
        self.sec_ssl = os.path.join(self.dir, "secondary", SSL_DIR.lstrip("/"))
        if self.ha:
            os.makedirs(self.sec_ssl, exist_ok=True)

    def snienable(self, vs):
        """SNI as in effect: the bound profile's when default profiles are on."""
        if self.default_profile == "ENABLED" and vs.get("sslprofile"):
            return self.sslprofiles[vs["sslprofile"]]["snienable"]
        return vs["snienable"]

    def config(self):
        """The running configuration (files are not part of it), canonical."""
        cks = {n: {k: c.get(k) for k in ("cert", "key", "linkcertkeyname", "inform",
                                         "expirymonitor", "notificationperiod")}
               for n, c in self.certkeys.items()}
        vss = {n: {"snienable": v["snienable"], "ssl": v.get("ssl", {}),
                   "sslprofile": v.get("sslprofile")} for n, v in self.vservers.items()}
        doc = {"certkeys": cks, "bindings": sorted(json.dumps(b, sort_keys=True)
                                                   for b in self.bindings),
               "vservers": vss, "sslprofiles": self.sslprofiles,
               "defaultprofile": self.default_profile, "features": sorted(self.features),
               "ractions": {n: {k: v for k, v in a.items()
                                if not k.startswith("_") and k != "hits"}
                            for n, a in self.ractions.items()},
               "rpolicies": {n: {k: v for k, v in p.items() if not k.startswith("_")}
                             for n, p in self.rpolicies.items()},
               "rglobal": sorted(json.dumps(b, sort_keys=True) for b in self.rglobal),
               "rvsbind": sorted(json.dumps(b, sort_keys=True) for b in self.rvsbind)}
        return json.dumps(doc, sort_keys=True, default=str)

    def unsaved(self):
        return self.saved is not None and self.config() != self.saved

    def serving(self):
        """SSL vservers that present a server certificate now."""
        out = set()
        for b in self.bindings:
            ck = self.certkeys.get(b["certkeyname"])
            vs = self.vservers.get(b["vservername"])
            if b["ca"] or ck is None or not ck.get("key") or vs is None:
                continue
            if not b["snicert"] or self.snienable(vs) == "ENABLED":
                out.add(vs["name"])
        return out

    def sec_missing(self):
        """SSL files of the primary that the secondary lacks or holds with
        other content (files only on the secondary do not count: the real
        sync never deletes them, CTX138748)."""
        if not self.ha:
            return []
        prim = self.host_path(SSL_DIR)
        out = []
        for dp, _, fns in os.walk(prim):
            for f in fns:
                rel = os.path.relpath(os.path.join(dp, f), prim)
                sp = os.path.join(self.sec_ssl, rel)
                with open(os.path.join(dp, f), "rb") as a:
                    data = a.read()
                if not os.path.isfile(sp) or open(sp, "rb").read() != data:
                    out.append(SSL_DIR + "/" + rel)
        return sorted(out)

    def sec_has(self, vpath):
        vpath = os.path.normpath(vpath)
        if vpath.startswith("/flash/"):
            vpath = vpath[len("/flash"):]
        if not vpath.startswith(SSL_DIR + "/"):
            return True  # only /nsconfig/ssl is modelled per unit
        return os.path.isfile(os.path.join(self.sec_ssl, vpath[len(SSL_DIR) + 1:]))

    def changed(self):
        self.generation += 1
        self.last_change = time.time()

    def certkey_name_max(self):
        # ref §5.1/§10: 31 chars on 13.x, relaxed on 14.1 (127 assumed).
        return 127 if self.version_tuple() >= (14, 1) else 31

    def version_tuple(self):
        try:
            return tuple(int(x) for x in self.version.split(".")[:2])
        except ValueError:
            return (13, 1)

    # -- simulated filesystem: appliance path -> DIR + path
    def host_path(self, vpath):
        vpath = os.path.normpath("/" + vpath.lstrip("/"))
        if vpath.startswith("/flash/nsconfig"):
            vpath = vpath[len("/flash"):]
        if not any(vpath == r or vpath.startswith(r + "/") for r in FS_ROOTS):
            raise NitroError("no_file", vpath)
        return os.path.join(self.dir, vpath.lstrip("/"))

    def file_ref(self, name, field):
        """A cert/key/keyfile argument: a bare name lives in /nsconfig/ssl."""
        if not isinstance(name, str) or not name:
            raise NitroError("invalid_arg", field)
        vpath = name if name.startswith("/") else SSL_DIR + "/" + name
        return os.path.normpath(vpath), self.host_path(vpath)


# ------------------------------------------------------- field helpers

def need(obj, *names):
    for n in names:
        if obj.get(n) in (None, ""):
            raise NitroError("missing", n)


def check_fields(obj, allowed):
    for k in obj:
        if k not in allowed:
            raise NitroError("invalid_arg", k)


def as_bool(obj, k, default=False):
    v = obj.get(k, default)
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false", "yes", "no"):
        return v.lower() in ("true", "yes")
    raise NitroError("invalid_arg", k)


def as_int(obj, k, lo, hi, default=None):
    v = obj.get(k, default)
    if isinstance(v, bool):
        raise NitroError("invalid_arg", k)
    if isinstance(v, str) and v.isdigit():
        v = int(v)
    if not isinstance(v, int) or not lo <= v <= hi:
        raise NitroError("invalid_arg", "%s, value not in range %d..%d" % (k, lo, hi))
    return v


def as_enum(obj, k, choices, default=None):
    v = obj.get(k, default)
    if v not in choices:
        raise NitroError("invalid_arg", k)
    return v


def as_str(obj, k, maxlen=None, default=None):
    v = obj.get(k, default)
    if v is None:
        return None
    if not isinstance(v, str):
        raise NitroError("invalid_arg", k)
    if maxlen and len(v) > maxlen:
        raise NitroError("invalid_arg", "%s, value of length greater than %d" % (k, maxlen))
    return v


def list_result(resource, items, q, singleton=False):
    """Applies filter=, attrs=, count= to a GET listing (ref §1.5)."""
    if "filter" in q:
        flt = simlib.parse_kv_list(q["filter"])
        def keep(it):
            for k, v in flt.items():
                have = it.get(k)
                have = "" if have is None else (str(have).lower() if isinstance(have, bool) else str(have))
                if len(v) > 1 and v.startswith("/") and v.endswith("/"):
                    if not re.search(v[1:-1], have):
                        return False
                elif have.lower() != v.lower():
                    return False
            return True
        items = [it for it in items if keep(it)]
    if q.get("count", "").lower() == "yes":
        return ok_body(**{resource: [{"__count": len(items)}]})
    if "attrs" in q:
        attrs = [urllib.parse.unquote(a) for a in q["attrs"].split(",")]
        items = [{k: v for k, v in it.items() if k in attrs} for it in items]
    if not items:
        return ok_body()
    if singleton:
        return ok_body(**{resource: items[0]})
    return ok_body(**{resource: items})


# ------------------------------------------------------------ the NITRO API

class Nitro:
    """Resource handlers; every method runs with state.lock held."""

    def __init__(self, st):
        self.st = st

    # ---- ssl keys and CSRs
    def _enc_args(self, o, kind):
        enc = [c for c in ("des", "des3", "aes256") if as_bool(o, c)]
        if len(enc) > 1:
            raise NitroError("invalid_arg", ",".join(enc))
        pw = as_str(o, "password", 31)
        if enc and not pw:
            raise NitroError("missing", "password")
        if pw and len(pw) < 1:
            raise NitroError("invalid_arg", "password")
        if not enc:
            return []
        cipher = {"des": "-des", "des3": "-des3", "aes256": "-aes256"}[enc[0]]
        return [cipher, "-passout", "pass:" + pw]

    def _write_key(self, o, genargs, conv):
        keyfile = as_str(o, "keyfile", 63)
        form = as_enum(o, "keyform", ("PEM", "DER"), "PEM")
        vpath, hpath = self.st.file_ref(keyfile, "keyfile")
        if os.path.exists(hpath):
            raise NitroError("file_exists")
        if not os.path.isdir(os.path.dirname(hpath)):
            raise NitroError("no_file", os.path.dirname(vpath))
        enc = self._enc_args(o, conv)
        pkcs8 = as_bool(o, "pkcs8")
        simlib.Pace.make_key()
        raw = simlib.openssl("genpkey", *genargs)
        if form == "DER":
            if enc:
                raise NitroError("invalid_arg", "keyform")
            out = simlib.openssl(conv if not pkcs8 else "pkey", "-outform", "DER", input=raw)
        elif pkcs8:
            out = simlib.openssl("pkey", *enc, input=raw)
        else:
            extra = ["-traditional"] if conv == "rsa" else []
            out = simlib.openssl(conv, *extra, *enc, input=raw)
        tmp = hpath + ".tmp"
        with open(tmp, "wb") as f:
            f.write(out)
        os.chmod(tmp, 0o600)
        os.replace(tmp, hpath)
        self.st.changed()

    def sslrsakey(self, m, name, q, action, o):
        if m != "POST" or action != "create":
            raise NitroError("method")
        check_fields(o, {"keyfile", "bits", "exponent", "keyform", "des", "des3",
                         "aes256", "password", "pkcs8"})
        need(o, "keyfile", "bits")
        bits = as_int(o, "bits", 512, 4096)
        exp = as_enum(o, "exponent", ("3", "F4"), "F4")
        self._write_key(o, ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:%d" % bits,
                            "-pkeyopt", "rsa_keygen_pubexp:%s" % ("3" if exp == "3" else "65537")],
                        "rsa")
        return 200, None

    def sslecdsakey(self, m, name, q, action, o):
        if m != "POST" or action != "create":
            raise NitroError("method")
        check_fields(o, {"keyfile", "curve", "keyform", "des", "des3", "aes256",
                         "password", "pkcs8"})
        need(o, "keyfile", "curve")
        curve = as_enum(o, "curve", ("P_256", "P_384"))  # ref §2: only these two
        self._write_key(o, ["-algorithm", "EC", "-pkeyopt",
                            "ec_paramgen_curve:" + curve.replace("_", "-"),
                            "-pkeyopt", "ec_param_enc:named_curve"], "ec")
        return 200, None

    def sslcertreq(self, m, name, q, action, o):
        if m != "POST" or action != "create":
            raise NitroError("method")
        check_fields(o, {"reqfile", "keyfile", "subjectaltname", "fipskeyname", "keyform",
                         "pempassphrase", "countryname", "statename", "organizationname",
                         "organizationunitname", "localityname", "commonname",
                         "emailaddress", "challengepassword", "companyname", "digestmethod"})
        need(o, "reqfile")
        if o.get("fipskeyname"):
            raise NitroError("unsupported", "fipskeyname")
        need(o, "keyfile", "countryname", "statename", "organizationname")
        reqfile = as_str(o, "reqfile", 63)
        keyfile = as_str(o, "keyfile", 63)
        c = as_str(o, "countryname")
        if len(c) != 2:
            raise NitroError("invalid_arg", "countryname")
        cp = as_str(o, "challengepassword")
        if cp is not None and len(cp) < 4:
            raise NitroError("invalid_arg", "challengepassword")
        digest = as_enum(o, "digestmethod", ("SHA1", "SHA256"), "SHA256")
        form = as_enum(o, "keyform", ("PEM", "DER"), "PEM")
        kv, kh = self.st.file_ref(keyfile, "keyfile")
        if not os.path.isfile(kh):
            raise NitroError("no_file", kv)
        rv, rh = self.st.file_ref(reqfile, "reqfile")
        if os.path.exists(rh):
            raise NitroError("file_exists")
        dn = []
        for field, attr, maxlen in (("countryname", "C", 2), ("statename", "ST", 128),
                                    ("localityname", "L", 128),
                                    ("organizationname", "O", 64),
                                    ("organizationunitname", "OU", 64),
                                    ("commonname", "CN", 64),
                                    ("emailaddress", "emailAddress", 64)):
            v = as_str(o, field, maxlen)
            if v:
                dn.append("/%s=%s" % (attr, re.sub(r"([/+\\])", r"\\\1", v)))
        san = as_str(o, "subjectaltname")
        args = ["req", "-new", "-key", kh, "-keyform", form, "-out", rh, "-utf8",
                "-subj", "".join(dn), "-" + digest.lower(),
                "-passin", "pass:" + (o.get("pempassphrase") or "")]
        if san:
            items = san.split()
            for it in items:
                t, _, v = it.partition(":")
                if t not in ("DNS", "IP", "email", "URI") or not v:
                    raise NitroError("invalid_arg", "subjectaltname")
            args += ["-addext", "subjectAltName=" + ",".join(items)]
        cfg = None
        try:
            attrs = []
            if cp:
                attrs.append("challengePassword=" + cp)
            if o.get("companyname"):
                attrs.append("unstructuredName=" + as_str(o, "companyname", 128))
            with tempfile.NamedTemporaryFile("w", dir=self.st.run_dir, delete=False,
                                             suffix=".cnf") as f:
                cfg = f.name
                f.write("[req]\ndistinguished_name=dn\n")
                if attrs:
                    f.write("attributes=attrs\n")
                f.write("[dn]\n[attrs]\n")
                for a in attrs:
                    f.write(a.replace("\\", "\\\\").replace("$", "\\$") + "\n")
            try:
                simlib.openssl(*args, "-config", cfg)
            except simlib.OpensslError:
                # Key unreadable (encrypted without pempassphrase, garbage).
                raise NitroError("privkey")
        finally:
            if cfg:
                os.unlink(cfg)
        self.st.changed()
        return 200, None

    # ---- systemfile (ref §4)
    def _loc(self, loc, required=True):
        if loc in (None, ""):
            if required:
                raise NitroError("missing", "filelocation")
            loc = SSL_DIR
        if not isinstance(loc, str) or len(loc) > 127:
            raise NitroError("invalid_arg", "filelocation")
        hp = self.st.host_path(loc)
        if not os.path.isdir(hp):
            raise NitroError("no_file", loc)
        return os.path.normpath(loc), hp

    @staticmethod
    def _check_filename(fn):
        if not isinstance(fn, str) or not fn or "/" in fn or fn in (".", ".."):
            raise NitroError("invalid_arg", "filename")
        if len(fn) > 63:
            raise NitroError("invalid_arg", "filename, value of length greater than 63")

    def systemfile(self, m, name, q, action, o, unit=0):
        args = simlib.parse_kv_list(q.get("args", ""))
        if m == "POST" and not action:
            check_fields(o, {"filename", "filecontent", "filelocation", "fileencoding"})
            need(o, "filename", "filecontent", "filelocation")
            self._check_filename(o["filename"])
            as_enum(o, "fileencoding", ("BASE64",), "BASE64")
            lv, lh = self._loc(o["filelocation"])
            try:
                data = base64.b64decode(o["filecontent"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise NitroError("invalid_arg", "filecontent")
            path = os.path.join(lh, o["filename"])
            if os.path.exists(path):
                raise NitroError("file_exists")
            with open(path, "wb") as f:
                f.write(data)
            self.st.changed()
            return 201, None
        if m == "GET":
            lv, lh = self._loc(args.get("filelocation"))
            if unit == 1 and lv == SSL_DIR:
                lh = self.st.sec_ssl  # the secondary's own files
            fn = args.get("filename") or name
            if fn:
                self._check_filename(fn)
                p = os.path.join(lh, fn)
                if not os.path.isfile(p):
                    raise NitroError("not_found", "filename, " + fn)
                with open(p, "rb") as f:
                    content = base64.b64encode(f.read()).decode()
                return 200, ok_body(systemfile=[dict(self._stat(lv, lh, fn),
                                                     filecontent=content,
                                                     fileencoding="BASE64")])
            items = [self._stat(lv, lh, e) for e in sorted(os.listdir(lh))
                     if not e.startswith(".")]
            return 200, list_result("systemfile", items, q)
        if m == "DELETE":
            fn = name or args.get("filename")
            if not fn:
                raise NitroError("missing", "filename")
            self._check_filename(fn)
            lv, lh = self._loc(args.get("filelocation"))
            p = os.path.join(lh, fn)
            if not os.path.isfile(p):
                raise NitroError("not_found", "filename, " + fn)
            os.unlink(p)
            self.st.changed()
            return 200, ok_body()
        raise NitroError("method")

    @staticmethod
    def _stat(lv, lh, fn):
        s = os.stat(os.path.join(lh, fn))
        d = {"filename": fn, "filelocation": lv,
             "filesize": str(s.st_size),
             "filemodifiedtime": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(s.st_mtime)),
             "fileaccesstime": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(s.st_atime))}
        if os.path.isdir(os.path.join(lh, fn)):
            d["filemode"] = "DIRECTORY"
        return d

    # ---- sslcertkey (ref §5)
    def _load_pair(self, o, ck=None, update=False):
        """Validates cert (+ key) files for add/update; returns a dict of
        the fields to store."""
        inform = as_enum(o, "inform", ("PEM", "DER", "PFX"), (ck or {}).get("inform", "PEM"))
        if inform == "PFX":
            raise NitroError("unsupported", "inform PFX")
        if o.get("fipskey") or o.get("hsmkey"):
            raise NitroError("unsupported", "fipskey/hsmkey")
        cert = as_str(o, "cert", 255)
        cv, chp = self.st.file_ref(cert, "cert")
        if not os.path.isfile(chp):
            raise NitroError("no_file", cv)
        with open(chp, "rb") as f:
            info = cert_info(f.read())
        key = o.get("key")
        if key is None and update and ck:
            key = ck.get("key")
        res = {"cert": cert, "inform": inform, "info": info, "key": None,
               "passplain": o.get("passplain")}
        as_bool(o, "password")
        if key:
            key = as_str(o, "key", 255) if "key" in o else key
            kv, khp = self.st.file_ref(key, "key")
            if not os.path.isfile(khp):
                raise NitroError("no_file", kv)
            pw = res["passplain"]
            if pw is None and update and ck and "key" not in o:
                pw = ck.get("passplain")
                res["passplain"] = pw
            pub = key_pubkey(khp, pw, "DER" if inform == "DER" else "PEM")
            if pub != info["pubkey"]:
                raise NitroError("bad_cert")
            res["key"] = key
        return res

    def _propagate(self, what, pair):
        """A certkey command propagates to the secondary, which loads the
        files from its own /nsconfig/ssl (ref §7.3 risk)."""
        if not self.st.ha:
            return
        missing = [f for f in (pair["cert"], pair.get("key"))
                   if f and not self.st.sec_has(f if f.startswith("/") else SSL_DIR + "/" + f)]
        if missing:
            self.st.prop_failures.append({"command": what, "missing": missing})

    def _ck_name(self, o):
        n = as_str(o, "certkey")
        if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_#. :@=-]*$", n):
            raise NitroError("invalid_arg", "certkey")
        mx = self.st.certkey_name_max()
        if len(n) > mx:
            raise NitroError("invalid_arg", "certkey, value of length greater than %d" % mx)
        return n

    def _ck(self, n):
        ck = self.st.certkeys.get(n)
        if ck is None:
            raise NitroError("not_found", "certkey, %s" % n)
        return ck

    def _ck_view(self, ck):
        i = ck["info"]
        now = datetime.datetime.now(datetime.timezone.utc)
        days = int((i["notafter"] - now).total_seconds() // 86400)
        status = ("Expired" if now > i["notafter"] else
                  "Not yet valid" if now < i["notbefore"] else "Valid")
        ctype = ("ROOT_CERT" if i["is_ca"] and i["selfsigned"] else
                 "INTM_CERT" if i["is_ca"] else "SRVR_CERT")
        d = {"certkey": ck["certkey"], "cert": ck["cert"], "inform": ck["inform"],
             "serial": i["serial"], "issuer": i["issuer"], "subject": i["subject"],
             "clientcertnotbefore": nitro_date(i["notbefore"]),
             "clientcertnotafter": nitro_date(i["notafter"]),
             "daystoexpiration": max(days, 0), "status": status,
             "signaturealg": i["sigalg"], "certificatetype": ctype,
             "publickey": i["keytype"] if i["keytype"] == "RSA" else "ECC",
             "publickeysize": i["keysize"], "version": 3,
             "expirymonitor": ck.get("expirymonitor", "DISABLED"),
             "password": bool(ck.get("passplain"))}
        if ck.get("key"):
            d["key"] = ck["key"]
        if ck.get("notificationperiod") is not None:
            d["notificationperiod"] = ck["notificationperiod"]
        if ck.get("linkcertkeyname"):
            d["linkcertkeyname"] = ck["linkcertkeyname"]
        if i["sandns"]:
            d["sandns"] = ", ".join(i["sandns"])
        if i["sanip"]:
            d["sanipadd"] = ", ".join(i["sanip"])
        return d

    def _issued_by(self, leaf, ca):
        li, ci = leaf["info"], ca["info"]
        if li["issuer"] != ci["subject"]:
            return False
        with tempfile.TemporaryDirectory(dir=self.st.run_dir) as td:
            lp, cp = os.path.join(td, "l.pem"), os.path.join(td, "c.pem")
            open(lp, "w").write(li["pem"])
            open(cp, "w").write(ci["pem"])
            try:
                simlib.openssl("verify", "-no_check_time", "-partial_chain",
                               "-CAfile", cp, lp)
            except simlib.OpensslError:
                return False
        return True

    def sslcertkey(self, m, name, q, action, o):
        st = self.st
        if m == "GET":
            if name:
                return 200, ok_body(sslcertkey=[self._ck_view(self._ck(name))])
            return 200, list_result("sslcertkey",
                                    [self._ck_view(c) for c in st.certkeys.values()], q)
        if m == "POST" and not action:
            allowed = {"certkey", "cert", "key", "password", "fipskey", "hsmkey", "inform",
                       "passplain", "expirymonitor", "notificationperiod", "bundle"}
            if st.version_tuple() >= (14, 1):
                allowed.add("deletecertkeyfilesonremoval")
            check_fields(o, allowed)
            need(o, "certkey", "cert")
            n = self._ck_name(o)
            if n in st.certkeys:
                raise NitroError("exists")
            if as_enum(o, "bundle", ("YES", "NO"), "NO") == "YES":
                raise NitroError("unsupported", "bundle")
            em = as_enum(o, "expirymonitor", ("ENABLED", "DISABLED"), "DISABLED")
            np = as_int(o, "notificationperiod", 10, 100) if "notificationperiod" in o else None
            pair = self._load_pair(o)
            st.certkeys[n] = dict(pair, certkey=n, expirymonitor=em, notificationperiod=np,
                                  linkcertkeyname=None)
            self._propagate("add ssl certKey " + n, pair)
            st.changed()
            return 201, None
        if m == "PUT":
            allowed = {"certkey", "expirymonitor", "notificationperiod"}
            if st.version_tuple() >= (14, 1):
                allowed.add("deletecertkeyfilesonremoval")
            check_fields(o, allowed)
            need(o, "certkey")
            ck = self._ck(o["certkey"])
            if "expirymonitor" in o:
                ck["expirymonitor"] = as_enum(o, "expirymonitor", ("ENABLED", "DISABLED"))
            if "notificationperiod" in o:
                ck["notificationperiod"] = as_int(o, "notificationperiod", 10, 100)
            st.changed()
            return 200, None
        if m == "POST" and action == "update":
            check_fields(o, {"certkey", "cert", "key", "password", "fipskey", "hsmkey",
                             "inform", "passplain", "nodomaincheck"})
            need(o, "certkey", "cert")
            ck = self._ck(o["certkey"])
            pair = self._load_pair(o, ck, update=True)
            if ck.get("key") and not pair["key"]:
                raise NitroError("missing", "key")
            old, new = ck["info"], pair["info"]
            if not as_bool(o, "nodomaincheck") and old["cn"].lower() != new["cn"].lower():
                raise NitroError("domain")
            if ck.get("linkcertkeyname"):
                # SIM CHOICE (ref §12 open): an update that would leave the
                # certkey linked to a CA that did not issue it is refused.
                ca = st.certkeys[ck["linkcertkeyname"]]
                if not self._issued_by({"info": new}, ca):
                    raise NitroError("not_issuer", ck["certkey"])
            # Certkeys linked to this one must still be issued by it.
            for other in st.certkeys.values():
                if other.get("linkcertkeyname") == ck["certkey"]:
                    if not self._issued_by(other, {"info": new}):
                        raise NitroError("not_issuer", other["certkey"])
            ck.update(pair)
            self._propagate("update ssl certKey " + ck["certkey"], pair)
            st.changed()
            return 200, None
        if m == "POST" and action == "link":
            check_fields(o, {"certkey", "linkcertkeyname"})
            need(o, "certkey", "linkcertkeyname")
            ck = self._ck(o["certkey"])
            ca = self._ck(o["linkcertkeyname"])
            if ck.get("linkcertkeyname"):
                raise NitroError("linked", ck["certkey"])
            if ca is ck or not self._issued_by(ck, ca):
                raise NitroError("not_issuer", ck["certkey"])
            ck["linkcertkeyname"] = ca["certkey"]
            st.changed()
            return 200, None
        if m == "POST" and action == "unlink":
            check_fields(o, {"certkey"})
            need(o, "certkey")
            ck = self._ck(o["certkey"])
            if not ck.get("linkcertkeyname"):
                raise NitroError("not_linked", ck["certkey"])
            ck["linkcertkeyname"] = None
            st.changed()
            return 200, None
        if m == "POST" and action == "clear":
            check_fields(o, {"certkey", "ocspstaplingcache"})
            need(o, "certkey")
            self._ck(o["certkey"])
            return 200, None
        if m == "DELETE":
            args = simlib.parse_kv_list(q.get("args", ""))
            for k in args:
                if k not in ("deletefromdevice", "deletecertkeyfilesonremoval"):
                    raise NitroError("invalid_arg", k)
            if not name:
                raise NitroError("missing", "certkey")
            ck = self._ck(name)
            bound = [b for b in st.bindings if b["certkeyname"] == name]
            linked_to = [c for c in st.certkeys.values() if c.get("linkcertkeyname") == name]
            if bound or linked_to or ck.get("linkcertkeyname"):
                raise NitroError("in_use", name)
            del st.certkeys[name]
            if args.get("deletefromdevice", "").lower() == "true":
                for f in (ck["cert"], ck.get("key")):
                    if f:
                        p = st.file_ref(f, "cert")[1]
                        if os.path.isfile(p):
                            os.unlink(p)
            st.changed()
            return 200, ok_body()
        if m == "POST" and action:
            raise NitroError("no_action", action)
        raise NitroError("method")

    # ---- vservers and bindings (ref §6)
    def _ssl_vs(self, n):
        vs = self.st.vservers.get(n)
        if vs is None or vs["servicetype"] != "SSL":
            raise NitroError("not_found", "vservername, %s" % n)
        return vs

    def _binding_view(self, b):
        return {"vservername": b["vservername"], "certkeyname": b["certkeyname"],
                "snicert": b["snicert"], "ca": b["ca"],
                "crlcheck": b.get("crlcheck"), "ocspcheck": b.get("ocspcheck"),
                "skipcaname": b.get("skipcaname", False)}

    def sslvserver_sslcertkey_binding(self, m, name, q, action, o):
        st = self.st
        if m in ("PUT", "POST") and not action:
            check_fields(o, {"vservername", "certkeyname", "ca", "crlcheck", "ocspcheck",
                             "skipcaname", "snicert"})
            need(o, "vservername", "certkeyname")
            vs = self._ssl_vs(o["vservername"])
            ck = self._ck(o["certkeyname"])
            sni, ca = as_bool(o, "snicert"), as_bool(o, "ca")
            b = {"vservername": vs["name"], "certkeyname": ck["certkey"], "snicert": sni,
                 "ca": ca, "skipcaname": as_bool(o, "skipcaname")}
            for k in ("crlcheck", "ocspcheck"):
                if k in o:
                    b[k] = as_enum(o, k, ("Mandatory", "Optional"))
            mine = [x for x in st.bindings if x["vservername"] == vs["name"]]
            for x in mine:
                if (x["certkeyname"], x["snicert"], x["ca"]) == (ck["certkey"], sni, ca):
                    raise NitroError("exists")
            if not ca:
                if not ck.get("key"):
                    raise NitroError("no_key", ck["certkey"])
                if sni:
                    if st.snienable(vs) != "ENABLED":
                        raise NitroError("sni_off", vs["name"])
                    names = set(n.lower() for n in ck["info"]["sandns"] or [ck["info"]["cn"]])
                    for x in mine:
                        if x["snicert"]:
                            oi = st.certkeys[x["certkeyname"]]["info"]
                            if names & set(n.lower() for n in oi["sandns"] or [oi["cn"]]):
                                raise NitroError("dup_sni")
                elif any(not x["snicert"] and not x["ca"] for x in mine):
                    raise NitroError("one_cert", vs["name"])
            st.bindings.append(b)
            st.changed()
            return 201, None
        if m == "GET":
            if not name:
                if q.get("bulkbindings", "").lower() != "yes":
                    raise NitroError("missing", "vservername")
                items = [self._binding_view(b) for b in st.bindings]
            else:
                self._ssl_vs(name)
                items = [self._binding_view(b) for b in st.bindings if b["vservername"] == name]
            return 200, list_result("sslvserver_sslcertkey_binding", items, q)
        if m == "DELETE":
            args = simlib.parse_kv_list(q.get("args", ""))
            for k in args:
                if k not in ("certkeyname", "snicert", "ca", "crlcheck", "ocspcheck"):
                    raise NitroError("invalid_arg", k)
            if not name:
                raise NitroError("missing", "vservername")
            self._ssl_vs(name)
            if not args.get("certkeyname"):
                raise NitroError("missing", "certkeyname")
            sni = as_bool(args, "snicert")
            ca = as_bool(args, "ca")
            for b in st.bindings:
                if (b["vservername"], b["certkeyname"], b["snicert"], b["ca"]) == \
                        (name, args["certkeyname"], sni, ca):
                    st.bindings.remove(b)
                    st.changed()
                    return 200, ok_body()
            raise NitroError("not_found", "certkeyname, %s" % args["certkeyname"])
        raise NitroError("method")

    def sslcertkey_sslvserver_binding(self, m, name, q, action, o):
        if m != "GET":
            raise NitroError("method")
        if not name:
            raise NitroError("missing", "certkey")
        self._ck(name)
        items = [{"certkey": name, "servername": b["vservername"],
                  "vservername": b["vservername"], "vserver": True, "ca": b["ca"],
                  "snicert": b["snicert"]}
                 for b in self.st.bindings if b["certkeyname"] == name]
        return 200, list_result("sslcertkey_sslvserver_binding", items, q)

    def sslvserver(self, m, name, q, action, o):
        st = self.st
        if m == "GET":
            if name:
                vs = self._ssl_vs(name)
                return 200, ok_body(sslvserver=[self._sslvs_view(vs)])
            items = [self._sslvs_view(v) for v in st.vservers.values()
                     if v["servicetype"] == "SSL"]
            return 200, list_result("sslvserver", items, q)
        if m == "PUT":
            check_fields(o, {"vservername", "snienable", "defaultsni", "sslprofile",
                             "sessreuse", "sesstimeout", "clientauth", "sendclosenotify",
                             "ssl3", "tls1", "tls11", "tls12", "tls13", "hsts", "maxage"})
            need(o, "vservername")
            vs = self._ssl_vs(o["vservername"])
            if st.default_profile == "ENABLED" and set(o) - {"vservername", "sslprofile"}:
                raise NitroError("default_profile")
            if "sslprofile" in o and o["sslprofile"] not in st.sslprofiles:
                raise NitroError("not_found", "sslprofile, %s" % o["sslprofile"])
            for k in o:
                if k in ("vservername",):
                    continue
                if k in ("snienable", "sessreuse", "clientauth", "sendclosenotify",
                         "ssl3", "tls1", "tls11", "tls12", "tls13", "hsts"):
                    as_enum(o, k, ("ENABLED", "DISABLED", "YES", "NO"))
                if k == "sslprofile":
                    vs["sslprofile"] = o[k]
                    continue
                vs.setdefault("ssl", {})[k] = o[k]
            if "snienable" in o:
                vs["snienable"] = as_enum(o, "snienable", ("ENABLED", "DISABLED"))
            st.changed()
            return 200, None
        raise NitroError("method")

    def _sslvs_view(self, vs):
        d = {"vservername": vs["name"], "snienable": self.st.snienable(vs)}
        if vs.get("sslprofile"):
            d["sslprofile"] = vs["sslprofile"]
        d.update({k: v for k, v in vs.get("ssl", {}).items() if k != "snienable"})
        return d

    def sslprofile(self, m, name, q, action, o):
        st = self.st
        if m == "GET":
            items = [dict(p) for p in st.sslprofiles.values()]
            if name:
                items = [p for p in items if p["name"] == name]
                if not items:
                    raise NitroError("not_found", "name, %s" % name)
            return 200, list_result("sslprofile", items, q)
        if m == "PUT":
            check_fields(o, {"name", "snienable", "sessreuse", "sesstimeout", "ssl3",
                             "tls1", "tls11", "tls12", "tls13", "hsts", "maxage",
                             "sendclosenotify", "clientauth"})
            need(o, "name")
            p = st.sslprofiles.get(o["name"])
            if p is None:
                raise NitroError("not_found", "name, %s" % o["name"])
            for k in o:
                if k != "name":
                    if k not in ("sesstimeout", "maxage"):
                        as_enum(o, k, ("ENABLED", "DISABLED", "YES", "NO"))
                    p[k] = o[k]
            st.changed()
            return 200, None
        raise NitroError("method")

    def sslparameter(self, m, name, q, action, o):
        st = self.st
        if m == "GET":
            return 200, ok_body(sslparameter={
                "quantumsize": "8192", "crlmemorysizemb": 256, "strictcachecks": "NO",
                "denysslreneg": "ALL", "defaultprofile": st.default_profile,
                "snihttphostmatch": "CERT"})
        if m == "PUT":
            check_fields(o, {"defaultprofile", "quantumsize", "denysslreneg",
                             "strictcachecks", "snihttphostmatch"})
            if "defaultprofile" in o:
                st.default_profile = as_enum(o, "defaultprofile", ("ENABLED", "DISABLED"))
                if st.default_profile == "ENABLED":
                    for vs in st.vservers.values():
                        if vs["servicetype"] == "SSL":
                            vs.setdefault("sslprofile", DEFAULT_FRONTEND)
            st.changed()
            return 200, None
        raise NitroError("method")

    def nsfeature(self, m, name, q, action, o):
        st = self.st
        if m == "GET":
            d = {k: v in st.features for k, v in FEATURES.items()}
            d["feature"] = sorted(st.features)
            return 200, ok_body(nsfeature=d)
        if m == "POST" and action in ("enable", "disable"):
            check_fields(o, {"feature"})
            need(o, "feature")
            fs = o["feature"]
            if isinstance(fs, str):
                fs = fs.split()
            if not isinstance(fs, list) or not all(
                    isinstance(f, str) and f.upper() in FEATURES.values() for f in fs):
                raise NitroError("invalid_arg", "feature")
            for f in fs:
                (st.features.add if action == "enable" else st.features.discard)(f.upper())
            st.changed()
            return 200, None
        if m == "POST" and action:
            raise NitroError("no_action", action)
        raise NitroError("method")

    def _vs_view(self, vs):
        if vs["servicetype"] == "SSL":
            up = any(b["vservername"] == vs["name"] and not b["ca"] for b in self.st.bindings)
        else:
            up = True
        return {"name": vs["name"], "servicetype": vs["servicetype"],
                "ipv46": "127.0.0.1", "port": vs["port"],
                "curstate": "UP" if up else "DOWN",
                "effectivestate": "UP" if up else "DOWN"}

    def _vs_get(self, kind):
        def h(m, name, q, action, o):
            if m != "GET":
                raise NitroError("unsupported", "%svserver %s" % (kind, m))
            items = [self._vs_view(v) for v in self.st.vservers.values() if v["kind"] == kind]
            if name:
                items = [v for v in items if v["name"] == name]
                if not items:
                    raise NitroError("not_found", "name, %s" % name)
            return 200, list_result(kind + "vserver", items, q)
        return h

    # ---- HA, version, config
    def hanode(self, m, name, q, action, o, unit=0):
        if m != "GET":
            raise NitroError("unsupported", "hanode " + m)
        roles = ("Primary", "Secondary")
        nodes = [{"id": 0, "name": "node%d" % unit, "ipaddress": "127.0.0.1",
                  "state": roles[unit], "hastatus": "ENABLED",
                  "hasync": "ENABLED", "haprop": "ENABLED",
                  "hasyncfailurereason": "-"}]
        if self.st.ha:
            nodes.append({"id": 1, "name": "node%d" % (1 - unit), "ipaddress": "127.0.0.1",
                          "state": roles[1 - unit], "hastatus": "ENABLED",
                          "hasync": "ENABLED", "haprop": "ENABLED"})
        if name not in (None, ""):
            nodes = [n for n in nodes if str(n["id"]) == name]
            if not nodes:
                raise NitroError("not_found", "id, %s" % name)
        return 200, list_result("hanode", nodes, q)

    def nsversion(self, m, name, q, action, o):
        if m != "GET":
            raise NitroError("method")
        v = self.st.version
        return 200, ok_body(nsversion={
            "version": "NetScaler NS%s: Build 51.21.nc, Date: Feb 5 2025, 12:00:00   (64-bit)" % v,
            "mode": "1"})

    def nsconfig(self, m, name, q, action, o):
        st = self.st
        if m == "POST" and action == "save":
            check_fields(o, {"all"})
            if "all" in o:
                as_bool(o, "all")
            st.counters["saves"] += 1
            st.last_save = time.time()
            st.saved = st.config()
            return 200, None
        if m == "GET":
            fmt = lambda t: time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(t)) if t else ""
            return 200, ok_body(nsconfig={
                "configchanged": st.unsaved(),
                "lastconfigsavetime": fmt(st.last_save),
                "lastconfigchangedtime": fmt(st.last_change)})
        if m == "POST" and action:
            raise NitroError("no_action", action)
        raise NitroError("method")

    HAFILE_MODES = {"all", "bookmarks", "ssl", "htmlinjection", "imports", "misc", "dns",
                    "krb", "AAA", "app_catalog", "all_plus_misc", "all_minus_misc"}

    def hafiles(self, m, name, q, action, o):
        if m != "POST" or action != "sync":
            raise NitroError("method")
        check_fields(o, {"mode"})
        modes = o.get("mode", ["all"])
        if not isinstance(modes, list) or not all(x in self.HAFILE_MODES for x in modes):
            raise NitroError("invalid_arg", "mode")
        self.st.counters["hafiles_sync"] += 1
        if self.st.ha and set(modes) & {"all", "ssl", "all_plus_misc", "all_minus_misc"}:
            # the secondary pulls the primary's files; its extra files stay
            prim = self.st.host_path(SSL_DIR)
            for dp, _, fns in os.walk(prim):
                for f in fns:
                    rel = os.path.relpath(os.path.join(dp, f), prim)
                    dst = os.path.join(self.st.sec_ssl, rel)
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    with open(os.path.join(dp, f), "rb") as a, open(dst + ".tmp", "wb") as b:
                        b.write(a.read())
                    os.replace(dst + ".tmp", dst)
        return 200, None

    # ---- responder (ref §8.1)
    RESP_TYPES = ("noop", "respondwith", "redirect", "respondwithhtmlpage",
                  "sqlresponse_ok", "sqlresponse_error")

    def responderaction(self, m, name, q, action, o):
        st = self.st
        if m == "POST" and not action:
            check_fields(o, {"name", "type", "target", "htmlpage", "bypasssafetycheck",
                             "comment", "responsestatuscode", "reasonphrase", "headers"})
            need(o, "name", "type")
            n = as_str(o, "name", 127)
            if n in st.ractions:
                raise NitroError("exists")
            t = as_enum(o, "type", self.RESP_TYPES)
            a = {"name": n, "type": t, "hits": 0}
            for k in ("target", "comment", "htmlpage", "reasonphrase", "bypasssafetycheck",
                      "responsestatuscode", "headers"):
                if k in o:
                    a[k] = o[k]
            if t in ("respondwith", "redirect"):
                need(o, "target")
                try:
                    a["_body"] = parse_target(as_str(o, "target", 8191))
                except ValueError as ex:
                    raise NitroError("expr", "target: %s" % ex)
            st.ractions[n] = a
            st.changed()
            return 201, None
        if m == "GET":
            items = [{k: v for k, v in a.items() if not k.startswith("_")}
                     for a in st.ractions.values()]
            if name:
                items = [a for a in items if a["name"] == name]
                if not items:
                    raise NitroError("not_found", "name, %s" % name)
            return 200, list_result("responderaction", items, q)
        if m == "DELETE":
            if not name or name not in st.ractions:
                raise NitroError("not_found", "name, %s" % name)
            if any(p["action"] == name for p in st.rpolicies.values()):
                raise NitroError("policy_in_use", name)
            del st.ractions[name]
            st.changed()
            return 200, ok_body()
        raise NitroError("method")

    def responderpolicy(self, m, name, q, action, o):
        st = self.st
        if m == "POST" and not action:
            check_fields(o, {"name", "rule", "action", "undefaction", "comment",
                             "logaction", "appflowaction"})
            need(o, "name", "rule", "action")
            n = as_str(o, "name", 127)
            if n in st.rpolicies:
                raise NitroError("exists")
            act = as_str(o, "action")
            if act not in ("NOOP", "RESET", "DROP") and act not in st.ractions:
                raise NitroError("not_found", "action, %s" % act)
            try:
                fn = parse_rule(as_str(o, "rule", 8191))
            except ValueError as ex:
                raise NitroError("expr", "rule: %s" % ex)
            st.rpolicies[n] = {"name": n, "rule": o["rule"], "action": act,
                               "comment": o.get("comment"), "_fn": fn}
            st.changed()
            return 201, None
        if m == "GET":
            items = [{k: v for k, v in p.items() if not k.startswith("_") and v is not None}
                     for p in st.rpolicies.values()]
            if name:
                items = [p for p in items if p["name"] == name]
                if not items:
                    raise NitroError("not_found", "name, %s" % name)
            return 200, list_result("responderpolicy", items, q)
        if m == "DELETE":
            if not name or name not in st.rpolicies:
                raise NitroError("not_found", "name, %s" % name)
            if any(b["policyname"] == name for b in st.rglobal + st.rvsbind):
                raise NitroError("policy_in_use", name)
            del st.rpolicies[name]
            st.changed()
            return 200, ok_body()
        raise NitroError("method")

    def responderglobal_responderpolicy_binding(self, m, name, q, action, o):
        st = self.st
        if m in ("PUT", "POST") and not action:
            check_fields(o, {"policyname", "priority", "gotopriorityexpression", "type",
                             "invoke", "labeltype", "labelname", "globalbindtype"})
            need(o, "policyname", "priority")
            p = as_str(o, "policyname")
            if p not in st.rpolicies:
                raise NitroError("not_found", "policyname, %s" % p)
            prio = as_int(o, "priority", 1, 2147483647)
            t = as_enum(o, "type", ("REQ_OVERRIDE", "REQ_DEFAULT", "OTHERTCP_REQ_OVERRIDE",
                                    "OTHERTCP_REQ_DEFAULT", "SIPUDP_REQ_OVERRIDE",
                                    "SIPUDP_REQ_DEFAULT", "MSSQL_REQ_OVERRIDE",
                                    "MSSQL_REQ_DEFAULT", "MYSQL_REQ_OVERRIDE",
                                    "MYSQL_REQ_DEFAULT", "NAT_REQ_OVERRIDE",
                                    "NAT_REQ_DEFAULT", "DIAMETER_REQ_OVERRIDE",
                                    "DIAMETER_REQ_DEFAULT", "RADIUS_REQ_OVERRIDE",
                                    "RADIUS_REQ_DEFAULT", "DNS_REQ_OVERRIDE",
                                    "DNS_REQ_DEFAULT"), "REQ_DEFAULT")
            if any(b["policyname"] == p for b in st.rglobal):
                raise NitroError("exists")
            if any(b["type"] == t and b["priority"] == prio for b in st.rglobal):
                raise NitroError("prio", str(prio))
            st.rglobal.append({"policyname": p, "priority": prio, "type": t,
                               "gotopriorityexpression": o.get("gotopriorityexpression", "END")})
            st.changed()
            return 201, None
        if m == "GET":
            args = simlib.parse_kv_list(q.get("args", ""))
            items = [dict(b) for b in st.rglobal
                     if not args.get("type") or b["type"] == args["type"]]
            return 200, list_result("responderglobal_responderpolicy_binding", items, q)
        if m == "DELETE":
            args = simlib.parse_kv_list(q.get("args", ""))
            for k in args:
                if k not in ("policyname", "type", "priority", "globalbindtype"):
                    raise NitroError("invalid_arg", k)
            need(args, "policyname")
            for b in st.rglobal:
                if b["policyname"] == args["policyname"] and \
                        b["type"] == args.get("type", "REQ_DEFAULT") and \
                        ("priority" not in args or str(b["priority"]) == args["priority"]):
                    st.rglobal.remove(b)
                    st.changed()
                    return 200, ok_body()
            raise NitroError("not_found", "policyname, %s" % args["policyname"])
        raise NitroError("method")

    def _vs_resp_binding(self, kind):
        res = kind + "vserver_responderpolicy_binding"

        def h(m, name, q, action, o):
            st = self.st
            if m in ("PUT", "POST") and not action:
                check_fields(o, {"name", "policyname", "priority", "gotopriorityexpression",
                                 "bindpoint", "invoke", "labeltype", "labelname"})
                need(o, "name", "policyname", "priority")
                vs = st.vservers.get(o["name"])
                if vs is None or vs["kind"] != kind:
                    raise NitroError("not_found", "name, %s" % o["name"])
                p = as_str(o, "policyname")
                if p not in st.rpolicies:
                    raise NitroError("not_found", "policyname, %s" % p)
                prio = as_int(o, "priority", 1, 2147483647)
                bp = as_enum(o, "bindpoint", ("REQUEST", "RESPONSE"), "REQUEST")
                mine = [b for b in st.rvsbind if b["kind"] == kind and b["name"] == vs["name"]]
                if any(b["policyname"] == p for b in mine):
                    raise NitroError("exists")
                if any(b["priority"] == prio and b["bindpoint"] == bp for b in mine):
                    raise NitroError("prio", str(prio))
                st.rvsbind.append({"kind": kind, "name": vs["name"], "policyname": p,
                                   "priority": prio, "bindpoint": bp,
                                   "gotopriorityexpression": o.get("gotopriorityexpression",
                                                                   "END")})
                st.changed()
                return 201, None
            if m == "GET":
                if not name:
                    raise NitroError("missing", "name")
                items = [{k: v for k, v in b.items() if k != "kind"} for b in st.rvsbind
                         if b["kind"] == kind and b["name"] == name]
                return 200, list_result(res, items, q)
            if m == "DELETE":
                args = simlib.parse_kv_list(q.get("args", ""))
                for k in args:
                    if k not in ("policyname", "priority", "bindpoint"):
                        raise NitroError("invalid_arg", k)
                if not name:
                    raise NitroError("missing", "name")
                need(args, "policyname")
                for b in st.rvsbind:
                    if b["kind"] == kind and b["name"] == name and \
                            b["policyname"] == args["policyname"] and \
                            ("priority" not in args or str(b["priority"]) == args["priority"]):
                        st.rvsbind.remove(b)
                        st.changed()
                        return 200, ok_body()
                raise NitroError("not_found", "policyname, %s" % args["policyname"])
            raise NitroError("method")
        return h

    def handlers(self):
        return {
            "sslrsakey": self.sslrsakey, "sslecdsakey": self.sslecdsakey,
            "sslcertreq": self.sslcertreq, "systemfile": self.systemfile,
            "sslcertkey": self.sslcertkey,
            "sslvserver_sslcertkey_binding": self.sslvserver_sslcertkey_binding,
            "sslcertkey_sslvserver_binding": self.sslcertkey_sslvserver_binding,
            "sslvserver": self.sslvserver, "sslprofile": self.sslprofile,
            "sslparameter": self.sslparameter, "nsfeature": self.nsfeature,
            "lbvserver": self._vs_get("lb"), "csvserver": self._vs_get("cs"),
            "vpnvserver": self._vs_get("vpn"),
            "nsversion": self.nsversion, "nsconfig": self.nsconfig,
            "hafiles": self.hafiles,
            "responderaction": self.responderaction,
            "responderpolicy": self.responderpolicy,
            "responderglobal_responderpolicy_binding":
                self.responderglobal_responderpolicy_binding,
            "lbvserver_responderpolicy_binding": self._vs_resp_binding("lb"),
            "csvserver_responderpolicy_binding": self._vs_resp_binding("cs"),
        }

    # ---- ACME http-01 on the HTTP vservers
    def respond(self, vsname, url, host):
        """Raw response bytes of the first matching respondwith policy, or
        None. Order: global REQ_OVERRIDE, vserver, global REQ_DEFAULT."""
        st = self.st
        vs = st.vservers[vsname]
        if "RESPONDER" not in st.features:
            return None  # policies exist but are not evaluated
        chain = sorted((b for b in st.rglobal if b["type"] == "REQ_OVERRIDE"),
                       key=lambda b: b["priority"])
        chain += sorted((b for b in st.rvsbind
                         if b["kind"] == vs["kind"] and b["name"] == vsname),
                        key=lambda b: b["priority"])
        chain += sorted((b for b in st.rglobal if b["type"] == "REQ_DEFAULT"),
                        key=lambda b: b["priority"])
        req = {"url": url, "host": (host or "").split(":")[0]}
        for b in chain:
            p = st.rpolicies.get(b["policyname"])
            if p is None or not p["_fn"](req):
                continue
            a = st.ractions.get(p["action"])
            if a is None:
                return None
            if a["type"] == "respondwith":
                a["hits"] += 1
                return a["_body"].encode("latin-1", "replace")
            return None
        return None


# ----------------------------------------------------------- TLS vservers

class VserverTLS:
    """Builds (and caches per state generation) the SSLContexts a vserver
    serves: the default certkey plus SNI certkeys, each with its linked
    chain. Contexts are rebuilt whenever the state changes, so an update
    in place is seen by the next handshake."""

    def __init__(self, st):
        self.st = st
        self.cache = {}   # vsname -> (generation, base_ctx or None)

    def _ctx_for(self, ck):
        st = self.st
        chain, seen, cur = [ck["info"]["pem"]], {ck["certkey"]}, ck
        while cur.get("linkcertkeyname") and cur["linkcertkeyname"] not in seen:
            cur = st.certkeys.get(cur["linkcertkeyname"])
            if cur is None:
                break
            seen.add(cur["certkey"])
            chain.append(cur["info"]["pem"])
        keypath = st.file_ref(ck["key"], "key")[1]
        with open(keypath, "rb") as f:
            keydata = f.read()
        sig = hashlib.sha256("".join(chain).encode() + keydata).hexdigest()[:24]
        certfile = os.path.join(st.run_dir, "chain-%s.pem" % sig)
        if not os.path.exists(certfile):
            with open(certfile, "w") as f:
                f.write("".join(chain))
        kf = keypath
        if not keydata.lstrip().startswith(b"-----"):
            kf = os.path.join(st.run_dir, "key-%s.pem" % sig)
            if not os.path.exists(kf):
                pem = simlib.openssl("pkey", "-inform", "DER", "-in", keypath)
                with open(kf, "wb") as f:
                    f.write(pem)
                os.chmod(kf, 0o600)
        # A fresh context per build: the SNI callback set on a vserver's
        # default context must not leak into another vserver.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, kf, password=ck.get("passplain") or None)
        return ctx, ck["info"]["sandns"] or [ck["info"]["cn"]]

    def context(self, vsname):
        st = self.st
        with st.lock:
            c = self.cache.get(vsname)
            if c and c[0] == st.generation:
                return c[1]
            vs = st.vservers[vsname]
            default, sni = None, []
            for b in st.bindings:
                if b["vservername"] != vsname or b["ca"]:
                    continue
                ck = st.certkeys.get(b["certkeyname"])
                if ck is None or not ck.get("key"):
                    continue
                try:
                    entry = self._ctx_for(ck)
                except (ssl.SSLError, OSError, simlib.OpensslError):
                    continue  # a broken pair serves nothing, like a DOWN vserver
                if b["snicert"]:
                    sni.append(entry)
                else:
                    default = entry
            use_sni = st.snienable(vs) == "ENABLED" and sni
            if default is None and not use_sni:
                base = None
            else:
                if default is not None:
                    base = default[0]
                else:
                    base = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                if use_sni:
                    table = list(sni)

                    def cb(sock, server_name, _ctx, table=table):
                        if server_name:
                            for ctx, names in table:
                                if any(name_matches(n, server_name) for n in names):
                                    sock.context = ctx
                                    break
                        return None
                    base.sni_callback = cb
            self.cache[vsname] = (st.generation, base)
            return base


class VserverListener(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name, tls):
        self.vsname, self.tls = name, tls
        super().__init__(("127.0.0.1", 0), VserverConn)

    def handle_error(self, request, client_address):
        pass


class VserverConn(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        ctx = srv.tls.context(srv.vsname)
        if ctx is None:
            return  # no certificate: the vserver is DOWN, handshake fails
        self.request.settimeout(5)
        try:
            s = ctx.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            body = ("vserver %s\n" % srv.vsname).encode()
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)
            try:
                s.unwrap()
            except (ssl.SSLError, OSError):
                pass
        except (ssl.SSLError, OSError):
            pass
        finally:
            s.close()


# ----------------------------------------------------------- HTTP handlers

SINGLETONS = ("nsversion", "nsconfig", "nsfeature", "sslparameter")


def other_variant(body):
    """--nitro-variant strings: the other documented shape of a GET answer
    (ref §1.4): numeric fields as JSON strings (adc-nitro-go types them so)
    and singleton resources as a one-element array instead of an object."""
    def conv(v):
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            return str(v)
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    if not isinstance(body, dict):
        return body
    out = {}
    for k, v in body.items():
        if k in ("errorcode", "message", "severity"):
            out[k] = v
        elif k in SINGLETONS and isinstance(v, dict):
            out[k] = [conv(v)]
        else:
            out[k] = conv(v)
    return out


def make_mgmt_handler(st, api, unit):
    handlers = api.handlers()

    class H(simlib.JsonHandler):
        server_version = "Apache"
        sys_version = ""

        def dispatch(self, method):
            u = urllib.parse.urlsplit(self.path)
            path, q = u.path, simlib.parse_query(u.query)
            if path.startswith("/_sim/"):
                return self.sim(method, path)
            simlib.Pace.request()
            try:
                self.read_body()
            except ValueError:
                return self.send_json(413, None)
            resource = None
            write = False
            try:
                with st.lock:
                    st_fault = self.take_fault(self.path, method)
                if st_fault:
                    raise st_fault
                if not path.startswith(CFG):
                    raise NitroError("not_found", path)
                segs = path[len(CFG):].split("/")
                if len(segs) > 2 or not segs[0]:
                    raise NitroError("not_found", path)
                resource = segs[0]
                name = urllib.parse.unquote(segs[1]) if len(segs) == 2 else None
                action = q.get("action")
                write = method in ("POST", "PUT", "DELETE") and \
                    resource not in ("login", "logout")
                if write:
                    with st.lock:
                        st.counters["writes"][str(unit)] = \
                            st.counters["writes"].get(str(unit), 0) + 1
                if resource == "login":
                    return self.login(method)
                with st.lock:
                    user = self.auth()
                    if resource == "logout":
                        return self.logout(method)
                    h = handlers.get(resource)
                    if resource == "hanode":
                        h = lambda m, n, qq, a, o: api.hanode(m, n, qq, a, o, unit)
                    if resource == "systemfile":
                        h = lambda m, n, qq, a, o: api.systemfile(m, n, qq, a, o, unit)
                    if h is None:
                        raise NitroError("not_found", resource)
                    if method not in ("GET", "POST", "PUT", "DELETE"):
                        raise NitroError("method")
                    if write and unit == 1:
                        raise NitroError("secondary")
                    obj = self.wrapper(resource) if method in ("POST", "PUT") else {}
                    before = st.serving() if write else None
                    try:
                        status, body = h(method, name, q, action, obj)
                    finally:
                        if write:
                            for vs in sorted(before - st.serving()):
                                st.gaps.append({"vserver": vs, "method": method,
                                                "path": self.path, "time": time.time()})
                    if method == "GET" and st.variant == "strings":
                        body = other_variant(body)
                    if write:
                        st.counters["writes_ok"][str(unit)] = \
                            st.counters["writes_ok"].get(str(unit), 0) + 1
                self.send_json(status, body)
            except NitroError as ex:
                self.send_json(ex.status, {"errorcode": ex.code, "message": ex.message,
                                           "severity": "ERROR"})
            except Exception as ex:  # a sim bug must still answer
                import traceback
                traceback.print_exc()
                self.send_json(500, {"errorcode": 1, "message": "simulator error: %s" % ex,
                                     "severity": "ERROR"})
            finally:
                st.log.add(unit=unit, method=method, path=self.path, status=self.last_status,
                           write=write, resource=resource)

        def take_fault(self, path, method):
            for f in list(st.faults):
                if f.get("expire_before"):
                    if f["path_contains"] in path and \
                            (not f.get("method") or f["method"] == method) and f["count"] > 0:
                        f["count"] -= 1
                        if f["count"] == 0:
                            st.faults.remove(f)
                        for sess in st.sessions.values():
                            sess.clear()
                    continue
                if f["path_contains"] in path and f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        st.faults.remove(f)
                    ex = NitroError("sim_fault")
                    ex.status = int(f.get("status", 503))
                    ex.code = int(f.get("errorcode", 1))
                    return ex
            return None

        def wrapper(self, resource):
            """The body must be {"<resource>": {...}} (plus optional
            "params"); ref §1.5."""
            try:
                doc = json.loads(self.body_bytes.decode("utf-8")) if self.body_bytes else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise NitroError("bad_json")
            if not isinstance(doc, dict):
                raise NitroError("bad_json")
            for k in doc:
                if k not in (resource, "params"):
                    raise NitroError("bad_wrapper", k)
            if resource not in doc:
                raise NitroError("bad_wrapper", resource)
            obj = doc[resource]
            if isinstance(obj, list):
                raise NitroError("unsupported", "bulk request")
            if not isinstance(obj, dict):
                raise NitroError("bad_wrapper", resource)
            return obj

        def login(self, method):
            if method != "POST":
                raise NitroError("method")
            o = self.wrapper("login")
            check_fields(o, {"username", "password", "timeout"})
            need(o, "username", "password")
            with st.lock:
                if st.users.get(o["username"]) != o["password"]:
                    raise NitroError("bad_login")
                timeout = as_int(o, "timeout", 1, 100000000, 900) if "timeout" in o else 900
                if st.session_cap:
                    timeout = min(timeout, st.session_cap)
                sid = "##" + secrets.token_hex(32).upper()
                st.sessions.setdefault(unit, {})[sid] = {
                    "user": o["username"], "timeout": timeout, "last": time.time()}
                st.counters["logins"] += 1
                st.issued_sids.append(sid)
            self.send_json(201, ok_body(sessionid=sid), headers=[
                ("Set-Cookie", "NITRO_AUTH_TOKEN=%s; path=/nitro/v1" % sid)])

        def logout(self, method):
            if method != "POST":
                raise NitroError("method")
            o = self.wrapper("logout")
            check_fields(o, set())
            sid = self.cookie_sid()
            if sid:
                st.sessions.get(unit, {}).pop(sid, None)
            st.counters["logouts"] += 1
            self.send_json(201, ok_body())

        def cookie_sid(self):
            for hdr in ("Cookie", "Set-Cookie"):
                for v in self.headers.get_all(hdr) or []:
                    for part in v.split(";"):
                        k, _, val = part.strip().partition("=")
                        if k == "NITRO_AUTH_TOKEN" and val:
                            return urllib.parse.unquote(val)
            return None

        def auth(self):
            sid = self.cookie_sid()
            if sid:
                s = st.sessions.get(unit, {}).get(sid)
                now = time.time()
                if s is None or now - s["last"] > s["timeout"]:
                    st.sessions.get(unit, {}).pop(sid, None)
                    raise NitroError("expired")
                s["last"] = now
                return s["user"]
            u, p = self.headers.get("X-NITRO-USER"), self.headers.get("X-NITRO-PASS")
            if u is not None and st.users.get(u) == p:
                return u
            raise NitroError("bad_login")

        def sim(self, method, path):
            try:
                self.read_body()
                doc = json.loads(self.body_bytes) if self.body_bytes else {}
            except ValueError:
                return self.send_json(400, {"error": "bad json"})
            if method == "GET" and path == "/_sim/state":
                with st.lock:
                    return self.send_json(200, sim_state(st))
            if method == "GET" and path == "/_sim/requests":
                return self.send_json(200, st.log.list())
            if method == "GET" and path == "/_sim/sessions":
                # test-only: lets a test prove no log or file holds a session id
                with st.lock:
                    return self.send_json(200, list(st.issued_sids))
            if method == "POST" and path == "/_sim/requests/clear":
                st.log.clear()
                return self.send_json(200, {})
            if method == "POST" and path == "/_sim/fault":
                with st.lock:
                    if doc.get("expire_sessions"):
                        for s in st.sessions.values():
                            s.clear()
                    eb = doc.get("expire_before")
                    if eb:
                        # the session expires just before the matching request
                        st.faults.append({"expire_before": True,
                                          "path_contains": eb.get("path_contains", ""),
                                          "method": eb.get("method"),
                                          "count": int(eb.get("count", 1))})
                    fn = doc.get("fail_next")
                    if fn:
                        st.faults.append({"path_contains": fn.get("path_contains", ""),
                                          "status": int(fn.get("status", 503)),
                                          "errorcode": int(fn.get("errorcode", 1)),
                                          "count": int(fn.get("count", 1))})
                return self.send_json(200, {})
            return self.send_json(404, {"error": "no such sim endpoint"})

    return H


def make_http_vs_handler(st, api, vsname):
    class H(simlib.JsonHandler):
        protocol_version = "HTTP/1.0"
        server_version = "NetScaler"

        def dispatch(self, method):
            with st.lock:
                raw = api.respond(vsname, self.path, self.headers.get("Host"))
            if raw is not None:
                self.wfile.write(raw)
                self.close_connection = True
                self.last_status = 200
                return
            body = b"Not Found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return H


def sim_state(st):
    files = []
    for r in FS_ROOTS:
        base = st.host_path(r)
        for dp, dn, fn in os.walk(base):
            for f in fn:
                files.append("/" + os.path.relpath(os.path.join(dp, f), st.dir))
    return {
        "certkeys": {n: {"cert": c["cert"], "key": c.get("key"),
                         "serial": c["info"]["serial"], "subject": c["info"]["subject"],
                         "issuer": c["info"]["issuer"],
                         "linkcertkeyname": c.get("linkcertkeyname"),
                         "sandns": c["info"]["sandns"]}
                     for n, c in st.certkeys.items()},
        "bindings": [dict(b) for b in st.bindings],
        "files": sorted(set(files)),
        "vservers": {n: {k: v for k, v in vs.items() if k != "ssl"}
                     for n, vs in st.vservers.items()},
        "responder": {
            "actions": {n: {k: v for k, v in a.items() if not k.startswith("_")}
                        for n, a in st.ractions.items()},
            "policies": {n: {"rule": p["rule"], "action": p["action"]}
                         for n, p in st.rpolicies.items()},
            "global_bindings": [dict(b) for b in st.rglobal],
            "vserver_bindings": [dict(b) for b in st.rvsbind]},
        "counters": json.loads(json.dumps(st.counters)),
        "sessions": {str(u): len(s) for u, s in st.sessions.items()},
        "generation": st.generation,
        "unsaved": st.unsaved(),
        "files_in_sync": not st.sec_missing(),
        "files_missing_on_secondary": st.sec_missing(),
        "secondary_files": sorted(os.listdir(st.sec_ssl)) if st.ha else [],
        "propagation_failures": list(st.prop_failures),
        "gaps": list(st.gaps),
        "defaultprofile": st.default_profile,
        "sslprofiles": json.loads(json.dumps(st.sslprofiles)),
        "features": sorted(st.features),
    }


# ------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ha", action="store_true")
    ap.add_argument("--vserver", action="append", default=[])
    ap.add_argument("--http-vserver", action="append", default=[])
    # Fixed port for an HTTP vserver (the port an ACME CA's http-01
    # validation connects to); the others take a free port.
    ap.add_argument("--http-port", action="append", default=[], metavar="NAME=PORT")
    ap.add_argument("--user", default="nsroot")
    ap.add_argument("--password", default="nsroot")
    ap.add_argument("--session-timeout", type=int, default=None)
    ap.add_argument("--version", default="13.1")
    # Which of the documented GET shapes to serve (ref §1.4): "default"
    # (numbers as numbers, singletons as objects) or "strings" (numbers as
    # strings, singletons as arrays). A client must take both.
    ap.add_argument("--nitro-variant", default="default", choices=("default", "strings"))
    # `set ssl parameter -defaultProfile ENABLED`: every SSL vserver has
    # ns_default_ssl_profile_frontend bound and per-vserver SSL settings are
    # refused with errorcode 3740 (ref §6).
    ap.add_argument("--default-profile", action="store_true")
    # RESPONDER feature disabled: responder objects can be made but are
    # never evaluated.
    ap.add_argument("--responder-off", action="store_true")
    simlib.Pace.add_args(ap)
    args = ap.parse_args(argv)
    simlib.Pace.set(args)

    os.makedirs(args.dir, exist_ok=True)
    st = State(args)
    api = Nitro(st)
    tls = VserverTLS(st)
    servers = []

    for spec in args.vserver:
        name, _, kind = spec.partition(":")
        kind = kind or "lb"
        if kind not in ("lb", "cs", "vpn"):
            ap.error("bad vserver type in %r" % spec)
        srv = VserverListener(name, tls)
        st.vservers[name] = {"name": name, "kind": kind, "servicetype": "SSL",
                             "snienable": "DISABLED", "port": srv.server_address[1]}
        if args.default_profile:
            st.vservers[name]["sslprofile"] = DEFAULT_FRONTEND
        servers.append(srv)
    http_ports = {}
    for spec in args.http_port:
        name, _, port = spec.partition("=")
        if name not in args.http_vserver or not port.isdigit():
            ap.error("--http-port wants NAME=PORT for an --http-vserver NAME, got %r" % spec)
        http_ports[name] = int(port)
    for name in args.http_vserver:
        srv = simlib.ThreadedHTTPServer(make_http_vs_handler(st, api, name),
                                        port=http_ports.get(name, 0))
        st.vservers[name] = {"name": name, "kind": "lb", "servicetype": "HTTP",
                             "snienable": "DISABLED", "port": srv.port}
        servers.append(srv)

    st.saved = st.config()  # the appliance starts from its saved configuration
    units = []
    for unit in range(2 if args.ha else 1):
        cert = os.path.join(st.dir, "mgmt-%d.pem" % unit)
        key = os.path.join(st.dir, "mgmt-%d.key" % unit)
        fp = simlib.make_self_signed(cert, key, cn="netscaler-node%d" % unit)
        srv = simlib.ThreadedHTTPServer(make_mgmt_handler(st, api, unit),
                                        ssl_context=simlib.server_context(cert, key))
        servers.append(srv)
        units.append({"url": "https://127.0.0.1:%d" % srv.port, "ca_file": cert,
                      "fingerprint_sha256": fp,
                      "role": "primary" if unit == 0 else "secondary"})

    for srv in servers:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()

    simlib.write_json_atomic(os.path.join(st.dir, "ready.json"), {
        "units": units,
        "vservers": {n: v["port"] for n, v in st.vservers.items() if v["servicetype"] == "SSL"},
        "http_vservers": {n: v["port"] for n, v in st.vservers.items()
                          if v["servicetype"] == "HTTP"},
    })

    def stop():
        for srv in servers:
            srv.shutdown()
            srv.server_close()

    simlib.run_until_signal(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
