"""hanode, nsversion, nsconfig (save) and hafiles (sync) (ref §7)."""

import os
import time

from .errors import NitroError, ok_body
from .fields import as_bool, check_fields, list_result
from .state import SSL_DIR


class SystemApi:
    """HA, version and configuration; mixed into Nitro (state.lock held)."""

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
