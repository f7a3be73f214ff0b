"""Command line, listener and ready.json."""

import os

import simlib

from .ca import CA
from .handler import Handler
from .state import State


def main():
    ap = simlib.arg_parser("Sectigo Certificate Manager REST simulator (classic header auth).",
                           pace=False)
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
    cert = os.path.join(args.dir, "mgmt-0.pem")
    key = os.path.join(args.dir, "mgmt-0.key")
    fp = simlib.make_self_signed(cert, key)
    srv = simlib.ThreadedHTTPServer(Handler, ssl_context=simlib.server_context(cert, key))
    srv.start()
    simlib.write_json_atomic(os.path.join(args.dir, "ready.json"), {
        "units": [{"url": "https://127.0.0.1:%d/api" % srv.port, "ca_file": cert,
                   "fingerprint_sha256": fp}],
        "ca_root": ca.root, "ca_intermediate": ca.int})

    def stop():
        srv.shutdown()
        srv.server_close()

    simlib.run_until_signal(stop)
