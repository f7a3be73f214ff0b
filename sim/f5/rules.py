"""iRules and internal data groups."""

from .errors import ApiError
from .names import split_fp
from .request import check_props


class RulesApi:
    """Mixed into Api."""

    # ---- rules / data groups ---------------------------------------------------
    def create_rule(self, c, coll, label):
        fp = self.body_fp(c, label)
        self.exists(self.st["rule"], fp, label)
        part, short = split_fp(fp)
        self.st["rule"][fp] = {"name": short, "partition": part, "fullPath": fp,
                               "apiAnonymous": c.body.get("apiAnonymous", "")}
        return self.st["rule"][fp]

    def modify_rule(self, c, fp, obj, label):
        if "apiAnonymous" in c.body:
            obj["apiAnonymous"] = c.body["apiAnonymous"]

    def create_datagroup(self, c, coll, label):
        fp = self.body_fp(c, label)
        self.exists(self.st["datagroup"], fp, label)
        if c.body.get("type") not in ("string", "ip", "integer"):
            raise ApiError(400, "01070734:3: Configuration error: data group type must be string, ip or integer")
        part, short = split_fp(fp)
        obj = {"name": short, "partition": part, "fullPath": fp, "type": c.body["type"]}
        self.st["datagroup"][fp] = obj
        self.set_records(obj, c.body.get("records", []))
        return obj

    def set_records(self, obj, recs):
        if not isinstance(recs, list):
            raise ApiError(400, "records must be an array", api=1)
        out = []
        for r in recs:
            check_props(r, {"data"}, "/ltm/data-group/internal/%s/records" % obj["fullPath"])
            if not r.get("name"):
                raise ApiError(400, "01070734:3: a record needs a name")
            out.append({"name": r["name"], "data": r.get("data", "")})
        if out:
            obj["records"] = out
        else:
            obj.pop("records", None)

    def modify_datagroup(self, c, fp, obj, label):
        if "type" in c.body and c.body["type"] != obj["type"]:
            raise ApiError(400, "01070734:3: the type of a data group cannot be changed")
        if "records" in c.body:
            self.set_records(obj, c.body["records"])
