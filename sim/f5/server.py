"""Command line, listeners and ready.json."""

import os

import simlib

from .mgmt import make_handler
from .names import to_fullpath
from .state import Sim
from .virtuals import VirtualListener


def main():
    ap = simlib.arg_parser("F5 BIG-IP iControl REST simulator (TMOS 14+ naming), for lbcert tests.")
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
    ap.add_argument("--san-property", choices=("both", "rest", "tmsh"), default="both",
                    help="the SAN property spelling sys/crypto/key and csr take")
    # further sync-failover groups of the trust domain, listed but not this unit's
    ap.add_argument("--other-failover-group", action="append", default=[])
    ap.add_argument("--allow-bash", action="store_true",
                    help="answer /mgmt/tm/util/bash (a unit whose account has the advanced shell)")
    args = ap.parse_args()
    simlib.Pace.set(args)
    os.makedirs(args.dir, exist_ok=True)
    sim = Sim(args)
    units = []
    servers = []
    for u in range(sim.nunits):
        crt = os.path.join(sim.dir, "mgmt-%d.pem" % u)
        key = os.path.join(sim.dir, "mgmt-%d.key" % u)
        fp = simlib.make_self_signed(crt, key, cn="bigip-%d" % u)
        srv = simlib.ThreadedHTTPServer(make_handler(sim, u),
                                        ssl_context=simlib.server_context(crt, key))
        srv.start()
        servers.append(srv)
        units.append({"url": "https://127.0.0.1:%d" % srv.port, "ca_file": crt,
                      "fingerprint_sha256": fp,
                      "role": "active" if u == 0 else "standby"})
    vservers, http_vs = {}, {}
    listeners = []
    for name in args.virtual:
        lst = VirtualListener(sim, to_fullpath(name, None, args.partition), True)
        listeners.append(lst)
        vservers[name] = lst.port
    http_ports = simlib.http_ports(ap, args.http_port, args.http_virtual, "--http-virtual")
    for name in args.http_virtual:
        lst = VirtualListener(sim, to_fullpath(name, None, args.partition), False,
                              http_ports.get(name, 0))
        listeners.append(lst)
        vservers[name] = lst.port
        http_vs[name] = lst.port
    ready = {"units": units, "vservers": vservers, "http_vservers": http_vs,
             "partition": args.partition, "device_group": args.device_group if args.pair else None}
    simlib.write_json_atomic(os.path.join(sim.dir, "ready.json"), ready)

    def stop():
        for s in servers:
            s.shutdown()
        for lst in listeners:
            lst.sock.close()

    simlib.run_until_signal(stop)
