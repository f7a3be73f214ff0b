"""The appliance state: running configuration, files per unit, sessions,
saved snapshot and the test-facing records (gaps, propagation failures)."""

import json
import os
import threading
import time

import simlib

from .errors import DEFAULT_BACKEND, DEFAULT_FRONTEND, NitroError


SSL_DIR = "/nsconfig/ssl"
FS_ROOTS = ("/nsconfig", "/var/tmp", "/var/netscaler/ssl")


class State:
    def __init__(self, args):
        self.lock = threading.RLock()
        self.dir = os.path.abspath(args.dir)
        self.version = args.version
        self.variant = args.nitro_variant
        self.users = {args.user: args.password}
        self.ha = args.ha
        self.session_cap = args.session_timeout
        self.certkeys = {}       # name -> dict
        self.bindings = []       # dicts: vservername, certkeyname, snicert, ca
        self.vservers = {}       # name -> dict(name, kind, servicetype, snienable, port)
        self.ractions = {}
        self.rpolicies = {}
        self.rglobal = []        # dicts: policyname, priority, type, gotopriorityexpression
        self.rvsbind = []        # dicts: kind, name, policyname, priority, ...
        self.counters = {"saves": 0, "hafiles_sync": 0, "writes": {}, "writes_ok": {},
                         "logins": 0, "logouts": 0}
        self.sessions = {}       # unit -> {sid: {user, timeout, last}}
        self.issued_sids = []    # every session id ever issued (test-only, for leak checks)
        self.faults = []
        self.default_profile = "ENABLED" if args.default_profile else "DISABLED"
        self.sslprofiles = {n: {"name": n, "snienable": "DISABLED"}
                            for n in (DEFAULT_FRONTEND, DEFAULT_BACKEND)}
        self.features = {"LB", "CS", "SSL", "REWRITE"}
        if not args.responder_off:
            self.features.add("RESPONDER")
        self.saved = None        # config snapshot at the last save
        self.gaps = []
        self.prop_failures = []
        self.generation = 0
        self.last_change = time.time()
        self.last_save = None
        self.log = simlib.RequestLog()
        for r in FS_ROOTS:
            os.makedirs(self.host_path(r), exist_ok=True)
        os.makedirs(self.host_path(SSL_DIR), exist_ok=True)
        self.run_dir = os.path.join(self.dir, "run")
        os.makedirs(self.run_dir, exist_ok=True)
        # the secondary's own /nsconfig/ssl (HA file sync copies into it)
        self.sec_ssl = os.path.join(self.dir, "secondary", SSL_DIR.lstrip("/"))
        if self.ha:
            os.makedirs(self.sec_ssl, exist_ok=True)

    def snienable(self, vs):
        """SNI as in effect: the bound profile's when default profiles are on."""
        if self.default_profile == "ENABLED" and vs.get("sslprofile"):
            return self.sslprofiles[vs["sslprofile"]]["snienable"]
        return vs["snienable"]

    def config(self):
        """The running configuration (files are not part of it), canonical."""
        cks = {n: {k: c.get(k) for k in ("cert", "key", "linkcertkeyname", "inform",
                                         "expirymonitor", "notificationperiod")}
               for n, c in self.certkeys.items()}
        vss = {n: {"snienable": v["snienable"], "ssl": v.get("ssl", {}),
                   "sslprofile": v.get("sslprofile")} for n, v in self.vservers.items()}
        doc = {"certkeys": cks, "bindings": sorted(json.dumps(b, sort_keys=True)
                                                   for b in self.bindings),
               "vservers": vss, "sslprofiles": self.sslprofiles,
               "defaultprofile": self.default_profile, "features": sorted(self.features),
               "ractions": {n: {k: v for k, v in a.items()
                                if not k.startswith("_") and k != "hits"}
                            for n, a in self.ractions.items()},
               "rpolicies": {n: {k: v for k, v in p.items() if not k.startswith("_")}
                             for n, p in self.rpolicies.items()},
               "rglobal": sorted(json.dumps(b, sort_keys=True) for b in self.rglobal),
               "rvsbind": sorted(json.dumps(b, sort_keys=True) for b in self.rvsbind)}
        return json.dumps(doc, sort_keys=True, default=str)

    def unsaved(self):
        return self.saved is not None and self.config() != self.saved

    def serving(self):
        """SSL vservers that present a server certificate now."""
        out = set()
        for b in self.bindings:
            ck = self.certkeys.get(b["certkeyname"])
            vs = self.vservers.get(b["vservername"])
            if b["ca"] or ck is None or not ck.get("key") or vs is None:
                continue
            if not b["snicert"] or self.snienable(vs) == "ENABLED":
                out.add(vs["name"])
        return out

    def sec_missing(self):
        """SSL files of the primary that the secondary lacks or holds with
        other content (files only on the secondary do not count: the real
        sync never deletes them, CTX138748)."""
        if not self.ha:
            return []
        prim = self.host_path(SSL_DIR)
        out = []
        for dp, _, fns in os.walk(prim):
            for f in fns:
                rel = os.path.relpath(os.path.join(dp, f), prim)
                sp = os.path.join(self.sec_ssl, rel)
                with open(os.path.join(dp, f), "rb") as a:
                    data = a.read()
                if not os.path.isfile(sp) or open(sp, "rb").read() != data:
                    out.append(SSL_DIR + "/" + rel)
        return sorted(out)

    def sec_has(self, vpath):
        vpath = os.path.normpath(vpath)
        if vpath.startswith("/flash/"):
            vpath = vpath[len("/flash"):]
        if not vpath.startswith(SSL_DIR + "/"):
            return True  # only /nsconfig/ssl is modelled per unit
        return os.path.isfile(os.path.join(self.sec_ssl, vpath[len(SSL_DIR) + 1:]))

    def changed(self):
        self.generation += 1
        self.last_change = time.time()

    def certkey_name_max(self):
        # ref §5.1/§10: 31 chars on 13.x, relaxed on 14.1 (127 assumed).
        return 127 if self.version_tuple() >= (14, 1) else 31

    def version_tuple(self):
        try:
            return tuple(int(x) for x in self.version.split(".")[:2])
        except ValueError:
            return (13, 1)

    # -- simulated filesystem: appliance path -> DIR + path
    def host_path(self, vpath):
        vpath = os.path.normpath("/" + vpath.lstrip("/"))
        if vpath.startswith("/flash/nsconfig"):
            vpath = vpath[len("/flash"):]
        if not any(vpath == r or vpath.startswith(r + "/") for r in FS_ROOTS):
            raise NitroError("no_file", vpath)
        return os.path.join(self.dir, vpath.lstrip("/"))

    def file_ref(self, name, field):
        """A cert/key/keyfile argument: a bare name lives in /nsconfig/ssl."""
        if not isinstance(name, str) or not name:
            raise NitroError("invalid_arg", field)
        vpath = name if name.startswith("/") else SSL_DIR + "/" + name
        return os.path.normpath(vpath), self.host_path(vpath)


def sim_state(st):
    files = []
    for r in FS_ROOTS:
        base = st.host_path(r)
        for dp, dn, fn in os.walk(base):
            for f in fn:
                files.append("/" + os.path.relpath(os.path.join(dp, f), st.dir))
    return {
        "certkeys": {n: {"cert": c["cert"], "key": c.get("key"),
                         "serial": c["info"]["serial"], "subject": c["info"]["subject"],
                         "issuer": c["info"]["issuer"],
                         "linkcertkeyname": c.get("linkcertkeyname"),
                         "sandns": c["info"]["sandns"]}
                     for n, c in st.certkeys.items()},
        "bindings": [dict(b) for b in st.bindings],
        "files": sorted(set(files)),
        "vservers": {n: {k: v for k, v in vs.items() if k != "ssl"}
                     for n, vs in st.vservers.items()},
        "responder": {
            "actions": {n: {k: v for k, v in a.items() if not k.startswith("_")}
                        for n, a in st.ractions.items()},
            "policies": {n: {"rule": p["rule"], "action": p["action"]}
                         for n, p in st.rpolicies.items()},
            "global_bindings": [dict(b) for b in st.rglobal],
            "vserver_bindings": [dict(b) for b in st.rvsbind]},
        "counters": json.loads(json.dumps(st.counters)),
        "sessions": {str(u): len(s) for u, s in st.sessions.items()},
        "generation": st.generation,
        "unsaved": st.unsaved(),
        "files_in_sync": not st.sec_missing(),
        "files_missing_on_secondary": st.sec_missing(),
        "secondary_files": sorted(os.listdir(st.sec_ssl)) if st.ha else [],
        "propagation_failures": list(st.prop_failures),
        "gaps": list(st.gaps),
        "defaultprofile": st.default_profile,
        "sslprofiles": json.loads(json.dumps(st.sslprofiles)),
        "features": sorted(st.features),
    }


# ------------------------------------------------------------------- main
