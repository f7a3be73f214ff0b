"""One request (Ctx) and the strict checks of its body's properties."""

import json

from .errors import ApiError
from .schema import COMMON_PROPS


class Ctx:
    """One request: unit, method, path segments, query, body."""

    def __init__(self, sim, unit, method, path, query, body, headers):
        self.sim = sim
        self.unit = unit
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.headers = headers


def check_props(body, allowed, where):
    if not isinstance(body, dict):
        raise ApiError(400, "Found invalid JSON body in the request.", api=1)
    for k, v in body.items():
        if k not in allowed and k not in COMMON_PROPS:
            raise ApiError(400, "Found unexpected json pair at configuration item %s. "
                           "The json pair is \"%s\":%s." % (where, k, json.dumps(v)[:100]), api=1)


def parse_bool(v, field):
    if v in (True, "true", "enabled"):
        return "true"
    if v in (False, "false", "disabled"):
        return "false"
    raise ApiError(400, "Invalid value for %s: %s" % (field, v), api=1)
