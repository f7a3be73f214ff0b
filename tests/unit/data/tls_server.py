#!/usr/bin/env python3
"""Loopback HTTPS/TLS test server for test_http and test_tlsprobe.

    tls_server.py --cert C --key K [--sni NAME=CERT:KEY ...]

Binds 127.0.0.1 on a free port and prints "PORT <n>" on stdout once it
accepts connections. Stops on SIGTERM. HTTP/1.1 with keep-alive.

Paths (any method):
  /ok                 200 "hello"
  /stats              200 {"connections": n, "requests": n, "paths": {...}}
                      (this request itself is not counted)
  /flaky/KEY?fail=N   503 for the first N requests to KEY, then 200
  /busy/KEY?after=S   429 with Retry-After: S (default 1) once per KEY,
                      then 200
  /always503          503
  /reset/KEY?n=N      resets the connection (TCP RST, no answer) for the
                      first N (default 1) requests to KEY, then 200
  /stall?s=S          answers 200 after S seconds
  /big?size=N         N bytes of "x" (Content-Length)
  /bigchunked?size=N  N bytes of "x" chunked (no Content-Length)
  /echo               200, echoes the request headers and body as JSON
With --sni, the certificate is chosen by the client's server name; the
HTTP side works the same.
"""
import argparse
import http.server
import json
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

lock = threading.Lock()
stats = {"connections": 0, "requests": 0, "paths": {}}
counters = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with lock:
            stats["connections"] += 1

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if u.path == "/stats":
            with lock:
                return self.send(200, json.dumps(stats),
                                 [("Content-Type", "application/json")])
        with lock:
            stats["requests"] += 1
            key = self.command + " " + u.path
            stats["paths"][key] = stats["paths"].get(key, 0) + 1
            count = counters[u.path] = counters.get(u.path, 0) + 1
        if u.path == "/ok":
            return self.send(200, "hello", [("X-Test", "a"), ("X-Test", "b")])
        if u.path.startswith("/flaky/"):
            if count <= int(q.get("fail", "1")):
                return self.send(503, "busy")
            return self.send(200, "recovered")
        if u.path.startswith("/busy/"):
            if count == 1:
                return self.send(429, "slow down",
                                 [("Retry-After", q.get("after", "1"))])
            return self.send(200, "thanks")
        if u.path.startswith("/reset/"):
            if count <= int(q.get("n", "1")):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            return self.send(200, "after reset")
        if u.path == "/stall":
            time.sleep(float(q.get("s", "1")))
            return self.send(200, "late")
        if u.path == "/always503":
            return self.send(503, "down")
        if u.path == "/big":
            return self.send(200, b"x" * int(q["size"]))
        if u.path == "/bigchunked":
            size = int(q["size"])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            left = size
            try:
                while left > 0:
                    c = chunk[:min(left, len(chunk))]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                    left -= len(c)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            self.close_connection = True
            return
        if u.path == "/echo":
            return self.send(200, json.dumps({
                "method": self.command,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace")}),
                [("Content-Type", "application/json")])
        return self.send(404, "not found")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ctx):
        self.ctx = ctx
        super().__init__(("127.0.0.1", 0), Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # Headers and body go out in separate writes; without this,
        # Nagle and delayed ACKs add 40 ms to every response.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Handshake in the handler thread: a client that aborts the
        # handshake (pin mismatch) must not stall the accept loop.
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


def context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--sni", action="append", default=[])
    a = ap.parse_args()
    ctx = context(a.cert, a.key)
    by_name = {}
    for s in a.sni:
        name, files = s.split("=", 1)
        cert, key = files.split(":", 1)
        by_name[name] = context(cert, key)
    if by_name:
        def pick(sslobj, name, _ctx):
            if name in by_name:
                sslobj.context = by_name[name]
        ctx.sni_callback = pick
    srv = Server(ctx)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
