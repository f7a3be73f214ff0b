"""Benchmark: wall time, HTTP requests and peak memory of one enrollment
per appliance/CA pair, against the simulators and Pebble on loopback, and
(with --lego) an ACME-only yardstick on the same Pebble: lbcert's own ACME
client alone (cactl: submit + collect of a CSR made beforehand) next to
Debian's lego (http-01, key and CSR made by lego), and (with --floor) the
peak memory of one bare libcurl HTTPS GET to the same appliance, linked
against lbcert's libraries. Prints a table; --json writes the numbers too.
See README.md."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("LBCERT_SRC", ROOT)
os.environ.setdefault("LBCERT_BIN", os.path.join(ROOT, "build", "lbcert"))
CACTL = os.environ.get("LBCERT_CACTL") or os.path.join(ROOT, "build", "cactl")
FLOOR = os.environ.get("LBCERT_CURL_FLOOR") or os.path.join(ROOT, "build", "bench", "curl-floor")

from harness import BigipSim, CitrixSim, Lab, ScmSim  # noqa: E402
from pebble import Pebble  # noqa: E402

EAB = ("bench-kid", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}


def count(sim):
    return len(sim.ctl("/_sim/requests")) if sim else 0


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


class Rss:
    """Peak RSS of one command. A child forked by this (large) Python
    process inherits its high-water mark across exec (Linux keeps the
    larger of the two in ru_maxrss: /bin/true shows ~14 MB), so the command
    runs under GNU time, a small process whose child's ru_maxrss is the
    command's own. Without /usr/bin/time the column shows "-"."""

    def __init__(self):
        self.file = tempfile.NamedTemporaryFile("w+", delete=False) if GNU_TIME else None

    def wrap(self, cmd):
        return [GNU_TIME, "-f", "%M", "-o", self.file.name, *cmd] if self.file else cmd

    def kib(self):
        if self.file is None:
            return None
        try:
            with open(self.file.name) as f:
                return int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            return None
        finally:
            os.unlink(self.file.name)


def measured(cmd, env=None):
    """Runs cmd; returns (returncode, wall s, peak RSS KiB, stdout, stderr)."""
    rss = Rss()
    t = time.monotonic()
    p = subprocess.run(rss.wrap(cmd), env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    secs = time.monotonic() - t
    return p.returncode, secs, rss.kib(), p.stdout, p.stderr


def maxof(a, b):
    return b if a is None else a if b is None else max(a, b)


def lbcert_cmd(lab, *args, level="warn"):
    return [os.environ["LBCERT_BIN"], "-c", lab.conf, "--state-dir", lab.state, "-l", level, *args]


def summary(name, rounds, times, rss, **extra):
    r = {"pair": name, "rounds": rounds, "wall_s_median": sorted(times)[len(times) // 2],
         "wall_s_min": min(times), "max_rss_kib": rss}
    r.update(extra)
    return r


def bench_floor(dev, rounds):
    """One libcurl HTTPS GET to the appliance's management address per
    round, in a program linked as lbcert is and doing nothing else: what
    the libraries alone cost. The answer (a 404 or 401) does not matter."""
    unit = dev.units[0]
    times, rss = [], None
    for _ in range(rounds):
        rc, secs, mem, out, err = measured([FLOOR, unit["url"] + "/", unit["ca_file"]])
        if rc != 0:
            raise SystemExit(f"curl-floor failed:\n{out}{err}")
        times.append(secs)
        rss = maxof(rss, mem)
    return summary("libcurl GET only (floor)", rounds, times, rss)


def bench_pair(w, device, ca, rounds, lego, floor=False):
    """One fresh enrollment per round (each round a new profile); with lego
    and an ACME pair, the ACME-only yardsticks on the same Pebble after."""
    adc = CitrixSim(w, vservers=[f"vs{i}" for i in range(rounds)], ha=True) \
        if device == "citrix" else None
    big = BigipSim(w, virtuals=[f"vs{i}" for i in range(rounds)], pair=True) \
        if device == "bigip" else None
    scm = ScmSim(w) if ca == "scm" else None
    # always-valid VA, no VA sleeps, no injected badNonce: the same
    # protocol work for every client, no random delays (README.md)
    peb = Pebble(w, eab={EAB[0]: EAB[1]}, always_valid=True, nonce_reject=0) \
        if ca == "acme" else None
    dev = adc or big
    rows = []
    try:
        if peb:
            peb.start()
        lab = Lab(w)
        (lab.add_citrix if adc else lab.add_bigip)("dev", dev)
        if scm:
            lab.add_scm("ca", scm)
        else:
            lab.add_acme("ca", peb, eab=EAB)
        lab.write_config()
        times, reqs_dev, reqs_ca, rss = [], [], [], None
        for i in range(rounds):
            lab.profile(f"p{i}", device="dev", ca="ca", common_name=f"p{i}.example.com",
                        subject=SUBJECT, vservers=[{"name": f"vs{i}"}])
            d0, c0 = count(dev), count(scm)
            rc, secs, mem, out, err = measured(lbcert_cmd(lab, "run", f"p{i}"))
            if rc != 0:
                raise SystemExit(f"{device}+{ca} round {i} failed:\n{out}{err}")
            times.append(secs)
            rss = maxof(rss, mem)
            reqs_dev.append(count(dev) - d0)
            reqs_ca.append(count(scm) - c0)
        rows.append(summary(f"{device}+{ca}", rounds, times, rss,
                            device_requests=reqs_dev[-1],
                            ca_requests=reqs_ca[-1] if scm else None))
        if floor:
            rows.append(bench_floor(dev, rounds))
        if peb and lego:
            rows.append(bench_cactl(w, peb, rounds))
            rows.append(bench_lego(w, peb, rounds))
        return rows
    finally:
        if peb:
            peb.stop()
        for s in (adc, big, scm):
            if s:
                s.stop()


def bench_cactl(w, peb, rounds):
    """lbcert's ACME client alone: one cactl process per round, submit +
    collect of an RSA 2048 CSR made with openssl before the clock starts.
    The account (state dir) is kept across rounds, as lbcert keeps it."""
    d = os.path.join(w, "cactl")
    os.makedirs(d, exist_ok=True)
    spec = {"state_dir": os.path.join(d, "state"),
            "ca": {"name": "ca", "type": "acme", "directory": peb.directory,
                   "contact": ["mailto:pki@example.com"], "challenge": "none",
                   "ca_file": peb.ca_file, "eab_kid": EAB[0], "eab_hmac_key": EAB[1]}}
    os.makedirs(spec["state_dir"], mode=0o700, exist_ok=True)
    spec_path = os.path.join(d, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    times, rss = [], None
    for i in range(rounds):
        name = f"c{i}.example.com"
        csr, key = os.path.join(d, f"c{i}.csr"), os.path.join(d, f"c{i}.key")
        subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", csr, "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name],
                       check=True, capture_output=True)
        rc, secs, mem, err = cactl_enroll(spec_path, csr, name, os.path.join(d, f"c{i}"))
        if rc != 0:
            return {"pair": "lbcert ACME only (cactl)", "error": err[-500:]}
        times.append(secs)
        rss = maxof(rss, mem)
    return summary("lbcert ACME only (cactl)", rounds, times, rss)


def cactl_enroll(spec_path, csr, name, prefix):
    """One cactl process: submit, then collect the order it answered.
    Returns (0 or 1, wall s, peak RSS KiB, error text)."""
    rss = Rss()
    with tempfile.TemporaryFile("w+") as err:
        t = time.monotonic()
        p = subprocess.Popen(rss.wrap([CACTL, "-l", "warn", spec_path]), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=err, text=True)
        replies = []
        p.stdin.write(f"submit {csr} {name}\n")
        p.stdin.flush()
        replies.append(json.loads(p.stdout.readline() or "{}"))
        if replies[0].get("ok"):
            p.stdin.write(f"collect {replies[0]['order_ref']} {csr} {prefix} {name}\n")
            p.stdin.flush()
            replies.append(json.loads(p.stdout.readline() or "{}"))
        p.stdin.close()
        p.stdout.close()
        rc = p.wait()
        secs = time.monotonic() - t
        err.seek(0)
        ok = rc == 0 and all(r.get("ok") for r in replies) and len(replies) == 2
        return (0 if ok else 1), secs, rss.kib(), json.dumps(replies) + err.read()


def bench_lego(w, peb, rounds):
    """Debian's lego against the same Pebble: http-01 (its own listener on
    Pebble's httpPort; the VA is always-valid, so it is never fetched),
    RSA 2048 like lbcert's default, one account (--path) for all rounds."""
    lego = shutil.which("lego")
    if lego is None:
        return {"pair": "lego (ACME only)", "error": "lego not installed (apt install lego)"}
    times, rss = [], None
    env = dict(os.environ, LEGO_CA_CERTIFICATES=peb.ca_file)
    d = os.path.join(w, "lego")
    for i in range(rounds):
        cmd = [lego, "--accept-tos", "--email", "pki@example.com", "--server", peb.directory,
               "--eab", "--kid", EAB[0], "--hmac", EAB[1], "--path", d, "--key-type", "rsa2048",
               "--domains", f"l{i}.example.com", "--http", "--http.port",
               f"127.0.0.1:{peb.http_port}", "run"]
        rc, secs, mem, out, err = measured(cmd, env=env)
        if rc != 0:
            return {"pair": "lego (ACME only)", "error": err[-500:]}
        times.append(secs)
        rss = maxof(rss, mem)
    return summary("lego (ACME only)", rounds, times, rss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pairs", default="citrix+scm,bigip+acme,citrix+acme,bigip+scm")
    ap.add_argument("--lego", action="store_true")
    ap.add_argument("--floor", action="store_true",
                    help="after the first pair, one bare libcurl GET per round (build/bench/curl-floor)")
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    pairs = a.pairs.split(",")
    lego_done = False
    for pair in pairs:
        device, ca = pair.split("+")
        w = tempfile.mkdtemp(prefix=f"lbcert-bench-{device}-{ca}-")
        # the ACME-only yardsticks run once, on the first ACME pair's Pebble
        with_lego = a.lego and ca == "acme" and not lego_done
        rows.extend(bench_pair(w, device, ca, a.rounds, with_lego, a.floor and pair == pairs[0]))
        lego_done = lego_done or with_lego
    if a.lego and not lego_done:
        w = tempfile.mkdtemp(prefix="lbcert-bench-lego-")
        with Pebble(w, eab={EAB[0]: EAB[1]}, always_valid=True, nonce_reject=0) as peb:
            rows.append(bench_cactl(w, peb, a.rounds))
            rows.append(bench_lego(w, peb, a.rounds))
    print(f"{'pair':26} {'rounds':>6} {'median s':>9} {'min s':>7} {'dev req':>8} "
          f"{'CA req':>7} {'max RSS KiB':>12}")
    for r in rows:
        if "error" in r:
            print(f"{r['pair']:26} error: {r['error']}")
            continue
        print(f"{r['pair']:26} {r['rounds']:>6} {r['wall_s_median']:>9.3f} {r['wall_s_min']:>7.3f} "
              f"{str(r.get('device_requests', '-')):>8} {str(r.get('ca_requests') or '-'):>7} "
              f"{str(r.get('max_rss_kib', '-')):>12}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
