"""Benchmark: a fleet run. N simulated appliances with P profiles each, one
SCM simulator. Measures, per phase, the wall time, lbcert's CPU time and
peak RSS (GNU time) and the requests each appliance received:

  enroll    first enrollment of every profile (--jobs J, the largest given)
  renew/J   `run --force` of every profile with --jobs J (same work per J)
  noop/J    `run` with nothing due, --jobs J
  plan      `plan` with nothing due

--latency-ms / --keygen-ms make the appliance simulators answer like real
management planes (see sim/simlib.py Pace). See README.md."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("LBCERT_SRC", ROOT)
os.environ.setdefault("LBCERT_BIN", os.path.join(ROOT, "build", "lbcert"))

from harness import BigipSim, CitrixSim, Lab, ScmSim  # noqa: E402

SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}


def timed(lab, *args):
    """Runs lbcert under GNU time: (rc, wall s, cpu s, peak RSS KiB, stdout)."""
    out = tempfile.NamedTemporaryFile("w+", delete=False)
    out.close()
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", out.name, os.environ["LBCERT_BIN"],
           "-c", lab.conf, "--state-dir", lab.state, "-l", "warn", *args]
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t
    try:
        f = open(out.name).read().split()
        cpu, rss = float(f[-3]) + float(f[-2]), int(f[-1])
    finally:
        os.unlink(out.name)
    if p.returncode != 0:
        raise SystemExit(f"lbcert {' '.join(args)} failed ({p.returncode}):\n"
                         f"{p.stdout[-2000:]}{p.stderr[-4000:]}")
    return wall, cpu, rss, p.stdout


def requests(sims):
    n = [len(s.ctl("/_sim/requests")) for s in sims]
    for s in sims:
        s.ctl("/_sim/requests/clear", {})
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--profiles", type=int, default=10, help="per device")
    ap.add_argument("--kind", choices=("citrix", "bigip", "mixed"), default="mixed")
    ap.add_argument("--jobs", default="1,8", help="comma-separated --jobs values")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--keygen-ms", type=int, default=0)
    ap.add_argument("--no-renew", action="store_true", help="skip the renew/J phases")
    ap.add_argument("--json")
    a = ap.parse_args()
    jobs = [int(j) for j in a.jobs.split(",")]
    pace = ["--latency-ms", str(a.latency_ms), "--keygen-ms", str(a.keygen_ms)]
    w = tempfile.mkdtemp(prefix="lbcert-fleet-")
    vs = [f"vs{i}" for i in range(a.profiles)]
    sims, names = [], []
    scm = ScmSim(w)
    try:
        lab = Lab(w)
        lab.add_scm("scm", scm)
        for d in range(a.devices):
            kind = a.kind if a.kind != "mixed" else ("citrix", "bigip")[d % 2]
            name = f"d{d}"
            if kind == "citrix":
                s = CitrixSim(w, vservers=vs, ha=False, subdir=name, extra=pace)
                lab.add_citrix(name, s)
            else:
                s = BigipSim(w, virtuals=vs, pair=False, extra=pace, subdir=name)
                lab.add_bigip(name, s)
            sims.append(s)
            names.append(name)
            for i in range(a.profiles):
                lab.profile(f"{name}p{i}", device=name, ca="scm",
                            common_name=f"{name}p{i}.example.com", subject=SUBJECT,
                            key={"type": "ecdsa", "curve": "P-256"},
                            vservers=[{"name": vs[i]}])
        lab.write_config()
        total = a.devices * a.profiles
        rows = []

        def row(phase, j, r, reqs):
            wall, cpu, rss, _ = r
            rows.append({"phase": phase, "jobs": j, "wall_s": round(wall, 2),
                         "cpu_s": round(cpu, 2), "cpu_ms_per_profile": round(1000 * cpu / total, 2),
                         "max_rss_kib": rss, "req_per_device_max": max(reqs),
                         "req_per_device_min": min(reqs)})

        requests(sims)
        row("enroll", max(jobs), timed(lab, "run", "--jobs", str(max(jobs))), requests(sims))
        if not a.no_renew:
            for j in jobs:
                row("renew", j, timed(lab, "run", "--force", "--jobs", str(j)), requests(sims))
        for j in jobs:
            row("noop", j, timed(lab, "run", "--jobs", str(j)), requests(sims))
        row("plan", 1, timed(lab, "plan"), requests(sims))
    finally:
        for s in sims:
            s.stop()
        scm.stop()
    print(f"{a.devices} devices ({a.kind}) x {a.profiles} profiles = {total}; "
          f"latency {a.latency_ms} ms, keygen {a.keygen_ms} ms")
    print(f"{'phase':8} {'jobs':>4} {'wall s':>8} {'cpu s':>7} {'cpu ms/prof':>11} "
          f"{'rss KiB':>8} {'req/dev':>9}")
    for r in rows:
        rq = (str(r["req_per_device_max"]) if r["req_per_device_max"] == r["req_per_device_min"]
              else f"{r['req_per_device_min']}-{r['req_per_device_max']}")
        print(f"{r['phase']:8} {r['jobs']:>4} {r['wall_s']:>8} {r['cpu_s']:>7} "
              f"{r['cpu_ms_per_profile']:>11} {r['max_rss_kib']:>8} {rq:>9}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
