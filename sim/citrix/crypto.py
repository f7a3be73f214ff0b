"""Certificate and key facts read with `openssl`, as NITRO reports them."""

import datetime
import hashlib
import re
import threading

import simlib

from .errors import NitroError


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
