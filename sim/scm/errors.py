"""SCM error answers ({"code": <negative int>, "description": ...}) and the
strict field check every JSON body goes through."""


class ApiError(Exception):
    def __init__(self, status, code, description):
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description

def err(status, code, description):
    raise ApiError(status, code, description)


def check_fields(body, fields):
    if not isinstance(body, dict):
        err(400, -1002, "Cannot parse message body")
    for k, v in body.items():
        want = fields.get(k)
        if want is None:
            err(400, -1002, "Cannot parse message body")
        if v is None:
            continue
        if want is int and (isinstance(v, bool) or not isinstance(v, int)):
            err(400, -1002, "Cannot parse message body")
        if want is not int and not isinstance(v, want):
            err(400, -1002, "Cannot parse message body")


def under(name, domain):
    name = name.lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
    return name == domain or name.endswith("." + domain)
