"""Shared pieces of the crash sweep and the fault sweep: one appliance x CA
pair started once, every management/CA endpoint behind a faultproxy.Proxy,
one Lab (config + state dir) per point, and the checks a recovered point
must pass (exit 0, new certificate served, one purchase per key, no orphan,
no moment without a certificate).

Each point gets its own profile, common name and vserver, so points do not
see each other's objects; the simulators are started with a pool of
vservers and restarted only when the pool runs out.
"""
import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import time

from faultproxy import Proxy, Tap, make_cert
from harness import (BigipSim, CitrixSim, Failed, Lab, ScmSim, serial_of, served_cert)

EAB = ("kid-sweep", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
POOL = 64


class Pair:
    """Device simulator + CA behind proxies; `pool` vservers v000..."""

    def __init__(self, work, device, ca, pebble=None, timeout_s=3):
        self.work, self.device, self.ca = work, device, ca
        self.timeout_s = timeout_s
        self.tap = Tap()
        self.proxy_ca, self.proxy_cert, self.proxy_key = make_cert(work)
        self.pebble = pebble
        self.gen = 0
        self.dev = self.cas = None
        self.proxies = []
        if ca == "scm":
            self.cas = ScmSim(work)
            self.ca_proxy = self._proxy("scm", self.cas.url())
        else:
            self.ca_proxy = self._proxy("acme", f"https://127.0.0.1:{pebble.port}")
        self._start_device()

    def _proxy(self, name, url):
        p = Proxy(self.tap, name, url, self.proxy_cert, self.proxy_key)
        self.proxies.append(p)
        return p

    def _start_device(self):
        self.gen += 1
        names = [f"v{self.gen}_{i:03d}" for i in range(POOL)]
        if self.device == "citrix":
            self.dev = CitrixSim(self.work, vservers=names, ha=False,
                                 subdir=f"citrix{self.gen}")
        else:
            os.makedirs(os.path.join(self.work, f"bigip{self.gen}"), exist_ok=True)
            self.dev = BigipSim(os.path.join(self.work, f"bigip{self.gen}"), virtuals=names,
                                pair=False)
        self.dev_proxy = self._proxy(self.device + str(self.gen), self.dev.url())
        self.free = list(names)
        self.baseline = None
        self.restarted = True

    def vserver(self):
        """A vserver no point has used yet (restarts the device when the
        pool is used up)."""
        if not self.free:
            self.dev.stop()
            self._start_device()
        return self.free.pop(0)

    def settle(self):
        """After a (re)start: one clean enrollment installs what every
        profile shares (the CA's intermediate), then the objects no profile
        owns become the baseline."""
        if not self.restarted:
            return
        self.restarted = False
        name = f"zqwarm{self.gen}"
        lab = self.lab(name, self.vserver())
        p = lab.run("run", name)
        if p.returncode != 0:
            raise Failed(f"warm-up enrollment failed\n{p.stdout}{p.stderr[-3000:]}")
        self.baseline = self.foreign(self.objects()[0])

    def calibrate(self, phase):
        """Clean run of the phase ("enroll" or "renew") on its own profile:
        (log of the measured run, owned object shape afterwards)."""
        self.settle()
        name = "zqcal" + phase[0]
        lab = self.lab(name, self.vserver())
        if phase == "renew":
            p = lab.run("run", name)
            if p.returncode != 0:
                raise Failed(f"calibration enrollment failed\n{p.stderr[-3000:]}")
        n = len(self.tap.log)
        self.tap.on_request = lambda e: e.update(journal=journal_digest(lab.state))
        try:
            p = lab.run(*self.args(phase, name))
        finally:
            self.tap.on_request = None
        if p.returncode != 0:
            raise Failed(f"calibration {phase} failed\n{p.stdout}{p.stderr[-3000:]}")
        log = self.tap.log[n:]
        shape = self.owned(self.objects()[0], name)
        self.baseline = self.foreign(self.objects()[0])
        return log, classes(log, name), shape

    @staticmethod
    def args(phase, name):
        return ["run", name] + (["--force"] if phase == "renew" else [])

    def recover(self, lab, phase, start):
        """The administrator's next run: `run`; after a forced renewal that
        left the old certificate in place, `run --force` again. Returns the
        last run's CompletedProcess."""
        name = lab.point["name"]
        p = lab.run("run", name)
        if p.returncode == 0 and phase == "renew" and start["old"] is not None \
                and served_serial(self, lab) == start["old"]:
            p = lab.run("run", "--force", name)
        return p

    def begin(self, name, phase):
        """A fresh point: its own lab and vserver, enrolled first when the
        phase is a renewal. Returns (lab, start) where start records what
        the checks compare against; raises Failed when the setup fails."""
        vs = self.vserver()
        self.settle()
        lab = self.lab(name, vs)
        old = None
        if phase == "renew":
            p = lab.run("run", name)
            if p.returncode != 0:
                raise Failed(f"{name}: setup enrollment failed: {p.stderr[-500:]}")
            old = served_serial(self, lab)
        return lab, {"old": old, "log": len(self.tap.log), "gaps": len(self.gaps()),
                     "bought": self.bought(lab, len(self.tap.log))}

    def converged(self, lab, start, shape, v, ran_rc=None):
        """The checks every point must pass after its clean run."""
        name = lab.point["name"]
        new = profile_serial(lab)
        served = served_serial(self, lab)
        v.need(new is not None and served == new,
               f"vserver serves {served}, status says {new}")
        if start["old"] is not None:
            v.need(served != start["old"], "the old certificate is still served")
        keys = self.bought(lab, start["log"])
        if self.ca == "scm":
            keys = keys[len(start["bought"]):]
        per = {k: keys.count(k) for k in keys}
        v.need(max(per.values(), default=0) <= 1,
               f"{max(per.values())} certificates bought for one key")
        # SPEC 1.10: on BIG-IP a key whose passphrase died with a killed run
        # is replaced, and its certificate with it
        log = open(os.path.join(lab.work, "lbcert.log")).read()
        dead = self.device == "bigip" and "key no longer usable" in log
        v.need(len(keys) == 1 or (dead and len(per) == len(keys)),
               f"{len(keys)} certificates bought for {len(per)} keys, one served")
        if dead and len(keys) > 1:
            v.notes.append("re-bought for a BIG-IP key whose passphrase died (SPEC 1.10)")
        objs, st = self.objects()
        # simulators that model a saved configuration say whether the
        # running one differs from it
        v.need(not st.get("unsaved"), "the running configuration is left unsaved")
        got = self.owned(objs, name)
        v.need(got == shape, "device objects differ from a clean run: "
               + json.dumps(diff(got, shape)))
        fr = self.foreign(objs)
        v.need(fr == self.baseline, "objects no profile owns appeared/vanished: "
               + json.dumps(diff(fr, self.baseline)))
        self.baseline = fr
        g = self.gaps()[start["gaps"]:]
        v.need(not g, f"a vserver served no certificate: {json.dumps(g)[:300]}")

    def stop(self):
        for p in self.proxies:
            p.stop()
        if self.dev:
            self.dev.stop()
        if self.cas:
            self.cas.stop()

    # -- one point --

    def lab(self, name, vs):
        """A fresh config + state dir with one profile `name` on vserver vs."""
        d = os.path.join(self.work, "points", name)
        lab = Lab(d)
        dev = {"url": self.dev_proxy.url, "credentials": "dev1",
               "tls": {"ca_file": self.proxy_ca}, "timeout_s": self.timeout_s}
        if self.device == "citrix":
            dev["type"] = "citrix-adc"
        else:
            dev.update(type="f5-bigip", partition="Common")
        lab.devices["dev1"] = dev
        lab.creds["dev1"] = {"username": self.dev.user, "password": self.dev.password}
        if self.ca == "scm":
            s = self.cas
            path = "/" + s.url().split("//", 1)[1].split("/", 1)[1] if "/" in \
                s.url().split("//", 1)[1] else ""
            lab.cas["ca1"] = {"type": "sectigo-scm", "url": self.ca_proxy.url + path,
                              "customer_uri": s.customer_uri, "credentials": "ca1",
                              "org_id": s.org_id, "cert_type": 224, "term": 365,
                              "poll": {"interval_s": 1, "timeout_s": 10},
                              "ca_file": self.proxy_ca, "timeout_s": self.timeout_s}
            lab.creds["ca1"] = {"login": s.login, "password": s.password}
        else:
            lab.cas["ca1"] = {"type": "acme", "directory": self.ca_proxy.url + "/dir",
                              "credentials": "ca1", "contact": ["mailto:pki@example.com"],
                              "challenge": "none", "ca_file": self.proxy_ca, "timeout_s": self.timeout_s}
            lab.creds["ca1"] = {"eab_kid": EAB[0], "eab_hmac_key": EAB[1]}
        lab.write_config()
        cn = name.replace("_", "-") + ".example.com"
        vsd = {"name": vs, "check": f"127.0.0.1:{self.dev.port(vs)}"}
        prof = dict(device="dev1", ca="ca1", common_name=cn,
                    key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT, vservers=[vsd])
        if self.device == "bigip":
            prof["client_ssl"] = {"parent": "/Common/clientssl", "sni_default": True,
                                  "server_name": cn}
        lab.profile(name, **prof)
        lab.point = {"name": name, "cn": cn, "vs": vs}
        return lab

    # -- device state, reduced to what the checks compare --

    def objects(self):
        """{kind: sorted names} of everything on the device a profile may own."""
        st = self.dev.ctl("/_sim/state")
        out = {}
        if self.device == "citrix":
            out["certkey"] = sorted(st.get("certkeys", {}))
            out["file"] = sorted(st.get("files", []))
            r = st.get("responder", {})
            out["responder_action"] = sorted(r.get("actions", {}))
            out["responder_policy"] = sorted(r.get("policies", {}))
            out["responder_bind"] = sorted(json.dumps(b, sort_keys=True)
                                           for b in r.get("global_bindings", [])
                                           + r.get("vserver_bindings", []))
        else:
            for typ, store in st.items():
                if isinstance(store, dict) and typ not in ("transactions",):
                    out[typ] = sorted(store)
            out["upload"] = sorted(n for u in st.get("uploads", []) for n in u)
        return out, st

    def gaps(self):
        return list(self.dev.ctl("/_sim/state").get("gaps", []) or [])

    def owned(self, objs, token):
        """The objects whose name carries the token, with the token replaced
        and digit runs masked, so two points compare by shape."""
        out = {}
        for k, names in objs.items():
            got = sorted(re.sub(r"[0-9a-fA-F]{4,}|[0-9]+", "#", n.replace(token, "<P>"))
                         for n in names if token in n)
            if got:
                out[k] = got
        return out

    def foreign(self, objs):
        """Objects of no point (every point's name starts with "zq")."""
        return {k: sorted(n for n in names if "zq" not in n) for k, names in objs.items()}

    # -- purchases --

    def bought(self, lab, since):
        """Certificates bought for the point: a list of key ids (SPKI
        SHA-256), one per purchase. SCM: the simulator's issued records for
        the point's common name; ACME: finalize requests Pebble answered
        200 (tap log entries from index `since`), keyed by their CSR."""
        if self.ca == "scm":
            st = self.cas.ctl("/_sim/state")
            return [c["spki_sha256"] for c in st["certs"].values()
                    if c["commonName"] == lab.point["cn"]]
        return [csr_key(e.get("body", "")) for e in self.tap.log[since:]
                if e["target"] == "acme" and "/finalize-order/" in e["path"]
                and e["forwarded"] and e["status"] == 200]


def csr_key(jws_body):
    """SHA-256 of the public key in an ACME finalize request's CSR."""
    try:
        payload = json.loads(jws_body)["payload"]
        csr = b64d(json.loads(b64d(payload))["csr"])
        p = subprocess.run(["openssl", "req", "-inform", "DER", "-pubkey", "-noout"],
                           input=csr, capture_output=True, check=True)
        return hashlib.sha256(p.stdout).hexdigest()
    except (ValueError, KeyError, TypeError, subprocess.CalledProcessError):
        return "unparsed:" + hashlib.sha256(jws_body.encode()).hexdigest()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def journal_digest(state_dir):
    """SHA-256 over the bytes of every file in lbcert's state dir (the
    database and its journal files): equal digests, equal local state."""
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(state_dir)):
        for f in sorted(files):
            if f.endswith(".lock"):
                continue
            h.update(f.encode() + b"\0")
            try:
                with open(os.path.join(root, f), "rb") as fh:
                    h.update(fh.read())
            except OSError:
                pass
    return h.hexdigest()


def crash_states(log):
    """For each request i and variant ("a": never processed, "b": processed,
    answer lost): the state a kill leaves behind, as (lbcert's journal
    digest at the request, number of state-changing requests processed).
    Kill points with equal states leave the same world for the next run,
    so only the first of each is run."""
    out = []
    writes = 0
    for e in log:
        out.append({"a": (e.get("journal"), writes),
                    "b": (e.get("journal"), writes + (1 if e["write"] else 0))})
        if e["write"]:
            writes += 1
    return out


def req_class(entry, token):
    """METHOD + path pattern: the profile's name, ids, serials, dates and
    ACME's random path segments masked, query values dropped."""
    path = entry["path"].replace(token, "<P>")
    base, _, query = path.partition("?")
    base = re.sub(r"[A-Za-z0-9_-]{20,}", "<id>", base)
    base = re.sub(r"[0-9a-fA-F]{6,}|[0-9]+", "#", base)
    keys = sorted({kv.split("=", 1)[0] for kv in query.split("&") if kv}) if query else []
    return entry["method"] + " " + base + ("?" + "&".join(keys) if keys else "")


def classes(log, token):
    """Per request of a calibration log: "target:CLASS" plus "#k" when the
    same class occurs k > 1 times, so a point keeps its name when requests
    before it come and go."""
    seen, out = {}, []
    for e in log:
        c = re.sub(r"\d+$", "", e["target"]) + ": " + req_class(e, token)
        seen[c] = seen.get(c, 0) + 1
        out.append(c + (f" #{seen[c]}" if seen[c] > 1 else ""))
    return out


def nth_of_class(name, token):
    """A Tap predicate firing at the request a calibration name
    ("target: CLASS[ #k]", see classes()) stands for, in a run of the
    profile `token`: robust to requests of other classes coming and going."""
    base, _, k = name.rpartition(" #")
    if not base or not k.isdigit():
        base, k = name, "1"
    want = int(k)
    seen = [0]

    def pred(e):
        if re.sub(r"\d+$", "", e["target"]) + ": " + req_class(e, token) != base:
            return False
        seen[0] += 1
        return seen[0] == want
    return pred


def run_killed(lab, tap, args, timeout=120):
    """Starts lbcert, SIGKILLs it as soon as the armed request fires.
    Returns (fired, returncode, stderr tail)."""
    p = lab.start(*args)
    end = time.time() + timeout
    fired = False
    while time.time() < end:
        if tap.fired.wait(0.05):
            fired = True
            p.send_signal(signal.SIGKILL)
            break
        if p.poll() is not None:
            break
    if p.poll() is None and not fired:
        p.kill()
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    tap.disarm()
    with open(os.path.join(lab.work, "lbcert.log"), "a") as f:
        f.write(f"$ lbcert {' '.join(args)} (killed={fired})\n[rc {p.returncode}]\n{out}{err}\n")
    return fired, p.returncode, err[-1500:]


def served_serial(pair, lab):
    der = served_cert(pair.dev.port(lab.point["vs"]), lab.point["cn"])
    return serial_of(der) if der is not None else None


def profile_serial(lab):
    p = lab.run("status", "--json")
    if p.returncode != 0:
        return None
    for o in json.loads(p.stdout or "[]"):
        if o.get("profile") == lab.point["name"]:
            return o.get("serial")
    return None


def diff(got, want):
    """{kind: {"extra": [...], "missing": [...]}} between two object maps."""
    out = {}
    for k in sorted(set(got) | set(want)):
        g, w = list(got.get(k, [])), list(want.get(k, []))
        extra = [x for x in g if x not in w or g.count(x) > w.count(x)]
        missing = [x for x in w if x not in g or w.count(x) > g.count(x)]
        if extra or missing:
            out[k] = {"extra": sorted(set(extra)), "missing": sorted(set(missing))}
    return out


class Verdict:
    """Collects what went wrong at one point (empty = the point passes)."""

    def __init__(self):
        self.problems = []
        self.notes = []

    def need(self, cond, what):
        if not cond:
            self.problems.append(what)

    def __bool__(self):
        return not self.problems


def report(title, points, known, t0):
    """Prints the table; returns the list of failure messages for the test
    (unlisted failures and listed points that now pass)."""
    bad = []
    n_fail = 0
    for key, problems in points:
        reason = known.get(key)
        if problems and reason:
            print(f"xfail  {key}: {'; '.join(problems)}   [known: {reason}]")
            n_fail += 1
        elif problems:
            print(f"FAIL   {key}: {'; '.join(problems)}")
            bad.append(f"{key}: {'; '.join(problems)}")
            n_fail += 1
        elif reason:
            print(f"XPASS  {key}: listed as known-failing ({reason}) but passes now")
            bad.append(f"{key}: passes now, remove it from the known-failing list")
    print(f"{title}: {len(points)} points, {n_fail} failing "
          f"({sum(1 for k, p in points if p and k in known)} known), "
          f"{time.time() - t0:.0f} s", flush=True)
    return bad


def fail_if(bad):
    if bad:
        raise Failed(f"{len(bad)} sweep point(s) differ from the known-failing list:\n"
                     + "\n".join(bad))
