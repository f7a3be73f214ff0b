"""client-ssl, http and tcp profiles, and virtuals with their profiles."""

import copy

from .errors import ApiError, masked, not_found
from .names import split_fp, to_fullpath, url_name
from .request import check_props, parse_bool
from .schema import CKC_PROPS


class ProfilesApi:
    """Mixed into Api."""

    # ---- profiles ------------------------------------------------------------
    def parse_ckc(self, fp, lst, old=()):
        if not isinstance(lst, list):
            raise ApiError(400, "certKeyChain must be an array", api=1)
        stored = {masked(e["_passphrase"]): e["_passphrase"] for e in old if e.get("_passphrase")}
        out = []
        for e in lst:
            check_props(e, CKC_PROPS, "/ltm/profile/client-ssl/%s/certKeyChain" % fp)
            if not e.get("name"):
                raise ApiError(400, "01070734:3: cert-key-chain entry needs a name")
            i = {"name": e["name"], "cert": to_fullpath(e.get("cert", ""), None, "Common"),
                 "key": to_fullpath(e.get("key", ""), None, "Common")}
            ch = e.get("chain")
            i["chain"] = to_fullpath(ch, None, "Common") if ch and ch != "none" else "none"
            if e.get("passphrase"):
                i["_passphrase"] = stored.get(e["passphrase"]) or self.unmask(e["passphrase"])
            out.append(i)
        return out

    def unmask(self, value):
        """The box decrypts any "$M$" form its master key made, not only
        those of the profile being changed (a rollback sends back an entry
        read while it was in service); anything else is a clear passphrase."""
        for pw in self.sim.seen_pass:
            if masked(pw) == value:
                return pw
        return value

    def apply_clientssl(self, fp, obj, b):
        legacy = [k for k in ("cert", "key", "chain", "passphrase") if k in b]
        if legacy and "certKeyChain" in b:
            raise ApiError(400, "01b4002a:3: Client SSL profile (%s):cert-key-chain and profile "
                           "cert/key/chain/passphrase options cannot be specified together." % fp)
        if "certKeyChain" in b:
            obj["certKeyChain"] = self.parse_ckc(fp, b["certKeyChain"], obj.get("certKeyChain", []))
        elif legacy:
            e = {"name": split_fp(fp)[1] + "_0", "cert": b.get("cert"), "key": b.get("key"),
                 "chain": b.get("chain", "none")}
            if b.get("passphrase"):
                e["passphrase"] = b["passphrase"]
            obj["certKeyChain"] = self.parse_ckc(fp, [e])
        for f in ("serverName",):
            if f in b:
                obj[f] = b[f] or "none"
        for f in ("sniDefault", "sniRequire"):
            if f in b:
                obj[f] = parse_bool(b[f], f)
        if obj.get("sniRequire") == "true" and obj.get("sniDefault") != "true":
            raise ApiError(400, "01071802:3: sni-require requires sni-default on profile %s" % fp)

    def create_clientssl(self, c, coll, label):
        b = c.body
        fp = self.body_fp(c, label)
        self.exists(self.st["clientssl"], fp, label)
        parent = to_fullpath(b.get("defaultsFrom", "/Common/clientssl"), None, "Common")
        pobj = self.st["clientssl"].get(parent)
        if pobj is None:
            raise ApiError(400, "01020036:3: The requested parent profile (%s) was not found." % parent)
        part, short = split_fp(fp)
        obj = {"name": short, "partition": part, "fullPath": fp, "defaultsFrom": parent,
               "serverName": "none", "sniDefault": "false", "sniRequire": "false",
               "certKeyChain": copy.deepcopy(pobj.get("certKeyChain", []))}
        self.apply_clientssl(fp, obj, b)
        self.st["clientssl"][fp] = obj
        return obj

    def modify_clientssl(self, c, fp, obj, label):
        if "defaultsFrom" in c.body:
            parent = to_fullpath(c.body["defaultsFrom"], None, "Common")
            if parent not in self.st["clientssl"] or parent == fp:
                raise ApiError(400, "01020036:3: The requested parent profile (%s) was not found." % parent)
            obj["defaultsFrom"] = parent
        self.apply_clientssl(fp, obj, c.body)

    def create_http(self, c, coll, label):
        raise ApiError(400, "sim: creating http profiles is not supported")

    create_tcp = create_http

    def modify_http(self, c, fp, obj, label):
        raise ApiError(400, "sim: modifying http profiles is not supported")

    modify_tcp = modify_http

    # ---- virtuals ------------------------------------------------------------
    def create_virtual(self, c, coll, label):
        raise ApiError(400, "sim: virtual servers are fixed by --virtual/--http-virtual")

    def norm_profiles(self, lst, vfp):
        out = []
        for p in lst:
            if isinstance(p, str):
                p = {"name": p}
            check_props(p, {"context"}, "/ltm/virtual/%s/profiles" % vfp)
            pfp = to_fullpath(p.get("name", ""), p.get("partition"), "Common")
            out.append(self.profile_entry(vfp, pfp, p.get("context", "all")))
        return out

    def profile_entry(self, vfp, pfp, context):
        if context not in ("all", "clientside", "serverside"):
            raise ApiError(400, "01070734:3: invalid profile context %s" % context)
        if not any(pfp in self.st[t] for t in ("clientssl", "http", "tcp")):
            raise ApiError(400, "01020036:3: The requested profile (%s) was not found." % pfp)
        if pfp in self.st["clientssl"] and context != "clientside":
            raise ApiError(400, "01070097:3: Virtual server %s: a client SSL profile (%s) must have "
                           "context clientside." % (vfp, pfp))
        part, short = split_fp(pfp)
        return {"name": short, "partition": part, "fullPath": pfp, "context": context}

    def modify_virtual(self, c, fp, obj, label):
        b = c.body
        for k in b:
            if k not in ("profiles", "rules", "description", "name", "partition", "fullPath",
                         "kind", "enabled", "disabled"):
                raise ApiError(400, "sim: only profiles, rules and description may be modified")
        if "profiles" in b:
            obj["profiles"] = self.norm_profiles(b["profiles"], fp)
        if "rules" in b:
            if not isinstance(b["rules"], list):
                raise ApiError(400, "rules must be an array", api=1)
            rules = []
            for r in b["rules"]:
                rfp = to_fullpath(r, None, "Common")
                if rfp not in self.st["rule"]:
                    raise ApiError(400, "01070151:3: Rule (%s) was not found." % rfp)
                rules.append(rfp)
            obj["rules"] = rules
        if "description" in b:
            obj["description"] = b["description"]

    def vprofiles(self, c, vfp, segs):
        v = self.st["virtual"].get(vfp)
        if v is None:
            raise not_found("Virtual Server", vfp)
        if not segs:
            if c.method == "GET":
                return 200, {"kind": "tm:ltm:virtual:profiles:profilescollectionstate",
                             "items": [self.sim.render_vprof(vfp, p) for p in v["profiles"]]}
            if c.method == "POST":
                check_props(c.body, {"context"}, "/ltm/virtual/%s/profiles" % vfp)
                if not c.body.get("name"):
                    raise ApiError(400, "one or more properties must be specified", api=1)
                pfp = to_fullpath(c.body["name"], c.body.get("partition"), "Common")
                if any(p["fullPath"] == pfp for p in v["profiles"]):
                    raise ApiError(409, "01020066:3: The requested profile (%s) already exists on "
                                   "virtual server %s." % (pfp, vfp))
                e = self.profile_entry(vfp, pfp, c.body.get("context", "all"))
                v["profiles"].append(e)
                return 200, self.sim.render_vprof(vfp, e)
            raise ApiError(405, "Method not allowed", framework=True)
        pfp = url_name(segs[0], "Common")
        idx = [i for i, p in enumerate(v["profiles"]) if p["fullPath"] == pfp]
        if not idx:
            raise not_found("Profile", pfp)
        if c.method == "GET":
            return 200, self.sim.render_vprof(vfp, v["profiles"][idx[0]])
        if c.method == "DELETE":
            if not any(p["fullPath"] in self.st["tcp"] for i, p in enumerate(v["profiles"]) if i != idx[0]):
                raise ApiError(400, "01070097:3: Virtual server %s requires a protocol profile." % vfp)
            del v["profiles"][idx[0]]
            return 200, None
        raise ApiError(405, "Method not allowed", framework=True)
