"""HTTP plumbing, header auth, faults, the request log, the /_sim/ control
endpoints and the route table."""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from .certs import CertsApi
from .errors import ApiError, err
from .revoke import RevokeApi


class Handler(CertsApi, RevokeApi, BaseHTTPRequestHandler):
    # Headers and body go out in separate writes: without TCP_NODELAY each
    # response waits ~40 ms on the client's delayed ACK.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "SimSCM/1.0"
    st = None  # State, set in main

    def log_message(self, fmt, *a):
        if os.environ.get("SIM_DEBUG"):
            sys.stderr.write("sectigo_scm: " + fmt % a + "\n")

    # -- plumbing ---------------------------------------------------------

    def send(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def json_body(self, raw):
        ctype = (self.headers.get("Content-Type") or "").lower()
        if not ctype.startswith("application/json"):
            err(415, -1, "Content type '%s' not supported" % ctype)
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            err(400, -1002, "Cannot parse message body")

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def dispatch(self, method):
        url = urlsplit(self.path)
        path = url.path
        raw = self.read_body()
        if path.startswith("/_sim/"):
            return self.sim(method, path, raw)
        st = self.st
        resource = None
        status = 500
        try:
            fault = self.take_fault(path)
            if fault and fault.get("drop") == "before":
                return self.drop(method, path, None)
            if fault and not fault.get("drop"):
                raise ApiError(fault["status"], fault.get("code", -2),
                               fault.get("description",
                                         "Internal error. Please contact Support for details."))
            self.auth()
            status, body, ctype, headers, resource = self.route(method, path,
                                                                 parse_qs(url.query), raw)
            if fault:
                return self.drop(method, path, resource)
            self.send(status, body, ctype, headers)
        except ApiError as e:
            status = e.status
            hdr = {"WWW-Authenticate": 'Basic realm="cert-manager"'} if e.status == 401 else None
            self.send(e.status, {"code": e.code, "description": e.description},
                      headers=hdr)
        except Exception as e:  # a simulator bug: say so loudly
            status = 500
            sys.stderr.write("sectigo_scm: internal error: %r\n" % e)
            self.send(500, {"code": -2,
                            "description": "Internal error. Please contact Support for details."})
        with st.lock:
            entry = {"method": method, "path": path, "status": status}
            if url.query:
                entry["query"] = url.query
            if method != "GET" and resource is not None:
                entry["resource"] = resource
            st.requests.append(entry)

    def drop(self, method, path, resource):
        """Closes the connection without a byte of answer (a lost answer)."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass
        with self.st.lock:
            entry = {"method": method, "path": path, "status": 0, "dropped": True}
            if resource is not None:
                entry["resource"] = resource
            self.st.requests.append(entry)

    def take_fault(self, path):
        with self.st.lock:
            for f in self.st.faults:
                if f["path_contains"] in path and f["count"] > 0:
                    f["count"] -= 1
                    return dict(f)
        return None

    def auth(self):
        a = self.st.args
        if (self.headers.get("login") != a.login
                or self.headers.get("password") != a.password
                or self.headers.get("customerUri") != a.customer_uri):
            err(401, -16, "Unknown user")

    # -- test-only control ------------------------------------------------

    def sim(self, method, path, raw):
        st = self.st
        if method == "GET" and path == "/_sim/state":
            with st.lock:
                certs = {str(k): {kk: vv for kk, vv in v.items()
                                  if kk not in ("pem", "csr")}
                         for k, v in st.certs.items()}
                return self.send(200, {"issued_per_key": st.issued_per_key,
                                       "enrolls": st.enrolls, "collects": st.collects,
                                       "revoked": st.revoked, "certs": certs})
        if method == "GET" and path == "/_sim/requests":
            with st.lock:
                return self.send(200, list(st.requests))
        if method == "POST" and path == "/_sim/requests/clear":
            with st.lock:
                st.requests.clear()
                return self.send(200, {})
        if method == "POST" and path == "/_sim/fault":
            try:
                f = json.loads(raw or b"{}")["fail_next"]
                f = {"path_contains": str(f.get("path_contains", "")),
                     "status": int(f.get("status", 500)), "count": int(f.get("count", 1)),
                     **({"code": int(f["code"])} if "code" in f else {}),
                     **({"description": str(f["description"])} if "description" in f else {}),
                     **({"drop": str(f["drop"])} if f.get("drop") in ("before", "after") else {})}
            except (ValueError, KeyError, TypeError, AttributeError):
                return self.send(400, {"error": "want {\"fail_next\": {path_contains, status, count}}"})
            with st.lock:
                st.faults.append(f)
            return self.send(200, {"ok": True})
        return self.send(404, {"error": "no such sim endpoint"})

    # -- the API ------------------------------------------------------------

    def route(self, method, path, query, raw):
        p = path.rstrip("/")
        if not p.startswith("/api/ssl/v1"):
            err(404, -1, "Not found: %s" % path)
        rest = p[len("/api/ssl/v1"):].lstrip("/").split("/")
        form = self.st.args.collect_form
        routes = [
            (("",), "GET", self.listing),
            (("types",), "GET", self.types),
            (("customFields",), "GET", self.custom_fields),
            (("enroll",), "POST", self.enroll),
        ]
        if form != "path":
            routes.append((("collect", "*"), "GET", self.collect_query))
        if form in ("both", "path"):
            routes.append((("collect", "*", "*"), "GET", self.collect_path))
        routes += [
            (("revoke", "manual"), "POST", self.revoke_manual),
            (("revoke", "serial", "*"), "POST", self.revoke_serial),
            (("revoke", "*"), "POST", self.revoke_id),
            (("*",), "GET", self.details),
        ]
        allowed = []
        for pat, m, fn in routes:
            if len(pat) != len(rest) or any(a != "*" and a != b for a, b in zip(pat, rest)):
                continue
            if m != method:
                allowed.append(m)
                continue
            args = [b for a, b in zip(pat, rest) if a == "*"]
            return fn(query, raw, *args)
        if allowed:
            err(405, -1, "Request method '%s' not supported" % method)
        err(404, -1, "Not found: %s" % path)
