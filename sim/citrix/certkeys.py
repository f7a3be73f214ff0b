"""sslcertkey (ref §5): add, update, link, unlink, delete certificate-key pairs."""

import datetime
import os
import re
import tempfile

import simlib

from .crypto import cert_info, key_pubkey, nitro_date
from .errors import NitroError, ok_body
from .fields import as_bool, as_enum, as_int, as_str, check_fields, list_result, need
from .state import SSL_DIR


class CertkeysApi:
    """sslcertkey; mixed into Nitro (state.lock held)."""

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
