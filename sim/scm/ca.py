"""The simulator's own CA (root + intermediate, made once at start), issuing
leaves from CSRs and rendering chains per collect format."""

import base64
import hashlib
import os
import re
import secrets
import tempfile

from simlib import OpensslError, openssl

from .errors import ApiError


def pem_blocks(text):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?",
                      text, re.S)


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
            except OpensslError:
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
