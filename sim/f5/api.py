"""/mgmt/tm dispatch, collections, deletes and transactions."""

import copy
import re

from .errors import ApiError, not_found
from .keys import KeysApi
from .names import split_fp, to_fullpath, url_name
from .profiles import ProfilesApi
from .request import check_props
from .rules import RulesApi
from .schema import COLLECTIONS, PROPS
from .system import SystemApi


class Api(KeysApi, ProfilesApi, RulesApi, SystemApi):
    def props(self, typ):
        """The properties a collection takes. Which spelling of the SAN a
        unit's key/CSR schema knows is not documented: --san-property picks
        one (default: both)."""
        allowed = PROPS[typ]
        drop = {"rest": "subject-alternative-name",
                "tmsh": "subjectAlternativeName"}.get(self.sim.args.san_property)
        return allowed - {drop} if drop and typ in ("key", "csr") else allowed

    def __init__(self, sim):
        self.sim = sim

    @property
    def st(self):
        return self.sim.state

    def part(self):
        return self.sim.args.partition

    # ---- /mgmt/tm dispatch ----------------------------------------------
    def tm(self, c):
        rest = c.path[len("/mgmt/tm/"):].strip("/")
        if rest == "sys/config":
            return self.sys_config(c)
        if rest == "cm":
            return self.cm_run(c)
        if rest == "cm/failover-status":
            return self.failover_status(c)
        if rest == "cm/sync-status":
            return self.sync_status(c)
        if rest.startswith("cm/device-group"):
            return self.device_group(c, rest)
        if rest == "sys/clock" and c.method == "GET":
            return 200, {"kind": "tm:sys:clock:clockstats", "entries": {}}
        if rest in ("util/unix-rm", "util/unix-mv", "util/bash"):
            return self.util(c, rest)
        if rest == "transaction" or rest.startswith("transaction/"):
            return self.transaction(c, rest)
        for coll, typ, kindname, label in COLLECTIONS:
            if rest == coll or rest.startswith(coll + "/"):
                tail = rest[len(coll):].strip("/")
                segs = tail.split("/") if tail else []
                return self.collection(c, coll, typ, kindname, label, segs)
        raise ApiError(404, "Public URI path not registered: %s" % c.path[len("/mgmt"):],
                       framework=True)

    def collection(self, c, coll, typ, kindname, label, segs):
        store = self.st[typ]
        expand = c.query.get("expandSubcollections") == "true"
        if typ == "virtual" and len(segs) >= 2 and segs[1] == "profiles":
            return self.vprofiles(c, url_name(segs[0], self.part()), segs[2:])
        if len(segs) > 1:
            raise ApiError(404, "Public URI path not registered: %s" % c.path[len("/mgmt"):],
                           framework=True)
        if not segs:
            if c.method == "GET":
                items = [self.sim.render(coll, kindname, o, expand) for o in store.values()]
                filt = c.query.get("$filter", "")
                m = re.match(r"partition\s+eq\s+(\S+)", filt)
                if m:
                    items = [i for i in items if i.get("partition") == m.group(1)]
                return 200, {"kind": kindname.rsplit(":", 1)[0] + ":" +
                             kindname.rsplit(":", 1)[1].replace("state", "collectionstate"),
                             "selfLink": "https://localhost/mgmt/tm/%s?ver=15.1.0" % coll,
                             "items": items}
            if c.method == "POST":
                check_props(c.body, self.props(typ), "/" + coll)
                obj = getattr(self, "create_" + typ)(c, coll, label)
                return 200, self.sim.render(coll, kindname, obj)
            raise ApiError(405, "Method not allowed", framework=True)
        fp = url_name(segs[0], self.part())
        obj = store.get(fp)
        if obj is None:
            raise not_found(label, fp)
        if c.method == "GET":
            return 200, self.sim.render(coll, kindname, obj, expand)
        if c.method in ("PATCH", "PUT"):
            check_props(c.body, self.props(typ), "/" + coll + "/" + fp)
            if not c.body or set(c.body) <= {"name", "partition", "fullPath", "kind"}:
                raise ApiError(400, "one or more properties must be specified", api=1)
            getattr(self, "modify_" + typ)(c, fp, obj, label)
            return 200, self.sim.render(coll, kindname, store[fp])
        if c.method == "DELETE":
            self.delete(typ, fp, label)
            return 200, None
        raise ApiError(405, "Method not allowed", framework=True)

    def body_fp(self, c, label):
        name = c.body.get("name")
        if not name or not isinstance(name, str):
            raise ApiError(400, "01070734:3: Configuration error: a name must be specified", api=1)
        fp = to_fullpath(name, c.body.get("partition"), "Common")
        part = split_fp(fp)[0]
        if part not in self.sim.partitions:
            raise ApiError(400, "01020036:3: The requested folder (/%s) was not found." % part)
        if "*" in fp or "<" in fp:
            raise ApiError(400, "the \"create\" command does not accept wildcard configuration identifiers", api=1)
        return fp

    def exists(self, store, fp, label):
        if fp in store:
            part = split_fp(fp)[0]
            raise ApiError(409, "01020066:3: The requested %s (%s) already exists in partition %s."
                           % (label, fp, part))

    # ---- delete ----------------------------------------------------------------
    def delete(self, typ, fp, label):
        st = self.st
        if typ in ("key", "cert"):
            for pfp, p in st["clientssl"].items():
                for e in p.get("certKeyChain", []):
                    if fp in (e.get("key"), e.get("cert"), e.get("chain")):
                        raise ApiError(400, "01071349:3: File object by name (%s) is in use." % fp)
        if typ == "key":
            for cfp, csr in st["csr"].items():
                if csr["key"] == fp:
                    raise ApiError(400, "01071349:3: File object by name (%s) is in use by CSR %s." % (fp, cfp))
        if typ == "clientssl":
            if any(p.get("defaultsFrom") == fp for p in st["clientssl"].values()):
                raise ApiError(400, "01070265:3: The ClientSSL Profile (%s) cannot be deleted because "
                               "it is the parent of another profile" % fp)
            for vfp, v in st["virtual"].items():
                if any(p["fullPath"] == fp for p in v["profiles"]):
                    raise ApiError(400, "01070265:3: The ClientSSL Profile (%s) cannot be deleted because "
                                   "it is in use by a virtual server profile (%s)." % (fp, vfp))
        if typ in ("http", "tcp", "virtual"):
            raise ApiError(400, "sim: %s objects are fixed" % typ)
        if typ == "rule":
            for vfp, v in st["virtual"].items():
                if fp in v.get("rules", []):
                    raise ApiError(400, "01071350:3: Cannot delete rule (%s) because it is in use by "
                                   "virtual server (%s)." % (fp, vfp))
        if typ == "datagroup":
            short = split_fp(fp)[1]
            for rfp, r in st["rule"].items():
                if re.search(r"(?<![\w/.-])(%s|%s)(?![\w.-])" % (re.escape(fp), re.escape(short)),
                             r.get("apiAnonymous", "")):
                    raise ApiError(400, "01070151:3: Rule [%s] error: Unable to find value_list (%s) "
                                   "referenced at [class match]" % (rfp, fp))
        del st[typ][fp]

    # ---- transactions --------------------------------------------------------
    def transaction(self, c, rest):
        segs = rest.split("/")
        if len(segs) == 1:
            if c.method != "POST":
                raise ApiError(405, "Method not allowed", framework=True)
            self.sim.next_trans += 1
            tid = self.sim.next_trans
            t = {"transId": tid, "state": "STARTED", "timeoutSeconds": 120,
                 "asyncExecution": False, "validateOnly": False, "executionTimeout": 300,
                 "executionTime": 0, "failedCommands": 0,
                 "kind": "tm:transactionstate",
                 "selfLink": "https://localhost/mgmt/tm/transaction/%d?ver=15.1.0" % tid,
                 "_cmds": [], "_unit": c.unit}
            self.sim.transactions[tid] = t
            return 200, {k: v for k, v in t.items() if not k.startswith("_")}
        try:
            t = self.sim.transactions[int(segs[1])]
        except (ValueError, KeyError):
            raise ApiError(404, "Transaction %s not found" % segs[1], framework=True)
        if c.method == "GET":
            return 200, {k: v for k, v in t.items() if not k.startswith("_")}
        if c.method == "DELETE":
            del self.sim.transactions[t["transId"]]
            return 200, None
        if c.method != "PATCH":
            raise ApiError(405, "Method not allowed", framework=True)
        check_props(c.body, {"state", "validateOnly"}, "/transaction")
        if c.body.get("state") != "VALIDATING":
            raise ApiError(400, "transaction state must be VALIDATING", framework=True)
        if t["state"] != "STARTED":
            raise ApiError(400, "transaction %d is %s" % (t["transId"], t["state"]), framework=True)
        if not t["_cmds"]:
            raise ApiError(404, "there is no command to commit in the transaction.", framework=True)
        snap = copy.deepcopy(self.sim.state)
        try:
            for sub in t["_cmds"]:
                self.tm(sub)
            self.sim.validate()
        except ApiError as ex:
            self.sim.state = snap
            t["state"] = "FAILED"
            t["failedCommands"] = 1
            raise ApiError(400, "transaction failed:" + ex.message, api=2)
        t["state"] = "COMPLETED"
        return 200, {k: v for k, v in t.items() if not k.startswith("_")}
