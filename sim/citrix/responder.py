"""Responder actions, policies and bindings (ref §8.1), and their evaluation
on the HTTP vservers (ACME http-01)."""

import simlib

from .errors import NitroError, ok_body
from .fields import as_enum, as_int, as_str, check_fields, list_result, need
from .rules import parse_rule, parse_target


class ResponderApi:
    """responder resources; mixed into Nitro (state.lock held)."""

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
