"""The management port: token and basic auth, faults, the request log and
the /_sim/ control endpoints."""

import base64
import copy
import hashlib
import http.server
import json
import os
import re
import secrets
import time
import urllib.parse

from simlib import OpensslError, Pace

from .api import Api
from .errors import ApiError
from .request import Ctx
from .schema import BULK_DIR, CHUNK_MAX, TOKENS_PER_USER, TOKEN_MAX_TIMEOUT, UPLOAD_DIR


def make_handler(sim, unit):
    api = Api(sim)

    class Handler(http.server.BaseHTTPRequestHandler):
        # Headers and body go out in separate writes: without TCP_NODELAY each
        # response waits ~40 ms on the client's delayed ACK.
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def send_json(self, status, obj, extra=None):
            data = b"" if obj is None else json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def read_body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PATCH(self):
            self.handle_any("PATCH")

        def do_PUT(self):
            self.handle_any("PUT")

        def do_DELETE(self):
            self.handle_any("DELETE")

        def handle_any(self, method):
            u = urllib.parse.urlsplit(self.path)
            path = u.path
            query = dict(urllib.parse.parse_qsl(u.query))
            raw = self.read_body()
            if path.startswith("/_sim/"):
                return self.sim_control(method, path, raw)
            Pace.request()
            entry = {"unit": unit, "method": method, "path": path, "time": time.time()}
            try:
                status, obj = self.dispatch(method, path, query, raw, entry)
            except ApiError as ex:
                status, obj = ex.code, ex.body()
            entry["status"] = status
            with sim.lock:
                sim.requests.append(entry)
                if (unit != 0 and sim.args.pair and method != "GET" and entry.get("write")):
                    sim.standby_writes.append(entry)
            if isinstance(obj, tuple) and obj[0] == "raw":
                _, data, extra = obj
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_json(status, obj)

        def check_fault(self, method, path):
            with sim.lock:
                for f in sim.faults:
                    if f.get("count", 1) <= 0:
                        continue
                    if f.get("unit") not in (None, unit):
                        continue
                    if f.get("method") not in (None, method):
                        continue
                    if not path.startswith(f.get("path", "/mgmt/")):
                        continue
                    f["count"] = f.get("count", 1) - 1
                    if f.get("kind") == "expire_tokens":
                        sim.tokens.clear()
                        return None
                    st = int(f.get("status", 500))
                    msg = f.get("message", "The connection to mcpd has been lost, try again.")
                    return ApiError(st, msg, api=32768001)
            return None

        def auth(self, path):
            tok = self.headers.get("X-F5-Auth-Token")
            now = time.time()
            with sim.lock:
                if tok:
                    t = sim.tokens.get(tok)
                    if t and t["expires"] > now:
                        return t
                    raise ApiError(401, "X-F5-Auth-Token does not exist.", framework=True)
            ah = self.headers.get("Authorization", "")
            if ah.startswith("Basic "):
                try:
                    u, p = base64.b64decode(ah[6:]).decode().split(":", 1)
                except Exception:
                    u, p = None, None
                if u == sim.args.user and p == sim.args.password:
                    return {"user": u}
                raise ApiError(401, "Authentication failed.", framework=True)
            raise ApiError(401, "Authorization failed: no user authentication header or token "
                           "detected. Uri:http://localhost:8100%s" % path, framework=True)

        def dispatch(self, method, path, query, raw, entry):
            f = self.check_fault(method, path)
            if f:
                raise f
            if path == "/mgmt/shared/authn/login":
                return self.login(method, raw)
            self.auth(path)
            if path.startswith("/mgmt/shared/authz/tokens/"):
                return self.token_op(method, path.rsplit("/", 1)[1], raw)
            if path == "/mgmt/shared/echo-query":
                return 200, {"kind": "shared:echo-query:echoquerystate"}
            if path.startswith("/mgmt/shared/file-transfer/bulk/"):
                return self.bulk(method, path[len("/mgmt/shared/file-transfer/bulk/"):])
            if path.startswith("/mgmt/shared/file-transfer/uploads/"):
                entry["write"] = True
                entry["resource"] = path
                return self.upload(method, path[len("/mgmt/shared/file-transfer/uploads/"):], raw)
            if not path.startswith("/mgmt/tm/"):
                raise ApiError(404, "Public URI path not registered: %s" % path[len("/mgmt"):]
                               if path.startswith("/mgmt") else path, framework=True)
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Found invalid JSON body in the request.", api=1)
            if body is None:
                body = {}
            ctx = Ctx(sim, unit, method, path, query, body, self.headers)
            read_only = method == "GET" or path.endswith("/cm/sync-status") or (
                path.endswith("/util/bash") and re.match(r"-c\s+'(tmsh list |cat )",
                                                       str(body.get("utilCmdArgs"))))
            if not read_only:
                entry["write"] = True
                entry["resource"] = path
                if isinstance(body, dict) and body.get("name"):
                    entry["name"] = body.get("name")
            coord = self.headers.get("X-F5-REST-Coordination-Id")
            if coord and (path == "/mgmt/tm/transaction" or
                          path.startswith("/mgmt/tm/transaction/")):
                # The reference (§4.5) says the commit must not carry the
                # header; the exact refusal is a SIM CHOICE.
                raise ApiError(400, "Transaction %s: the transaction endpoint cannot be called "
                               "from within a transaction (drop X-F5-REST-Coordination-Id)"
                               % coord, framework=True)
            with sim.lock:
                if coord and method != "GET" and "/transaction" not in path:
                    try:
                        t = sim.transactions[int(coord)]
                    except (ValueError, KeyError):
                        raise ApiError(400, "Transaction %s does not exist" % coord, framework=True)
                    if t["state"] != "STARTED":
                        raise ApiError(400, "Transaction %s is not open" % coord, framework=True)
                    t["_cmds"].append(Ctx(sim, unit, method, path, query, copy.deepcopy(body), {}))
                    entry["transaction"] = int(coord)
                    echo = {k: v for k, v in body.items() if k != "passphrase"} if isinstance(body, dict) else {}
                    if isinstance(echo.get("certKeyChain"), list):
                        echo["certKeyChain"] = [{k: v for k, v in e.items() if k != "passphrase"}
                                                for e in echo["certKeyChain"] if isinstance(e, dict)]
                    return 200, dict(echo, kind="tm:transaction:commandsstate")
                snap = copy.deepcopy(sim.state)
                try:
                    status, obj = api.tm(ctx)
                    if not read_only:
                        sim.validate()
                except ApiError:
                    sim.state = snap
                    raise
                except OpensslError as ex:
                    sim.state = snap
                    raise ApiError(400, "01070712:3: %s" % str(ex)[:300])
                if not read_only:
                    sim.note_gaps(snap, method, path)
                return status, obj

        def login(self, method, raw):
            if method != "POST":
                raise ApiError(405, "Method not allowed", framework=True)
            try:
                b = json.loads(raw or b"{}")
            except ValueError:
                raise ApiError(400, "Found invalid JSON body in the request.", framework=True)
            if b.get("loginProviderName", "tmos") != "tmos" and not b.get("loginReference"):
                raise ApiError(401, "Authentication failed.", framework=True)
            if b.get("username") != sim.args.user or b.get("password") != sim.args.password:
                raise ApiError(401, "Authentication failed.", framework=True)
            tok = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(26))
            now = time.time()
            with sim.lock:
                live = sum(1 for t in sim.tokens.values()
                           if t["user"] == b["username"] and t["expires"] > now)
                if b["username"] != "admin" and live >= TOKENS_PER_USER:
                    uid = hashlib.md5(b["username"].encode()).hexdigest()
                    raise ApiError(400, "user %s-%s-%s-%s-%s has reached maximum active login "
                                   "tokens" % (uid[:8], uid[8:12], uid[12:16], uid[16:20],
                                               uid[20:]), framework=True)
                sim.tokens[tok] = {"user": b["username"], "timeout": 1200, "start": now,
                                   "expires": now + 1200}
                sim.seen_tokens.add(tok)
            return 200, {"username": b["username"], "loginProviderName": "tmos",
                         "token": self.token_view(tok)}

        def token_view(self, tok):
            t = sim.tokens[tok]
            return {"token": tok, "name": tok, "userName": t["user"], "authProviderName": "tmos",
                    "timeout": t["timeout"], "startTime": time.strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t["start"])),
                    "partition": "[All]", "lastUpdateMicros": int(time.time() * 1e6),
                    "expirationMicros": int(t["expires"] * 1e6),
                    "kind": "shared:authz:tokens:authtokenitemstate",
                    "selfLink": "https://localhost/mgmt/shared/authz/tokens/" + tok}

        def token_op(self, method, tok, raw):
            own = self.headers.get("X-F5-Auth-Token")
            with sim.lock:
                if tok not in sim.tokens:
                    raise ApiError(404, "Token %s not found" % tok[:4], framework=True)
                if own and own != tok and sim.tokens.get(own, {}).get("user") != sim.tokens[tok]["user"]:
                    raise ApiError(400, "not your token", framework=True)
                if method == "GET":
                    return 200, self.token_view(tok)
                if method == "DELETE":
                    view = self.token_view(tok)
                    del sim.tokens[tok]
                    return 200, view
                if method == "PATCH":
                    try:
                        b = json.loads(raw or b"{}")
                        to = int(b["timeout"])
                    except (ValueError, KeyError, TypeError):
                        raise ApiError(400, "timeout must be specified", framework=True)
                    if to > TOKEN_MAX_TIMEOUT:
                        raise ApiError(406, "Auth-token absolute timeout (36000 seconds) exceeded",
                                       framework=True)
                    t = sim.tokens[tok]
                    t["timeout"] = to
                    t["expires"] = time.time() + to
                    return 200, self.token_view(tok)
            raise ApiError(405, "Method not allowed", framework=True)

        def bulk(self, method, name):
            """GET of a file in /var/config/rest/bulk, in the Content-Range
            chunks the client asks for ("start-end/total", total 0 while
            unknown); the answer's Content-Range gives the real total."""
            if method != "GET":
                raise ApiError(405, "Method not allowed", framework=True)
            name = urllib.parse.unquote(name)
            if not name or "/" in name or name.startswith("."):
                raise ApiError(400, "Invalid file name %s" % name, framework=True)
            p = os.path.join(sim.bulk_dir(unit), name)
            if not os.path.isfile(p):
                raise ApiError(404, "File %s/%s not found" % (BULK_DIR, name), framework=True)
            data = open(p, "rb").read()
            start, end = 0, len(data) - 1
            m = re.fullmatch(r"(\d+)-(\d+)/(\d+)", (self.headers.get("Content-Range") or "").strip())
            if m:
                start, end = int(m.group(1)), min(int(m.group(2)), len(data) - 1)
            if start > end:
                raise ApiError(400, "Content-Range beyond the end of %s" % name, framework=True)
            return 200, ("raw", data[start:end + 1],
                         {"Content-Range": "%d-%d/%d" % (start, end, len(data))})

        def upload(self, method, name, raw):
            if method != "POST":
                raise ApiError(405, "Method not allowed", framework=True)
            name = urllib.parse.unquote(name)
            if not name or "/" in name or name.startswith("."):
                raise ApiError(400, "Invalid file name %s" % name, framework=True)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/octet-stream":
                # Reference §4.1: uploads are raw bytes, application/octet-stream
                # (the refusal text is a SIM CHOICE).
                raise ApiError(400, "Content-Type %s is not supported for file uploads; use "
                               "application/octet-stream" % (ctype or "(none)"), framework=True)
            cr = self.headers.get("Content-Range")
            m = re.fullmatch(r"(\d+)-(\d+)/(\d+)", (cr or "").strip())
            if not m:
                raise ApiError(400, "Content-Range header is missing or invalid: %s" % cr,
                               framework=True)
            start, end, total = (int(x) for x in m.groups())
            if end < start or end >= total:
                raise ApiError(400, "Content-Range %s: end must be >= start and < total" % cr,
                               framework=True)
            if end - start + 1 != len(raw):
                raise ApiError(400, "Content-Range %s does not match the body length %d"
                               % (cr, len(raw)), framework=True)
            if len(raw) > CHUNK_MAX:
                raise ApiError(400, "Chunk size %d exceeds the maximum of %d bytes"
                               % (len(raw), CHUNK_MAX), framework=True)
            path = os.path.join(sim.upload_dir(unit), name)
            with sim.lock:
                up = sim.uploads[unit].get(name)
                if start == 0:
                    up = {"total": total, "have": 0, "done": False, "chunks": {}}
                    open(path, "wb").close()
                    os.chmod(path, 0o600)
                elif up is None or up["done"] or up["total"] != total or start != up["have"]:
                    raise ApiError(400, "Content-Range %s is not contiguous with the %d bytes "
                                   "received" % (cr, up["have"] if up else 0), framework=True)
                with open(path, "ab") as f:
                    f.write(raw)
                up["chunks"][str(start)] = len(raw)
                up["have"] = end + 1
                up["done"] = up["have"] == total
                sim.uploads[unit][name] = up
                return 200, {"remainingByteCount": total - up["have"],
                             "usedChunks": up["chunks"], "totalByteCount": total,
                             "localFilePath": UPLOAD_DIR + "/" + name,
                             "temporaryFilePath": UPLOAD_DIR + "/tmp/" + name,
                             "generation": 0, "lastUpdateMicros": int(time.time() * 1e6)}

        def sim_control(self, method, path, raw):
            if path == "/_sim/state" and method == "GET":
                with sim.lock:
                    out = {}
                    for typ, store in sim.state.items():
                        out[typ] = {}
                        for fp, o in store.items():
                            d = {k: v for k, v in o.items() if not k.startswith("_")}
                            if typ == "clientssl":
                                d["certKeyChain"] = [
                                    dict({k: v for k, v in e.items() if not k.startswith("_")},
                                         has_passphrase=bool(e.get("_passphrase")))
                                    for e in o.get("certKeyChain", [])]
                            if typ in ("key", "cert", "csr"):
                                d["file"] = o["_file"]
                            out[typ][fp] = d
                    out["tokens"] = len(sim.tokens)
                    out["saves"] = sim.saves
                    out["unsaved"] = sim.unsaved()
                    out["sync_status"] = sim.sync_state()
                    out["gaps"] = list(sim.gaps)
                    out["bulk"] = [sorted(os.listdir(sim.bulk_dir(u))) for u in range(sim.nunits)]
                    out["sync_runs"] = list(sim.sync_runs)
                    out["standby_writes"] = sim.standby_writes
                    out["uploads"] = [sorted(os.listdir(sim.upload_dir(u))) for u in range(sim.nunits)]
                    out["transactions"] = {str(k): v["state"] for k, v in sim.transactions.items()}
                return self.send_json(200, out)
            if path == "/_sim/passphrases" and method == "GET":
                # test-only: lets a test prove no file and no log holds one
                with sim.lock:
                    return self.send_json(200, sorted(sim.seen_pass))
            if path == "/_sim/sync" and method == "POST":
                # test-only: how long a config-sync stays "Syncing"
                try:
                    secs = float(json.loads(raw or b"{}")["seconds"])
                except (ValueError, KeyError, TypeError):
                    return self.send_json(400, {"error": "want {\"seconds\": N}"})
                with sim.lock:
                    sim.sync_seconds = secs
                return self.send_json(200, {"ok": True})
            if path == "/_sim/tokens" and method == "GET":
                # test-only: every auth token ever issued, to prove none is logged
                with sim.lock:
                    return self.send_json(200, sorted(sim.seen_tokens))
            if path == "/_sim/requests" and method == "GET":
                with sim.lock:
                    return self.send_json(200, list(sim.requests))
            if path == "/_sim/requests/clear" and method == "POST":
                with sim.lock:
                    sim.requests.clear()
                    return self.send_json(200, {})
            if path == "/_sim/fault" and method == "POST":
                try:
                    f = json.loads(raw or b"{}")
                except ValueError:
                    return self.send_json(400, {"error": "bad json"})
                with sim.lock:
                    if f.get("clear"):
                        sim.faults = []
                    else:
                        sim.faults.append(f)
                return self.send_json(200, {"ok": True})
            return self.send_json(404, {"error": "unknown sim endpoint"})

    Handler.sim = sim
    return Handler
