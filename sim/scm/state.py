"""The tenant as configured and the requests, certificates and faults so far."""

import sys
import threading

from .schema import KEY_TYPES


class State:
    def __init__(self, args, ca):
        self.lock = threading.Lock()
        self.args = args
        self.ca = ca
        self.types = parse_types(args.types)
        self.orgs = {int(x) for x in str(args.org_id).split(",")}
        self.refuse = [d.lower().strip(".") for d in (args.refuse_domain or [])]
        self.next_id = 10001
        self.certs = {}  # sslId -> dict
        self.issued_per_key = {}
        self.enrolls = 0
        self.collects = 0
        self.revoked = []
        self.requests = []
        self.faults = []
        self.custom_fields = []
        for i, cf in enumerate(args.custom_field or []):
            name, _, flag = cf.partition(":")
            self.custom_fields.append({"id": 100 + i, "name": name,
                                       "mandatory": flag == "mandatory"})


def parse_types(spec):
    types = []
    for item in spec.split(","):
        parts = item.strip().split(":")
        if len(parts) < 2:
            sys.exit("--types: want id:name[:term/term...], got %r" % item)
        terms = [int(t) for t in parts[2].split("/")] if len(parts) > 2 else [365, 730]
        types.append({"id": int(parts[0]), "name": parts[1],
                      "description": parts[1], "terms": terms,
                      "keyTypes": KEY_TYPES, "useSecondaryOrgName": False})
    return types
