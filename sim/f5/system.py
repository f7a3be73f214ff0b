"""sys config save, cm failover and sync status, config-sync, and util
(bash, unix-mv, unix-rm)."""

import os
import re
import time

from .errors import ApiError, not_found
from .names import split_fp, to_fullpath, url_name
from .request import check_props
from .schema import BULK_DIR, CSR_DIR, MV_TARGETS, UPLOAD_DIR


class SystemApi:
    """Mixed into Api."""

    # ---- sys/config, cm ---------------------------------------------------------
    def sys_config(self, c):
        if c.method != "POST":
            raise ApiError(405, "Method not allowed", framework=True)
        check_props(c.body, {"command", "options", "utilCmdArgs"}, "/sys/config")
        if c.body.get("command") != "save":
            raise ApiError(400, "sim: only the save command is supported")
        self.sim.saves += 1
        self.sim.saved_view = self.sim.config_view()
        return 200, {"kind": "tm:sys:config:savestate", "command": "save"}

    def stats(self, name, entries):
        return {"kind": "tm:cm:%s:%sstats" % (name, name),
                "selfLink": "https://localhost/mgmt/tm/cm/%s?ver=15.1.0" % name,
                "entries": {"https://localhost/mgmt/tm/cm/%s/0" % name: {
                    "nestedStats": {"entries": {k: {"description": v} for k, v in entries.items()}}}}}

    def failover_status(self, c):
        if not self.sim.args.pair:
            st = "ACTIVE"
        else:
            st = "ACTIVE" if c.unit == 0 else "STANDBY"
        out = self.stats("failover-status", {"color": "green" if st == "ACTIVE" else "gray",
                                             "status": st,
                                             "summary": "1/1 active" if st == "ACTIVE" else "0/1 active"})
        return 200, out

    def sync_status(self, c):
        status = self.sim.sync_state()
        mode = "high-availability" if self.sim.args.pair else "standalone"
        color = "green" if status in ("In Sync", "Standalone") else "blue"
        return 200, self.stats("sync-status", {"color": color, "mode": mode,
                                               "status": status, "summary": status})

    def device_group(self, c, rest):
        dg = self.sim.args.device_group
        obj = {"kind": "tm:cm:device-group:device-groupstate", "name": dg, "partition": "Common",
               "fullPath": "/Common/" + dg, "type": "sync-failover", "autoSync": "disabled",
               "fullLoadOnSync": "false", "saveOnAutoSync": "false",
               "devicesReference": {"link": "https://localhost/mgmt/tm/cm/device-group/~Common~%s/devices" % dg}}
        if rest == "cm/device-group":
            items = [obj] if self.sim.args.pair else []
            items.append(dict(obj, name="device_trust_group", fullPath="/Common/device_trust_group",
                              type="sync-only"))
            items += [dict(obj, name=g, fullPath="/Common/" + g)
                      for g in self.sim.args.other_failover_group]
            return 200, {"kind": "tm:cm:device-group:device-groupcollectionstate", "items": items}
        name = url_name(rest[len("cm/device-group/"):], "Common")
        if name == obj["fullPath"] and self.sim.args.pair:
            return 200, obj
        raise not_found("device group", name)

    def cm_run(self, c):
        if c.method != "POST":
            raise ApiError(405, "Method not allowed", framework=True)
        check_props(c.body, {"command", "utilCmdArgs"}, "/cm")
        args = (c.body.get("utilCmdArgs") or "").split()
        if c.body.get("command") != "run" or len(args) < 3 or args[:2] != ["config-sync", "to-group"]:
            raise ApiError(400, "sim: only 'run config-sync to-group GROUP' is supported")
        if not self.sim.args.pair or args[2] != self.sim.args.device_group:
            raise ApiError(400, "01070734:3: Configuration error: Device group (%s) not found in device "
                           "group sync" % args[2])
        self.sim.sync = {"status": "Syncing", "until": time.time() + self.sim.sync_seconds}
        self.sim.synced_view = self.sim.config_view()
        self.sim.sync_runs.append(args[2])
        return 200, {"kind": "tm:cm:runstate", "command": "run", "utilCmdArgs": c.body["utilCmdArgs"]}

    # ---- util --------------------------------------------------------------------
    def util(self, c, rest):
        if c.method != "POST":
            raise ApiError(405, "Method not allowed", framework=True)
        check_props(c.body, {"command", "utilCmdArgs"}, "/" + rest)
        if c.body.get("command") != "run":
            raise ApiError(400, "the command must be run", api=1)
        arg = c.body.get("utilCmdArgs", "")
        kind = "tm:%s:runstate" % rest.replace("/", ":")
        out = {"kind": kind, "command": "run", "utilCmdArgs": arg}
        if rest == "util/unix-rm":
            path = os.path.normpath(arg.strip())
            p = self.sim.unit_path(c.unit, path)
            if p is None or arg.strip().startswith("-") or len(arg.split()) != 1:
                raise ApiError(400, "sim: unix-rm is only allowed for one file under %s or %s"
                               % (UPLOAD_DIR, BULK_DIR))
            if os.path.exists(p):
                os.unlink(p)
                self.sim.uploads[c.unit].pop(os.path.basename(path), None)
            else:
                out["commandResult"] = "/bin/rm: cannot remove '%s': No such file or directory\n" % path
            return 200, out
        if rest == "util/unix-mv":
            return self.unix_mv(c, arg, out)
        if not self.sim.args.allow_bash:
            # A hardened unit: the account has no advanced shell.
            raise ApiError(401, "Authorization failed: user=https://localhost/mgmt/shared/authz/users/%s "
                           "resource=/mgmt/tm/util/bash verb=POST uri:http://localhost:8100/mgmt/tm/util/bash "
                           "referrer:127.0.0.1 sender:127.0.0.1" % self.sim.args.user, framework=True)
        # util/bash: only what a driver needs to read a CSR / cert.
        m = re.fullmatch(r"-c\s+(['\"])(.*)\1", arg.strip(), re.S)
        cmd = m.group(2).strip() if m else ""
        m = re.fullmatch(r"tmsh\s+list\s+sys\s+crypto\s+csr\s+(\S+)", cmd)
        if m:
            fp = to_fullpath(m.group(1), None, "Common")
            csr = self.st["csr"].get(fp)
            if csr is None:
                out["commandResult"] = "01020036:3: The requested CSR (%s) was not found.\n" % fp
            else:
                out["commandResult"] = ("sys crypto csr %s {\n    common-name %s\n    key %s\n"
                                        "    subject-alternative-name \"%s\"\n}\n%s"
                                        % (fp, csr["commonName"], csr["key"],
                                           csr["subjectAlternativeName"], csr["_pem"]))
            return 200, out
        m = re.fullmatch(r"cat\s+(\S+)", cmd)
        if m:
            target = m.group(1)
            for typ in ("cert", "csr"):
                for o in self.st[typ].values():
                    if o["_file"] == self.sim.host_path(target):
                        out["commandResult"] = open(o["_file"]).read()
                        return 200, out
            out["commandResult"] = "cat: %s: No such file or directory\n" % target
            return 200, out
        out["commandResult"] = "sim: command not supported\n"
        return 200, out

    def unix_mv(self, c, arg, out):
        """mv SRC DST, the form F5's bigip_ssl_csr module uses: a CSR's file
        (/config/ssl/ssl.csr/NAME, NAME the object's name) or a REST-worker
        file, moved into a REST-worker directory."""
        args = arg.split()
        if len(args) != 2 or any(a.startswith("-") for a in args):
            raise ApiError(400, "sim: unix-mv takes SOURCE DESTINATION")
        src, dst = (os.path.normpath(a) for a in args)
        if os.path.dirname(dst) not in MV_TARGETS:
            out["commandResult"] = "/bin/mv: cannot move '%s' to '%s': Permission denied\n" % (src, dst)
            return 200, out
        hdst = self.sim.unit_path(c.unit, dst)
        if hdst is None:
            hdst = os.path.join(self.sim.dir, "run", "mv-" + os.path.basename(dst))
        if os.path.dirname(src) == CSR_DIR:
            name = os.path.basename(src)
            found = [o for fp, o in sorted(self.st["csr"].items())
                     if split_fp(fp)[1] == name and os.path.exists(o["_file"])]
            if not found:
                out["commandResult"] = ("/bin/mv: cannot stat '%s': No such file or directory\n"
                                        % src)
                return 200, out
            os.replace(found[0]["_file"], hdst)
            return 200, out
        hsrc = self.sim.unit_path(c.unit, src)
        if hsrc is None or not os.path.exists(hsrc):
            out["commandResult"] = "/bin/mv: cannot stat '%s': No such file or directory\n" % src
            return 200, out
        os.replace(hsrc, hdst)
        self.sim.uploads[c.unit].pop(os.path.basename(src), None)
        return 200, out
