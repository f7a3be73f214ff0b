"""Command line, listeners and ready.json."""

import os
import threading

import simlib

from .errors import DEFAULT_FRONTEND
from .mgmt import make_http_vs_handler, make_mgmt_handler
from .nitro import Nitro
from .state import State
from .vserver_tls import VserverListener, VserverTLS


def main(argv=None):
    ap = simlib.arg_parser("Simulated Citrix ADC / NetScaler (13.0+) NITRO REST API.")
    ap.add_argument("--ha", action="store_true")
    ap.add_argument("--vserver", action="append", default=[])
    ap.add_argument("--http-vserver", action="append", default=[])
    # Fixed port for an HTTP vserver (the port an ACME CA's http-01
    # validation connects to); the others take a free port.
    ap.add_argument("--http-port", action="append", default=[], metavar="NAME=PORT")
    ap.add_argument("--user", default="nsroot")
    ap.add_argument("--password", default="nsroot")
    ap.add_argument("--session-timeout", type=int, default=None)
    ap.add_argument("--version", default="13.1")
    # Which of the documented GET shapes to serve (ref §1.4): "default"
    # (numbers as numbers, singletons as objects) or "strings" (numbers as
    # strings, singletons as arrays). A client must take both.
    ap.add_argument("--nitro-variant", default="default", choices=("default", "strings"))
    # `set ssl parameter -defaultProfile ENABLED`: every SSL vserver has
    # ns_default_ssl_profile_frontend bound and per-vserver SSL settings are
    # refused with errorcode 3740 (ref §6).
    ap.add_argument("--default-profile", action="store_true")
    # RESPONDER feature disabled: responder objects can be made but are
    # never evaluated.
    ap.add_argument("--responder-off", action="store_true")
    args = ap.parse_args(argv)
    simlib.Pace.set(args)

    os.makedirs(args.dir, exist_ok=True)
    st = State(args)
    api = Nitro(st)
    tls = VserverTLS(st)
    servers = []

    for spec in args.vserver:
        name, _, kind = spec.partition(":")
        kind = kind or "lb"
        if kind not in ("lb", "cs", "vpn"):
            ap.error("bad vserver type in %r" % spec)
        srv = VserverListener(name, tls)
        st.vservers[name] = {"name": name, "kind": kind, "servicetype": "SSL",
                             "snienable": "DISABLED", "port": srv.server_address[1]}
        if args.default_profile:
            st.vservers[name]["sslprofile"] = DEFAULT_FRONTEND
        servers.append(srv)
    http_ports = simlib.http_ports(ap, args.http_port, args.http_vserver, "--http-vserver")
    for name in args.http_vserver:
        srv = simlib.ThreadedHTTPServer(make_http_vs_handler(st, api, name),
                                        port=http_ports.get(name, 0))
        st.vservers[name] = {"name": name, "kind": "lb", "servicetype": "HTTP",
                             "snienable": "DISABLED", "port": srv.port}
        servers.append(srv)

    st.saved = st.config()  # the appliance starts from its saved configuration
    units = []
    for unit in range(2 if args.ha else 1):
        cert = os.path.join(st.dir, "mgmt-%d.pem" % unit)
        key = os.path.join(st.dir, "mgmt-%d.key" % unit)
        fp = simlib.make_self_signed(cert, key, cn="netscaler-node%d" % unit)
        srv = simlib.ThreadedHTTPServer(make_mgmt_handler(st, api, unit),
                                        ssl_context=simlib.server_context(cert, key))
        servers.append(srv)
        units.append({"url": "https://127.0.0.1:%d" % srv.port, "ca_file": cert,
                      "fingerprint_sha256": fp,
                      "role": "primary" if unit == 0 else "secondary"})

    for srv in servers:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()

    simlib.write_json_atomic(os.path.join(st.dir, "ready.json"), {
        "units": units,
        "vservers": {n: v["port"] for n, v in st.vservers.items() if v["servicetype"] == "SSL"},
        "http_vservers": {n: v["port"] for n, v in st.vservers.items()
                          if v["servicetype"] == "HTTP"},
    })

    def stop():
        for srv in servers:
            srv.shutdown()
            srv.server_close()

    simlib.run_until_signal(stop)
    return 0
