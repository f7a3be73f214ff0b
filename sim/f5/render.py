"""How a GET shows an object (kind, selfLink, generation, masked secrets)."""

import base64
import copy
import hashlib
import re

from .errors import masked
from .schema import COLLECTIONS


class SimRender:
    """Mixed into Sim."""

    # ---- rendering ----------------------------------------------------------
    def render(self, coll, kindname, obj, expand=False):
        out = {"kind": kindname}
        for k, v in obj.items():
            if k.startswith("_"):
                continue
            out[k] = copy.deepcopy(v)
        fp = obj["fullPath"]
        out["selfLink"] = "https://localhost/mgmt/tm/%s/%s?ver=15.1.0" % (coll, fp.replace("/", "~"))
        if coll.startswith("sys/crypto"):
            out["name"] = fp
        if kindname.startswith("tm:sys:crypto:cert"):
            m = re.search(r"CN=([^,]+)", obj.get("subject", ""))
            out["commonName"] = m.group(1) if m else ""
            out["apiRawValues"] = {"certificateKeySize": str(obj.get("certificateKeySize")),
                                   "expiration": obj.get("expirationString"),
                                   "issuer": obj.get("issuer"),
                                   "publicKeyType": "EC" if obj.get("keyType") == "ec-public" else "RSA"}
        if "key" == self.coll_type(coll):
            if obj.get("securityType") == "password":
                out["passphrase"] = "$M$" + base64.b64encode(hashlib.sha256(fp.encode()).digest()[:12]).decode()
        if self.coll_type(coll) == "clientssl":
            ckc = []
            for e in obj.get("certKeyChain", []):
                i = {k: v for k, v in e.items() if not k.startswith("_")}
                if e.get("_passphrase"):
                    i["passphrase"] = masked(e["_passphrase"])
                ckc.append(i)
            out["certKeyChain"] = ckc
            out["inheritCertkeychain"] = "false" if obj.get("certKeyChain") else "true"
            first = ckc[0] if ckc else {}
            out["cert"] = first.get("cert", "none")
            out["key"] = first.get("key", "none")
            out["chain"] = first.get("chain", "none")
        if self.coll_type(coll) == "virtual":
            profs = out.pop("profiles", [])
            link = out["selfLink"].split("?")[0] + "/profiles?ver=15.1.0"
            out["profilesReference"] = {"link": link, "isSubcollection": True}
            if expand:
                out["profilesReference"]["items"] = [self.render_vprof(fp, p) for p in profs]
            if not out.get("rules"):
                out.pop("rules", None)
        return out

    def render_vprof(self, vfp, p):
        d = dict(p)
        d["kind"] = "tm:ltm:virtual:profiles:profilesstate"
        d["selfLink"] = "https://localhost/mgmt/tm/ltm/virtual/%s/profiles/%s?ver=15.1.0" % (
            vfp.replace("/", "~"), p["fullPath"].replace("/", "~"))
        return d

    @staticmethod
    def coll_type(coll):
        for c, t, _, _ in COLLECTIONS:
            if c == coll:
                return t
        return None
