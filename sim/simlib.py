"""Shared helpers for the lbcert simulators (Python 3 stdlib + `openssl`).

Generic on purpose: nothing here knows a product. The Citrix, BIG-IP and
SCM simulators use it for management TLS, ready.json, JSON request/response
plumbing, a request log and threaded (HTTPS) servers.
"""

import argparse
import hashlib
import http.server
import json
import os
import signal
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse


class OpensslError(Exception):
    pass


def openssl(*args, input=None, check=True, secret=None):
    """Runs `openssl ARGS`; returns stdout bytes. Raises OpensslError with
    stderr when it fails (and check is set). A secret goes to the child in
    the environment (LBSIM_PASS, see passin()), never on its command line,
    where any local user could read it."""
    env = None
    if secret is not None:
        env = dict(os.environ, LBSIM_PASS=secret)
    p = subprocess.run(["openssl"] + [str(a) for a in args], input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise OpensslError(p.stderr.decode(errors="replace").strip())
    return p.stdout


def passin(secret):
    """openssl arguments reading a key's passphrase given as openssl(secret=)."""
    return ["-passin", "env:LBSIM_PASS" if secret is not None else "pass:"]


def make_self_signed(cert_path, key_path, cn="127.0.0.1", days=30):
    """A self-signed management certificate with SAN IP:127.0.0.1 and
    DNS:localhost, so a client can verify it by ca_file. Returns the SHA-256
    fingerprint as 'AB:CD:...'."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key_path,
            "-out", cert_path, "-days", days, "-subj", "/CN=" + cn,
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext", "basicConstraints=critical,CA:TRUE")
    return fingerprint_sha256(cert_path)


def fingerprint_sha256(cert_path):
    with open(cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def write_json_atomic(path, obj):
    """Writes obj as JSON to path via a temp file + rename (readers never
    see a partial file)."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def server_context(cert_path, key_path):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


class RequestLog:
    """Thread-safe list of dicts (unit, method, path, status, write, ...)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items = []

    def add(self, **entry):
        entry.setdefault("time", time.time())
        with self._lock:
            self._items.append(entry)

    def list(self):
        with self._lock:
            return [dict(e) for e in self._items]

    def clear(self):
        with self._lock:
            self._items.clear()


class ThreadedHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """HTTP(S) server on 127.0.0.1:0, one thread per connection. With an
    SSLContext the TLS handshake runs in the connection's thread, so a slow
    or silent client cannot stall accept()."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler, ssl_context=None, host="127.0.0.1", port=0):
        self.ssl_context = ssl_context
        super().__init__((host, port), handler)

    @property
    def port(self):
        return self.server_address[1]

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(10)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
            request.settimeout(None)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # Peers closing mid-request are normal in tests; keep stderr quiet.
        pass

    def start(self):
        t = threading.Thread(target=self.serve_forever, daemon=True)
        t.start()
        return t


def parse_query(raw_query):
    """Splits a query string into a dict of raw (still %-encoded) values,
    so that callers can split `args=k:v,k:v` before decoding (a value may
    hold an encoded ',' or ':')."""
    out = {}
    for part in raw_query.split("&") if raw_query else []:
        if not part:
            continue
        k, _, v = part.partition("=")
        out[urllib.parse.unquote_plus(k)] = v
    return out


def parse_kv_list(raw):
    """'k1:v1,k2:v2' (values %-encoded) -> dict of decoded values."""
    out = {}
    for item in raw.split(","):
        if not item:
            continue
        k, sep, v = item.partition(":")
        out[urllib.parse.unquote(k)] = urllib.parse.unquote(v) if sep else ""
    return out


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """BaseHTTPRequestHandler with JSON helpers. Subclasses implement
    dispatch(method) and may read self.body_bytes / self.json_body()."""
    # Headers and body go out in separate writes: without TCP_NODELAY each
    # response waits ~40 ms on the client's delayed ACK.
    disable_nagle_algorithm = True

    protocol_version = "HTTP/1.1"
    server_version = "simlib"
    max_body = 8 * 1024 * 1024

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > self.max_body:
            raise ValueError("body too large")
        self.body_bytes = self.rfile.read(n) if n > 0 else b""
        return self.body_bytes

    def send_json(self, status, obj, headers=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or []):
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)
        self.last_status = status

    def _run(self, method):
        self.last_status = None
        self.body_bytes = b""
        self.dispatch(method)

    def do_GET(self):
        self._run("GET")

    def do_POST(self):
        self._run("POST")

    def do_PUT(self):
        self._run("PUT")

    def do_DELETE(self):
        self._run("DELETE")

    def do_PATCH(self):
        self._run("PATCH")

    def do_HEAD(self):
        self._run("HEAD")


def arg_parser(description, pace=True):
    """The options every simulator has: --dir, and the Pace knobs unless
    pace is False (a CA answers at once)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--dir", required=True)
    if pace:
        Pace.add_args(ap)
    return ap


def http_ports(ap, specs, names, flag):
    """--http-port NAME=PORT values -> {NAME: PORT}: the fixed port of a plain
    HTTP listener (the one an ACME CA's http-01 validation connects to); the
    others take a free port. NAME must be one of names (given by flag)."""
    out = {}
    for spec in specs:
        name, _, port = spec.partition("=")
        if name not in names or not port.isdigit():
            ap.error("--http-port wants NAME=PORT for an %s NAME, got %r" % (flag, spec))
        out[name] = int(port)
    return out


def run_until_signal(on_stop=None):
    """Blocks until SIGTERM/SIGINT, then calls on_stop()."""
    ev = threading.Event()

    def handler(signum, frame):
        ev.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not ev.wait(0.5):
        pass
    if on_stop:
        on_stop()


class Pace:
    """Real appliances answer a management request in tens to hundreds of
    milliseconds and take about a second to make an RSA key on the box; the
    simulators answer at once unless told (--latency-ms, --keygen-ms), so a
    benchmark can show what --jobs buys at real speeds. The request wait
    happens outside the simulator's state lock, as on a device whose
    management plane serves sessions side by side."""

    latency = 0.0
    keygen = 0.0

    @classmethod
    def add_args(cls, ap):
        ap.add_argument("--latency-ms", type=int, default=0,
                        help="answer every API request this much later")
        ap.add_argument("--keygen-ms", type=int, default=0,
                        help="take this long to make a key pair on the box")

    @classmethod
    def set(cls, args):
        cls.latency = max(args.latency_ms, 0) / 1000.0
        cls.keygen = max(args.keygen_ms, 0) / 1000.0

    @classmethod
    def request(cls):
        if cls.latency:
            time.sleep(cls.latency)

    @classmethod
    def make_key(cls):
        if cls.keygen:
            time.sleep(cls.keygen)
