"""The responder policy expressions (a PI subset: HTTP.REQ.URL, HOSTNAME ...)
compiled to Python predicates; anything outside the subset is a syntax error."""

import re


TOKEN_RE = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>&&|\|\||[!()+.,])|'
                      r'(?P<id>[A-Za-z_][A-Za-z0-9_]*))')


def tokenize(s):
    pos, out = 0, []
    s = s.rstrip()
    while pos < len(s):
        m = TOKEN_RE.match(s, pos)
        if not m or m.end() == pos:
            raise ValueError("unexpected text at %d" % pos)
        pos = m.end()
        if m.group("str") is not None:
            out.append(("str", unescape(m.group("str")[1:-1])))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            out.append(("id", m.group("id")))
    return out


def unescape(s):
    rep = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(rep.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_target(expr):
    """A respondwith target: string literals joined by '+'."""
    toks = tokenize(expr)
    if not toks:
        raise ValueError("empty")
    parts, want_str = [], True
    for kind, val in toks:
        if want_str and kind == "str":
            parts.append(val)
        elif not want_str and (kind, val) == ("op", "+"):
            pass
        else:
            raise ValueError("unsupported target syntax")
        want_str = not want_str
    if want_str:
        raise ValueError("dangling +")
    return "".join(parts)


SUBJECTS = {
    ("HTTP", "REQ", "URL"): lambda r: r["url"],
    ("HTTP", "REQ", "URL", "PATH"): lambda r: r["url"].split("?", 1)[0],
    ("HTTP", "REQ", "URL", "PATH_AND_QUERY"): lambda r: r["url"],
    ("HTTP", "REQ", "HOSTNAME"): lambda r: r["host"],
}
OPS = {
    "EQ": lambda a, b: a == b,
    "CONTAINS": lambda a, b: b in a,
    "STARTSWITH": lambda a, b: a.startswith(b),
    "ENDSWITH": lambda a, b: a.endswith(b),
}


def parse_rule(expr):
    """Compiles the subset of PI expressions used for ACME (ref §8.1) into a
    predicate over {'url','host'}; ValueError on anything else."""
    toks = tokenize(expr)
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else (None, None)

    def take(kind=None, val=None):
        t = peek()
        if t[0] is None or (kind and t[0] != kind) or (val and t[1] != val):
            raise ValueError("syntax error near token %d" % pos[0])
        pos[0] += 1
        return t[1]

    def atom():
        t = peek()
        if t == ("op", "!"):
            take()
            f = atom()
            return lambda r: not f(r)
        if t == ("op", "("):
            take()
            f = orexpr()
            take("op", ")")
            return f
        first = take("id")
        if first.lower() in ("true", "false") and peek() != ("op", "."):
            v = first.lower() == "true"
            return lambda r: v
        chain = [first.upper()]
        lower = False
        while True:
            take("op", ".")
            name = take("id").upper()
            if name in OPS:
                take("op", "(")
                arg = take("str")
                take("op", ")")
                sub = SUBJECTS.get(tuple(chain))
                if sub is None:
                    raise ValueError("unsupported expression " + ".".join(chain))
                op = OPS[name]
                if lower:
                    return lambda r: op(sub(r).lower(), arg.lower())
                return lambda r: op(sub(r), arg)
            if name == "SET_TEXT_MODE":
                take("op", "(")
                mode = take("id").upper()
                take("op", ")")
                lower = mode == "IGNORECASE"
                continue
            if name == "TO_LOWER":
                lower = True
                continue
            chain.append(name)

    def andexpr():
        f = atom()
        while peek() == ("op", "&&"):
            take()
            g, f0 = atom(), f
            f = (lambda a, b: lambda r: a(r) and b(r))(f0, g)
        return f

    def orexpr():
        f = andexpr()
        while peek() == ("op", "||"):
            take()
            g, f0 = andexpr(), f
            f = (lambda a, b: lambda r: a(r) or b(r))(f0, g)
        return f

    fn = orexpr()
    if pos[0] != len(toks):
        raise ValueError("trailing tokens")
    return fn
