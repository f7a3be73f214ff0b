"""SSL vservers, their certkey bindings, SSL profiles and parameters,
features (ref §6)."""

import simlib

from .errors import DEFAULT_FRONTEND, FEATURES, NitroError, ok_body
from .fields import as_bool, as_enum, check_fields, list_result, need


class VserversApi:
    """vserver resources; mixed into Nitro (state.lock held)."""

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
                # One RSA and one ECDSA certificate may serve side by side
                # (the vserver picks by the client's ciphers and signature
                # algorithms): as the default pair, and per SNI domain.
                kt = ck["info"]["keytype"]
                if sni:
                    if st.snienable(vs) != "ENABLED":
                        raise NitroError("sni_off", vs["name"])
                    names = set(n.lower() for n in ck["info"]["sandns"] or [ck["info"]["cn"]])
                    for x in mine:
                        if x["snicert"]:
                            oi = st.certkeys[x["certkeyname"]]["info"]
                            if oi["keytype"] == kt and \
                                    names & set(n.lower() for n in oi["sandns"] or [oi["cn"]]):
                                raise NitroError("dup_sni")
                elif any(not x["snicert"] and not x["ca"] and
                         st.certkeys[x["certkeyname"]]["info"]["keytype"] == kt for x in mine):
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
