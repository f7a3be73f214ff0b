"""sslrsakey, sslecdsakey and sslcertreq: keys and CSRs made on the box."""

import os
import re
import tempfile

import simlib

from .errors import NitroError
from .fields import as_bool, as_enum, as_int, as_str, check_fields, need


class KeysApi:
    """Key and CSR resources; mixed into Nitro (state.lock held)."""

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
