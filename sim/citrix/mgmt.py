"""The management port: NITRO dispatch, login sessions, faults, /_sim/
control endpoints; and the plain HTTP vservers."""

import json
import secrets
import time
import urllib.parse

import simlib

from .errors import CFG, NitroError, ok_body
from .fields import as_int, check_fields, need
from .state import sim_state


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
