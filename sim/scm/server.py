"""Command line, listener and ready.json."""

import argparse
import json
import os
import signal
import ssl
import threading
from http.server import ThreadingHTTPServer

from .ca import CA, fingerprint, openssl
from .handler import Handler
from .state import State


def mgmt_cert(d):
    cert = os.path.join(d, "mgmt-0.pem")
    key = os.path.join(d, "mgmt-0.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", cert, "-days", "30",
            "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    return cert, key


def main():
    ap = argparse.ArgumentParser(description="Sectigo Certificate Manager REST simulator (classic header auth).")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--customer-uri", default="example")
    ap.add_argument("--login", default="api-user")
    ap.add_argument("--password", required=True)
    ap.add_argument("--pending", type=int, default=0,
                    help="collects answered -183 before each certificate is collectable")
    ap.add_argument("--org-id", default="1234", help="valid orgId values, comma-separated")
    ap.add_argument("--types", default="224:InstantSSL Pro:365/730,"
                    "225:PremiumSSL Wildcard:365,226:Sectigo OV Multi-Domain:365/730")
    ap.add_argument("--refuse-domain", action="append",
                    help="names under this domain fail DCV (-107); repeatable")
    ap.add_argument("--collect-form", default="both",
                    choices=("both", "query", "path", "default-only"),
                    help="which documented collect URL forms this instance serves")
    ap.add_argument("--pending-style", default="error", choices=("error", "empty"),
                    help="not yet collectable: 400/-183 (error) or an empty 200 (empty)")
    ap.add_argument("--custom-field", action="append",
                    help="NAME or NAME:mandatory, a custom field of the tenant; repeatable")
    ap.add_argument("--dcv-required", action="store_true",
                    help="no DCV pre-validation: enroll needs dcvMode")
    ap.add_argument("--revoke-reason", default="int", choices=("int", "string"),
                    help="the JSON type revoke binds reasonCode to")
    ap.add_argument("--list-id", default="sslId", choices=("sslId", "id"),
                    help="the id field of the request listing")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    ca = CA(args.dir)
    Handler.st = State(args, ca)
    cert, key = mgmt_cert(args.dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            # Handshake in the handler thread, so that one stuck client
            # cannot block the accept loop.
            sock, addr = self.socket.accept()
            return ctx.wrap_socket(sock, server_side=True,
                                   do_handshake_on_connect=False), addr

    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]

    ready = {"units": [{"url": "https://127.0.0.1:%d/api" % port, "ca_file": cert,
                        "fingerprint_sha256": fingerprint(cert)}],
             "ca_root": ca.root, "ca_intermediate": ca.int}
    tmp = os.path.join(args.dir, ".ready.json.tmp")
    with open(tmp, "w") as f:
        json.dump(ready, f)
    os.rename(tmp, os.path.join(args.dir, "ready.json"))

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()
