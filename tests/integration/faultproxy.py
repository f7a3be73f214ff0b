"""A fault-injecting TLS reverse proxy for the crash and fault sweeps.

One Tap is shared by several Proxy listeners (one per management or CA
endpoint), so that the requests lbcert sends to every peer are numbered in
one order. Each Proxy terminates TLS with its own certificate (lbcert
trusts it by ca_file), forwards each request over TLS to its upstream
(loopback, unverified) on one upstream connection per client connection,
keeps the client's Host header (Pebble builds its URLs and checks the JWS
"url" from it, so ACME traffic needs no rewriting) and logs every request.

The Tap can be armed once: at global request number N, or at the first
request whose "METHOD path" matches a regex, it

  hold      holds the request without forwarding it (the server never
            processed it) until disarm(), then drops the connection;
  drop      forwards it, reads the answer and holds the client connection
            unanswered until disarm() (the server processed it, the answer
            never came);
  status    answers (status, body, headers) without forwarding;
  reset     resets the connection (TCP RST) without forwarding;
  stall     forwards it and answers nothing for `seconds`, then closes;
  malformed forwards it and answers 200 with a truncated JSON body;
  oversized forwards it and answers 200 with a body above lbcert's 8 MiB cap.

`fired` (threading.Event) is set when the armed request arrives. Python 3
standard library only.
"""
import http.client
import json
import os
import re
import socket
import ssl
import struct
import threading

HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection",
       "te", "upgrade", "content-length"}


class Tap:
    def __init__(self):
        self.lock = threading.Lock()
        self.log = []
        self.arm_spec = None
        self.fired = threading.Event()
        self.release = threading.Event()
        self.hit = None
        # called with each log entry as its request arrives, before it is
        # forwarded (the calibration records lbcert's journal there)
        self.on_request = None

    def reset_log(self):
        with self.lock:
            self.log = []

    def arm(self, action, at=None, match=None, pred=None, **params):
        """at: 0-based index in the log (counted from the last reset_log);
        match: regex searched in "METHOD /path?query"; pred: a function of
        the log entry (called once per request, in order)."""
        with self.lock:
            self.arm_spec = dict(params, action=action, at=at, pred=pred,
                                 match=re.compile(match) if match else None)
            self.fired.clear()
            self.release.clear()
            self.hit = None

    def disarm(self):
        with self.lock:
            self.arm_spec = None
        self.release.set()

    def _take(self, entry):
        """Logs a request; returns the armed spec if this request fires it."""
        with self.lock:
            entry["n"] = len(self.log)
            self.log.append(entry)
            a = self.arm_spec
            if a is None:
                return None
            key = entry["method"] + " " + entry["path"]
            if (a["at"] is not None and a["at"] == entry["n"]) or \
                    (a["match"] is not None and a["match"].search(key)) or \
                    (a["pred"] is not None and a["pred"](entry)):
                self.arm_spec = None
                self.hit = entry
                entry["fault"] = a["action"]
                return a
            return None


class _Closed(Exception):
    pass


def _recv_request(f):
    """(method, target, headers[list of (k, v)], body) or raises _Closed."""
    line = f.readline(65537)
    if not line:
        raise _Closed()
    while line in (b"\r\n", b"\n"):
        line = f.readline(65537)
        if not line:
            raise _Closed()
    method, target, _ = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers = []
    while True:
        h = f.readline(65537)
        if not h:
            raise _Closed()
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers.append((k.strip(), v.strip()))
    return method, target, headers


def _hget(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def _read_body(f, sock, headers):
    if (_hget(headers, "expect") or "").lower() == "100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    te = (_hget(headers, "transfer-encoding") or "").lower()
    if "chunked" in te:
        out = b""
        while True:
            n = int(f.readline().split(b";")[0].strip() or b"0", 16)
            if n == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += f.read(n)
            f.readline()
    n = int(_hget(headers, "content-length") or 0)
    return f.read(n) if n else b""


def _send(sock, status, reason, headers, body):
    head = [f"HTTP/1.1 {status} {reason}"]
    for k, v in headers:
        if k.lower() not in HOP:
            head.append(f"{k}: {v}")
    head.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def _rst(sock):
    """Closes with SO_LINGER 0: the peer sees a TCP reset, and no TLS
    close_notify (Python's SSLSocket.close sends none)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Proxy:
    """TLS listener on 127.0.0.1 forwarding to upstream "https://host:port"."""

    def __init__(self, tap, name, upstream, cert, key):
        self.tap, self.name = tap, name
        host_port = upstream.split("//", 1)[1].split("/", 1)[0]
        self.up_host, _, p = host_port.partition(":")
        self.up_port = int(p or 443)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.up_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.up_ctx.check_hostname = False
        self.up_ctx.verify_mode = ssl.CERT_NONE
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.conns = set()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _upstream(self):
        return http.client.HTTPSConnection(self.up_host, self.up_port, context=self.up_ctx,
                                           timeout=120)

    def _forward(self, up, method, target, headers, body):
        """Returns (up, status, reason, headers, body); reconnects once if the
        kept-alive upstream connection was closed by the server."""
        for attempt in (1, 2):
            if up is None:
                up = self._upstream()
            try:
                up.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    if k.lower() not in HOP:
                        up.putheader(k, v)
                if body or method in ("POST", "PUT", "PATCH"):
                    up.putheader("Content-Length", str(len(body)))
                up.endheaders(body if body else None)
                r = up.getresponse()
                data = r.read()
                return up, r.status, r.reason, r.getheaders(), data
            except (http.client.HTTPException, OSError):
                up.close()
                up = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _serve(self, raw):
        up = None
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        f = s.makefile("rb")
        try:
            while True:
                method, target, headers = _recv_request(f)
                body = _read_body(f, s, headers)
                entry = {"target": self.name, "method": method, "path": target,
                         "status": None, "forwarded": False, "write": is_write(method, body)}
                if "/finalize-order/" in target or "finalize" in target:
                    # the CSR tells which key a purchase was for
                    entry["body"] = body.decode("latin-1")
                if self.tap.on_request:
                    self.tap.on_request(entry)
                a = self.tap._take(entry)
                act = a["action"] if a else None
                if act is not None and act not in ("drop", "stall"):
                    self.tap.fired.set()
                if act == "hold":
                    self.tap.release.wait(300)
                    raise _Closed()
                if act == "reset":
                    _rst(s)
                    return
                if act == "status":
                    entry["status"] = a["status"]
                    _send(s, a["status"], "Fault",
                          [("Content-Type", a.get("ctype", "application/json"))]
                          + list(a.get("headers", [])), a.get("body", b""))
                    continue
                up, st, reason, rh, data = self._forward(up, method, target, headers, body)
                entry["status"] = st
                entry["forwarded"] = True
                if act == "drop":
                    # processed; the client waits for an answer that never
                    # comes until the test has killed it
                    self.tap.fired.set()
                    self.tap.release.wait(300)
                    raise _Closed()
                if act == "stall":
                    self.tap.fired.set()
                    self.tap.release.wait(a.get("seconds", 5))
                    raise _Closed()
                if act == "malformed":
                    data = b'{"errorcode": 0, "message": "Done", "truncated": ["'
                    rh = [("Content-Type", "application/json")]
                    st, reason = 200, "OK"
                if act == "oversized":
                    data = b'{"pad": "' + b"a" * (9 * 1024 * 1024) + b'"}'
                    rh = [("Content-Type", "application/json")]
                    st, reason = 200, "OK"
                _send(s, st, reason, rh, data)
                if (_hget(headers, "connection") or "").lower() == "close":
                    raise _Closed()
        except (_Closed, OSError, ValueError, http.client.HTTPException):
            pass
        finally:
            if up is not None:
                up.close()
            try:
                s.close()
            except OSError:
                pass


def is_write(method, body):
    """Whether the request may change the server's state: anything but
    GET/HEAD and ACME POST-as-GET (a JWS with an empty payload)."""
    if method in ("GET", "HEAD"):
        return False
    if method == "POST" and body[:1] == b"{":
        try:
            doc = json.loads(body)
            if isinstance(doc, dict) and set(doc) == {"protected", "payload", "signature"} \
                    and doc["payload"] == "":
                return False
        except ValueError:
            pass
    return True


def make_cert(d):
    """Self-signed CA + 127.0.0.1 server certificate; (ca_file, cert, key)."""
    from pebble import make_tls
    return make_tls(os.path.join(d, "proxy-tls"))


def dump(log):
    return json.dumps(log, indent=1)
