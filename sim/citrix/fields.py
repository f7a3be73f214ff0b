"""Strict checks of a NITRO request object's fields, and GET list answers
(filter, attrs, count)."""

import re
import urllib.parse

import simlib

from .errors import NitroError, ok_body


def need(obj, *names):
    for n in names:
        if obj.get(n) in (None, ""):
            raise NitroError("missing", n)


def check_fields(obj, allowed):
    for k in obj:
        if k not in allowed:
            raise NitroError("invalid_arg", k)


def as_bool(obj, k, default=False):
    v = obj.get(k, default)
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false", "yes", "no"):
        return v.lower() in ("true", "yes")
    raise NitroError("invalid_arg", k)


def as_int(obj, k, lo, hi, default=None):
    v = obj.get(k, default)
    if isinstance(v, bool):
        raise NitroError("invalid_arg", k)
    if isinstance(v, str) and v.isdigit():
        v = int(v)
    if not isinstance(v, int) or not lo <= v <= hi:
        raise NitroError("invalid_arg", "%s, value not in range %d..%d" % (k, lo, hi))
    return v


def as_enum(obj, k, choices, default=None):
    v = obj.get(k, default)
    if v not in choices:
        raise NitroError("invalid_arg", k)
    return v


def as_str(obj, k, maxlen=None, default=None):
    v = obj.get(k, default)
    if v is None:
        return None
    if not isinstance(v, str):
        raise NitroError("invalid_arg", k)
    if maxlen and len(v) > maxlen:
        raise NitroError("invalid_arg", "%s, value of length greater than %d" % (k, maxlen))
    return v


def list_result(resource, items, q, singleton=False):
    """Applies filter=, attrs=, count= to a GET listing (ref §1.5)."""
    if "filter" in q:
        flt = simlib.parse_kv_list(q["filter"])
        def keep(it):
            for k, v in flt.items():
                have = it.get(k)
                have = "" if have is None else (str(have).lower() if isinstance(have, bool) else str(have))
                if len(v) > 1 and v.startswith("/") and v.endswith("/"):
                    if not re.search(v[1:-1], have):
                        return False
                elif have.lower() != v.lower():
                    return False
            return True
        items = [it for it in items if keep(it)]
    if q.get("count", "").lower() == "yes":
        return ok_body(**{resource: [{"__count": len(items)}]})
    if "attrs" in q:
        attrs = [urllib.parse.unquote(a) for a in q["attrs"].split(",")]
        items = [{k: v for k, v in it.items() if k in attrs} for it in items]
    if not items:
        return ok_body()
    if singleton:
        return ok_body(**{resource: items[0]})
    return ok_body(**{resource: items})
