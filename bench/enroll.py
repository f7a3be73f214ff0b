"""Benchmark: wall time, HTTP requests and peak memory of one enrollment
per appliance/CA pair, against the simulators and Pebble on loopback, and
(with --lego) lego's ACME-only issuance against the same Pebble in the same
run. Prints a table; --json writes the numbers too. See README.md."""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("LBCERT_SRC", ROOT)
os.environ.setdefault("LBCERT_BIN", os.path.join(ROOT, "build", "lbcert"))

from harness import BigipSim, CitrixSim, Lab, ScmSim  # noqa: E402
from pebble import Pebble  # noqa: E402

EAB = ("bench-kid", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}


def count(sim):
    return len(sim.ctl("/_sim/requests")) if sim else 0


def timed(fn):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.monotonic()
    out = fn()
    return out, time.monotonic() - t, max(before, resource.getrusage(
        resource.RUSAGE_CHILDREN).ru_maxrss)


def bench_pair(w, device, ca, rounds):
    """One fresh enrollment per round (each round a new profile)."""
    adc = CitrixSim(w, vservers=[f"vs{i}" for i in range(rounds)], ha=True) \
        if device == "citrix" else None
    big = BigipSim(w, virtuals=[f"vs{i}" for i in range(rounds)], pair=True) \
        if device == "bigip" else None
    scm = ScmSim(w) if ca == "scm" else None
    peb = Pebble(w, eab={EAB[0]: EAB[1]}) if ca == "acme" else None
    dev = adc or big
    try:
        if peb:
            peb.__enter__()
        lab = Lab(w)
        (lab.add_citrix if adc else lab.add_bigip)("dev", dev)
        if scm:
            lab.add_scm("ca", scm)
        else:
            lab.add_acme("ca", peb, eab=EAB)
        lab.write_config()
        times, reqs_dev, reqs_ca, rss = [], [], [], 0
        for i in range(rounds):
            lab.profile(f"p{i}", device="dev", ca="ca", common_name=f"p{i}.example.com",
                        subject=SUBJECT, vservers=[{"name": f"vs{i}"}])
            d0, c0 = count(dev), count(scm)
            p, secs, rss = timed(lambda: lab.run("run", f"p{i}", level="warn"))
            if p.returncode != 0:
                raise SystemExit(f"{device}+{ca} round {i} failed:\n{p.stdout}{p.stderr}")
            times.append(secs)
            reqs_dev.append(count(dev) - d0)
            reqs_ca.append(count(scm) - c0)
        return {"pair": f"{device}+{ca}", "rounds": rounds,
                "wall_s_median": sorted(times)[len(times) // 2], "wall_s_min": min(times),
                "device_requests": reqs_dev[-1], "ca_requests": reqs_ca[-1] if scm else None,
                "max_rss_kib": rss}
    finally:
        if peb:
            peb.__exit__(None, None, None)
        for s in (adc, big, scm):
            if s:
                s.stop()


def bench_lego(w, rounds):
    lego = shutil.which("lego")
    if lego is None:
        return None
    times = []
    with Pebble(w, eab={EAB[0]: EAB[1]}) as peb:
        env = dict(os.environ, LEGO_CA_CERTIFICATES=peb.ca_file)
        for i in range(rounds):
            d = os.path.join(w, f"lego{i}")
            cmd = [lego, "--accept-tos", "--email", "pki@example.com", "--server", peb.directory,
                   "--eab", "--kid", EAB[0], "--hmac", EAB[1], "--path", d,
                   "--domains", f"l{i}.example.com", "--http", "--http.port", f"127.0.0.1:{peb.http_port}",
                   "run"]
            p, secs, _ = timed(lambda: subprocess.run(cmd, env=env, capture_output=True, text=True))
            if p.returncode != 0:
                return {"pair": "lego (ACME only)", "error": p.stderr[-500:]}
            times.append(secs)
    return {"pair": "lego (ACME only)", "rounds": rounds,
            "wall_s_median": sorted(times)[len(times) // 2], "wall_s_min": min(times)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pairs", default="citrix+scm,bigip+acme,citrix+acme,bigip+scm")
    ap.add_argument("--lego", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    for pair in a.pairs.split(","):
        device, ca = pair.split("+")
        w = tempfile.mkdtemp(prefix=f"lbcert-bench-{device}-{ca}-")
        rows.append(bench_pair(w, device, ca, a.rounds))
    if a.lego:
        r = bench_lego(tempfile.mkdtemp(prefix="lbcert-bench-lego-"), a.rounds)
        if r:
            rows.append(r)
    print(f"{'pair':22} {'rounds':>6} {'median s':>9} {'min s':>7} {'dev req':>8} "
          f"{'CA req':>7} {'max RSS KiB':>12}")
    for r in rows:
        if "error" in r:
            print(f"{r['pair']:22} error: {r['error']}")
            continue
        print(f"{r['pair']:22} {r['rounds']:>6} {r['wall_s_median']:>9.3f} {r['wall_s_min']:>7.3f} "
              f"{str(r.get('device_requests', '-')):>8} {str(r.get('ca_requests') or '-'):>7} "
              f"{str(r.get('max_rss_kib', '-')):>12}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
