"""sys/crypto keys, certificates and CSRs: create, install from a file, modify."""

from simlib import Pace

from simlib import OpensslError, openssl, passin
from .errors import ApiError
from .names import split_fp, to_fullpath


class KeysApi:
    """Mixed into Api."""

    # ---- keys / certs / csrs ---------------------------------------------
    def create_key(self, c, coll, label):
        b = c.body
        if b.get("command") == "install":
            return self.install_file(c, "key", b.get("from-local-file") or b.get("fromLocalFile"), label)
        fp = self.body_fp(c, label)
        if "sourcePath" in b:
            self.exists(self.st["key"], fp, label)
            return self.key_from_source(c, fp, b["sourcePath"], b.get("passphrase"))
        if coll != "sys/crypto/key":
            raise ApiError(400, "01070712:3: Values (sourcePath) must be specified for %s." % fp)
        self.exists(self.st["key"], fp, label)
        ktype = b.get("keyType", "rsa-private")
        security = b.get("securityType", "normal")
        pw = b.get("passphrase")
        if security not in ("normal", "password"):
            raise ApiError(400, "01070712:3: Invalid security type (%s)." % security)
        if security == "password" and not pw:
            raise ApiError(400, "01070313:3: A passphrase is required for security type password.")
        if security == "normal" and pw:
            raise ApiError(400, "01070313:3: A passphrase may only be given for security type password.")
        if ktype == "rsa-private":
            size = str(b.get("keySize", "2048"))
            if size not in ("1024", "2048", "3072", "4096"):
                raise ApiError(400, "01070313:3: Invalid key size (%s)." % size)
            gen = ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:" + size]
        elif ktype == "ec-private":
            curve = b.get("curveName")
            if curve not in ("prime256v1", "secp384r1", "secp521r1"):
                raise ApiError(400, "01070313:3: Invalid curve name (%s)." % curve)
            gen = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + curve]
        else:
            raise ApiError(400, "01070313:3: Invalid key type (%s)." % ktype)
        csr_name = None
        for o in b.get("options", []) or []:
            if not isinstance(o, dict) or len(o) != 1:
                raise ApiError(400, "Invalid options value", api=1)
            k, v = next(iter(o.items()))
            if k == "gen-csr":
                csr_name = v
            elif k != "gen-certificate":
                raise ApiError(400, "01070734:3: unknown option %s" % k)
        csr_fp = None
        if csr_name is not None:
            if "*" in csr_name:
                raise ApiError(400, "the \"create\" command does not accept wildcard configuration identifiers")
            csr_fp = to_fullpath(csr_name, split_fp(fp)[0], "Common")
            self.exists(self.st["csr"], csr_fp, "CSR")
            if not b.get("commonName"):
                raise ApiError(400, "01070313:3: A common name is required to generate a CSR.")
        if security == "password":
            gen += ["-aes-256-cbc", "-pass", "env:LBSIM_PASS"]
        if pw:
            self.sim.seen_pass.add(pw)
        Pace.make_key()
        pem = openssl(*gen, secret=pw if security == "password" else None)
        key = self.sim.add_key(fp, pem, pw if security == "password" else None, security)
        if csr_fp:
            self.make_csr(csr_fp, key, b, pw if security == "password" else None)
        return key

    def make_csr(self, csr_fp, key, b, secret):
        subj = ""
        for field, attr in (("country", "C"), ("state", "ST"), ("city", "L"),
                            ("organization", "O"), ("ou", "OU"), ("commonName", "CN"),
                            ("emailAddress", "emailAddress")):
            if b.get(field):
                val = str(b[field]).replace("/", "\\/")
                subj += "/%s=%s" % (attr, val)
        args = ["req", "-new", "-key", key["_file"], "-subj", subj, "-sha256"] + passin(secret)
        san = b.get("subject-alternative-name") or b.get("subjectAlternativeName")
        if san:
            args += ["-addext", "subjectAltName=" + ",".join(s.strip() for s in san.split(","))]
        try:
            pem = openssl(*args, secret=secret)
        except OpensslError as ex:
            raise ApiError(400, "01070313:3: CSR generation failed: %s" % str(ex)[:200])
        path = self.sim.store_file("csr", csr_fp, pem)
        part, short = split_fp(csr_fp)
        self.st["csr"][csr_fp] = {
            "name": short, "partition": part, "fullPath": csr_fp,
            "commonName": b.get("commonName"), "key": key["fullPath"],
            "subjectAlternativeName": san or "",
            "apiRawValues": {"keySize": key["keySize"],
                             "publicKeyType": "EC" if key["keyType"] == "ec-private" else "RSA"},
            "_file": path, "_pem": pem.decode(),
        }

    def create_csr(self, c, coll, label):
        b = c.body
        fp = self.body_fp(c, label)
        self.exists(self.st["csr"], fp, label)
        key = self.st["key"].get(to_fullpath(b.get("key", ""), None, "Common"))
        if key is None:
            raise ApiError(400, "01070277:3: The requested key (%s) was not found." % b.get("key"))
        if key["securityType"] == "password" and not self.sim.key_decrypts(key, b.get("passphrase")):
            raise ApiError(400, "01070313:3: Error reading key PEM file: bad password read")
        self.make_csr(fp, key, b, b.get("passphrase") if key["securityType"] == "password" else None)
        return self.st["csr"][fp]

    def key_from_source(self, c, fp, source, pw):
        path = self.sim.local_path(c.unit, source)
        data = open(path, "rb").read()
        if b"PRIVATE KEY" not in data:
            raise ApiError(400, "01070712:3: Certificate/Key has unknown format or security type.")
        key = self.sim.add_key(fp, data, pw, "password" if pw else "normal")
        key["sourcePath"] = source
        return key

    def install_file(self, c, typ, local, label):
        b = c.body
        fp = to_fullpath(b.get("name", ""), b.get("partition"), "Common")
        if not local:
            raise ApiError(400, "01070712:3: from-local-file must be specified")
        src = "file://" + local
        if typ == "key":
            return self.key_from_source(c, fp, src, b.get("passphrase"))
        path = self.sim.local_path(c.unit, src)
        return self.sim.add_cert(fp, open(path, "rb").read(), src)

    def create_cert(self, c, coll, label):
        b = c.body
        if b.get("command") == "install":
            return self.install_file(c, "cert", b.get("from-local-file") or b.get("fromLocalFile"), label)
        fp = self.body_fp(c, label)
        self.exists(self.st["cert"], fp, label)
        if "sourcePath" not in b:
            raise ApiError(400, "01070712:3: Values (sourcePath) must be specified for %s." % fp)
        path = self.sim.local_path(c.unit, b["sourcePath"])
        return self.sim.add_cert(fp, open(path, "rb").read(), b["sourcePath"])

    def modify_cert(self, c, fp, obj, label):
        if "sourcePath" not in c.body:
            raise ApiError(400, "01070712:3: only sourcePath may be modified on %s" % fp)
        path = self.sim.local_path(c.unit, c.body["sourcePath"])
        self.sim.add_cert(fp, open(path, "rb").read(), c.body["sourcePath"])

    def modify_key(self, c, fp, obj, label):
        if "sourcePath" not in c.body:
            raise ApiError(400, "01070712:3: only sourcePath/passphrase may be modified on %s" % fp)
        self.key_from_source(c, fp, c.body["sourcePath"], c.body.get("passphrase"))

    def modify_csr(self, c, fp, obj, label):
        raise ApiError(400, "01070734:3: a CSR cannot be modified")
