"""The units' shared configuration: running, saved and synced views, files
per unit, and what a change left unserved (gaps)."""

import json
import os
import threading
import time

from .errors import ApiError
from .names import split_fp
from .objects import SimObjects
from .render import SimRender
from .schema import BULK_DIR, UPLOAD_DIR


class Sim(SimObjects, SimRender):
    def __init__(self, args):
        self.args = args
        self.dir = os.path.abspath(args.dir)
        self.lock = threading.RLock()
        self.nunits = 2 if args.pair else 1
        self.partitions = {"Common", args.partition}
        self.tokens = {}
        self.transactions = {}
        self.next_trans = int(time.time() * 1000) % 10**9
        self.requests = []
        self.standby_writes = []
        self.faults = []
        self.saves = 0
        self.sync = {"status": "In Sync" if args.pair else "Standalone", "until": 0}
        self.uploads = [{} for _ in range(self.nunits)]
        self.filectr = 0
        self.match_cache = {}
        self.seen_pass = set()
        self.seen_tokens = set()
        self.sync_seconds = 0.3
        self.sync_runs = []
        for sub in ("run",):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        for u in range(self.nunits):
            os.makedirs(self.upload_dir(u), exist_ok=True)
        self.state = {k: {} for k in ("cert", "key", "csr", "clientssl", "http",
                                      "tcp", "virtual", "rule", "datagroup")}
        self.gaps = []
        for u in range(self.nunits):
            os.makedirs(self.bulk_dir(u), exist_ok=True)
        self.ship_defaults()
        # what `sys config save` last wrote, and what the peer last received
        self.saved_view = self.config_view()
        self.synced_view = self.saved_view

    # ---- saved / synced / serving --------------------------------------
    def config_view(self, state=None):
        """The configuration as a comparable text: every object's visible
        properties (file contents by checksum), nothing volatile."""
        st = self.state if state is None else state
        out = {}
        for typ, store in st.items():
            out[typ] = {}
            for fp, o in store.items():
                d = {k: v for k, v in o.items()
                     if not k.startswith("_") and k not in ("createTime", "lastUpdateTime",
                                                             "cachePath")}
                if typ == "clientssl":
                    d["certKeyChain"] = [dict({k: v for k, v in e.items() if not k.startswith("_")},
                                              passphrase=bool(e.get("_passphrase")))
                                         for e in o.get("certKeyChain", [])]
                out[typ][fp] = d
        return json.dumps(out, sort_keys=True)

    def unsaved(self):
        return self.config_view() != self.saved_view

    def sync_state(self):
        if not self.args.pair:
            return "Standalone"
        if self.sync["status"] == "Syncing" and time.time() < self.sync["until"]:
            return "Syncing"
        return "In Sync" if self.config_view() == self.synced_view else "Changes Pending"

    def serving(self, state):
        """Virtuals that present a certificate: an attached client-ssl
        profile with a cert-key-chain entry whose cert and key exist."""
        out = set()
        for vfp, v in state["virtual"].items():
            for p in v["profiles"]:
                prof = state["clientssl"].get(p["fullPath"])
                if prof is None:
                    continue
                if any(e.get("cert") in state["cert"] and e.get("key") in state["key"]
                       for e in prof.get("certKeyChain", [])):
                    out.add(vfp)
        return out

    def note_gaps(self, before, method, path):
        lost = self.serving(before) - self.serving(self.state)
        for vfp in sorted(lost):
            self.gaps.append({"virtual": vfp, "method": method, "path": path,
                              "time": time.time()})

    # ---- files -----------------------------------------------------------
    def upload_dir(self, unit):
        return os.path.join(self.dir, "unit%d" % unit, "downloads")

    def bulk_dir(self, unit):
        return os.path.join(self.dir, "unit%d" % unit, "bulk")

    def unit_path(self, unit, box):
        """A REST-worker directory path on the box → host path; None when
        it is not in one of those directories."""
        d = os.path.dirname(box)
        if d == UPLOAD_DIR:
            return os.path.join(self.upload_dir(unit), os.path.basename(box))
        if d == BULK_DIR:
            return os.path.join(self.bulk_dir(unit), os.path.basename(box))
        return None

    def local_path(self, unit, source):
        """file:///var/config/rest/downloads/x or file:/var/... → host path."""
        s = source
        if s.startswith("file://"):
            s = s[len("file://"):]
        elif s.startswith("file:"):
            s = s[len("file:"):]
        s = os.path.normpath(s)
        if os.path.dirname(s) != UPLOAD_DIR:
            raise ApiError(400, "01070712:3: Values (%s) specified for file source: "
                           "the file was not found." % source)
        p = os.path.join(self.upload_dir(unit), os.path.basename(s))
        if not os.path.isfile(p) or not self.uploads[unit].get(os.path.basename(s), {}).get("done", True):
            raise ApiError(400, "01070712:3: File (%s) was not found." % s)
        return p

    def store_file(self, kind, fp, data):
        """Keeps the file where TMOS would (the filestore); returns the box
        path (cachePath). host_path() maps it under DIR."""
        self.filectr += 1
        sub = {"key": "certificate_key_d", "cert": "certificate_d",
               "csr": "certificate_request_d"}[kind]
        part, _ = split_fp(fp)
        box = "/config/filestore/files_d/%s_d/%s/%s_%d_1" % (part, sub, fp.replace("/", ":"),
                                                              self.filectr)
        path = self.host_path(box)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)
        return path

    def host_path(self, box):
        return os.path.join(self.dir, box.lstrip("/"))
