"""Crash sweep: for each appliance x CA pair and for first enrollment and
renewal (--force), a calibration run records the ordered requests lbcert
sends to the device and the CA; then, for each request, a fresh point is
run and SIGKILLed while that request is in flight, in two variants:

  a  the request never reached the server (held by the proxy);
  b  the server processed it, the answer never came.

The next run (`run`, and for a renewal that had not replaced the
certificate yet, `run --force` again) must then converge: exit 0, the new
certificate served on the vserver (checked over TLS), exactly one
certificate bought, the device holding the same objects for the profile as
after a clean run and nothing else, and no moment where the vserver served
no certificate (the simulators' "gaps").

KNOWN lists the points that fail today, each with the reason; they are
reported as expected failures. The test fails when a point outside KNOWN
fails, and when a point in KNOWN passes (remove it then). A point is named
"PAIR/PHASE/VARIANT/TARGET: METHOD PATH-PATTERN[ #k]" (k-th request of that
pattern in the run), as printed by the sweep.

A kill point whose crash state (the device/CA writes processed, the bytes
of lbcert's state dir when the request was sent, both recorded by the
calibration) equals that of an earlier point is not run again: the next
run starts from the same world.

Arguments (or LBCERT_SWEEP_PAIRS=citrix+scm,...) pick the pairs; the
suite runs one test per pair so that they can run in parallel.
"""
import os
import sys
import time

from harness import Failed, check, main
from pebble import Pebble
from sweeplib import (EAB, Pair, Verdict, crash_states, fail_if, nth_of_class, report,
                      run_killed)

# Points that fail today, with why (one line each). Edit as fixes land.
KNOWN = {
}

PAIRS = [("citrix", "scm"), ("citrix", "acme"), ("bigip", "scm"), ("bigip", "acme")]


def sweep_pair(w, device, ca, peb, points):
    pair = Pair(os.path.join(w, f"{device}-{ca}"), device, ca, pebble=peb)
    n_points = n_all = 0
    try:
        for phase in ("enroll", "renew"):
            log, names, shape = pair.calibrate(phase)
            states = crash_states(log)
            seen = {}
            for i, cls in enumerate(names):
                for variant, action in (("a", "hold"), ("b", "drop")):
                    key = f"{device}+{ca}/{phase}/{variant}/{cls}"
                    n_all += 1
                    if states[i][variant] in seen:
                        continue
                    name = f"zq{phase[0]}{i:03d}{variant}"
                    v = Verdict()
                    try:
                        lab, start = pair.begin(name, phase)
                    except Failed as e:
                        points.append((key, [str(e)]))
                        continue
                    pair.tap.arm(action, pred=nth_of_class(cls, name))
                    fired, rc, err = run_killed(lab, pair.tap, pair.args(phase, name))
                    n_points += 1
                    if not fired:
                        last = (err.strip().splitlines() or [""])[-1]
                        v.need(False, f"request {i} was never sent (run exited {rc}): {last}")
                    p = pair.recover(lab, phase, start)
                    v.need(p.returncode == 0, f"the next run exits {p.returncode}: "
                           + " | ".join(ln for ln in p.stderr.splitlines()
                                        if " error: " in ln)[-400:])
                    pair.converged(lab, start, shape, v)
                    points.append((key, v.problems))
                    for note in v.notes:
                        print(f"note   {key}: {note}", flush=True)
                    seen[states[i][variant]] = key
    finally:
        pair.stop()
    return n_points, n_all


def scenario(w):
    t0 = time.time()
    want = sys.argv[1:] or os.environ.get("LBCERT_SWEEP_PAIRS", "").split(",")
    pairs = [p for p in PAIRS if not any(want) or "+".join(p) in want]
    # no badNonce retries, no reused authorizations: the same requests in
    # the same order on every run
    peb = Pebble(w, eab={EAB[0]: EAB[1]}, nonce_reject=0, authz_reuse=0)
    points = []
    counts = {}
    try:
        peb.start()
        for device, ca in pairs:
            t = time.time()
            counts[f"{device}+{ca}"] = (*sweep_pair(w, device, ca, peb, points),
                                        time.time() - t)
    finally:
        peb.stop()
    bad = report("crash sweep", points, KNOWN, t0)
    for k, (n, n_all, secs) in counts.items():
        print(f"  {k}: {n_all} kill points ({n_all // 2} requests x 2 variants), {n} run, "
              f"{n_all - n} the same crash state as a point run; {secs:.0f} s")
    check(points, "the sweep covered at least one point")
    fail_if(bad)
    check(True, f"crash sweep matches the known-failing list ({len(points)} points)")


if __name__ == "__main__":
    sys.exit(main(scenario))
