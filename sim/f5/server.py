"""Command line, listeners and ready.json."""

import argparse
import json
import os
import signal
import ssl
import threading

from simlib import Pace

from .crypto import fingerprint, openssl, write_atomic
from .mgmt import ThreadedServer, make_handler
from .names import to_fullpath
from .state import Sim
from .virtuals import VirtualListener


def main():
    ap = argparse.ArgumentParser(description="F5 BIG-IP iControl REST simulator (TMOS 14+ naming), for lbcert tests.")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pair", action="store_true")
    ap.add_argument("--virtual", action="append", default=[])
    ap.add_argument("--http-virtual", action="append", default=[])
    # Fixed port for an HTTP virtual's listener (the port an ACME CA's
    # http-01 validation connects to); the others take a free port.
    ap.add_argument("--http-port", action="append", default=[], metavar="NAME=PORT")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="admin-pw")
    ap.add_argument("--partition", default="Common")
    ap.add_argument("--device-group", default="dg-failover")
    ap.add_argument("--allow-bash", action="store_true",
                    help="answer /mgmt/tm/util/bash (a unit whose account has the advanced shell)")
    Pace.add_args(ap)
    args = ap.parse_args()
    Pace.set(args)
    os.makedirs(args.dir, exist_ok=True)
    sim = Sim(args)
    units = []
    servers = []
    for u in range(sim.nunits):
        crt = os.path.join(sim.dir, "mgmt-%d.pem" % u)
        key = os.path.join(sim.dir, "mgmt-%d.key" % u)
        openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", key, "-out", crt, "-days", "30",
                 "-subj", "/CN=bigip-%d" % u,
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                 "-addext", "basicConstraints=critical,CA:TRUE"])
        srv = ThreadedServer(("127.0.0.1", 0), make_handler(sim, u))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        units.append({"url": "https://127.0.0.1:%d" % srv.server_address[1], "ca_file": crt,
                      "fingerprint_sha256": fingerprint(crt),
                      "role": "active" if u == 0 else "standby"})
    vservers, http_vs = {}, {}
    listeners = []
    for name in args.virtual:
        lst = VirtualListener(sim, to_fullpath(name, None, args.partition), True)
        listeners.append(lst)
        vservers[name] = lst.port
    http_ports = {}
    for spec in args.http_port:
        name, _, port = spec.partition("=")
        if name not in args.http_virtual or not port.isdigit():
            ap.error("--http-port wants NAME=PORT for an --http-virtual NAME, got %r" % spec)
        http_ports[name] = int(port)
    for name in args.http_virtual:
        lst = VirtualListener(sim, to_fullpath(name, None, args.partition), False,
                              http_ports.get(name, 0))
        listeners.append(lst)
        vservers[name] = lst.port
        http_vs[name] = lst.port
    ready = {"units": units, "vservers": vservers, "http_vservers": http_vs,
             "partition": args.partition, "device_group": args.device_group if args.pair else None}
    write_atomic(os.path.join(sim.dir, "ready.json"), json.dumps(ready, indent=1))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(0.5):
        pass
    for s in servers:
        s.shutdown()
    for lst in listeners:
        lst.sock.close()
