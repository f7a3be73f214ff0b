"""Fault sweep: for each request class (method + path pattern) that lbcert
sends to a device driver or a CA client, during first enrollment and
renewal (--force), a fresh point answers the first request of that class
with one fault:

  5xx        503 with an error body, request not forwarded
  reset      TCP reset, request not forwarded
  timeout    forwarded, no answer for longer than lbcert's timeout_s
  malformed  forwarded, 200 with truncated JSON
  oversized  forwarded, 200 with a body above lbcert's 8 MiB cap
  429        429 with Retry-After: 1, request not forwarded
  expired    the session/token is gone: NITRO 401 errorcode 444, iControl
             401 "X-F5-Auth-Token does not exist.", ACME badNonce (SCM has
             no session and gets none)

Expected of the faulted run: exit 0 (the request was retried) or exit 1
with an error line naming the profile and the device or CA (exit 4, "could
not be reached at all", only when the fault hit the first request to that
peer); exit 0 where a
retry is safe: an expired session/token (re-login and replay), a 429, and
5xx/reset/timeout on a read. After an exit 1 the vserver serves the old or
a new certificate for the profile, never none. The next run must converge as in the
crash sweep: exit 0, new certificate served, one certificate bought, the
same objects as after a clean run, no gap.

KNOWN lists the points that fail today (one-line reason each); the test
fails when an unlisted point fails or a listed point passes. A point is
named "PAIR/PHASE/TARGET: METHOD PATH-PATTERN/FAULT".

Arguments (or LBCERT_SWEEP_PAIRS) pick the pairs; citrix+scm and
bigip+acme between them cover every driver and CA client.
"""
import os
import re
import sys
import time

from harness import Failed, cert_field, check, main, serial_of, served_cert
from pebble import Pebble
from sweeplib import EAB, Pair, Verdict, fail_if, nth_of_class, report, req_class

# Points that fail today, with why (one line each). Edit as fixes land.
KNOWN = {
}

PAIRS = [("citrix", "scm"), ("bigip", "acme"), ("citrix", "acme"), ("bigip", "scm")]
DEFAULT_PAIRS = ["citrix+scm", "bigip+acme"]
TIMEOUT_S = 2   # lbcert's timeout_s for every peer in this sweep
STALL_S = 3

EXPIRED = {
    "citrix": dict(status=401, body=b'{"errorcode": 444, "message": "Session expired", '
                   b'"severity": "ERROR"}'),
    "bigip": dict(status=401, body=b'{"code": 401, "message": "X-F5-Auth-Token does not '
                  b'exist.", "referer": "127.0.0.1", "restOperationId": 1, '
                  b'"kind": ":resterrorresponse"}'),
    "acme": dict(status=400, ctype="application/problem+json",
                 body=b'{"type": "urn:ietf:params:acme:error:badNonce", '
                 b'"detail": "JWS has an invalid anti-replay nonce", "status": 400}'),
}


def faults(target, cls, entry):
    """(name, arm kwargs, retry expected) for one request."""
    read = not entry["write"]
    out = [("5xx", dict(action="status", status=503,
                        body=b'{"code": 503, "message": "Service Unavailable"}'), read),
           ("reset", dict(action="reset"), read),
           ("timeout", dict(action="stall", seconds=STALL_S), read),
           ("malformed", dict(action="malformed"), False),
           ("oversized", dict(action="oversized"), False),
           ("429", dict(action="status", status=429, headers=[("Retry-After", "1")],
                        body=b'{"code": 429, "message": "Too Many Requests"}'), True)]
    login = re.search(r"/login|/authn/|/dir$|/nonce|/new-acct|/sign-me-up", cls)
    if target in EXPIRED and not login and not (target == "acme" and not entry["method"] == "POST"):
        out.append(("expired", dict(action="status", **EXPIRED[target]), True))
    return out


def error_lines(p):
    return [ln for ln in p.stderr.splitlines() if " error: " in ln]


def sweep_pair(w, device, ca, peb, points):
    pair = Pair(os.path.join(w, f"{device}-{ca}"), device, ca, pebble=peb, timeout_s=TIMEOUT_S)
    n = 0
    done = set()
    try:
        for phase in ("enroll", "renew"):
            log, _, shape = pair.calibrate(phase)
            token = "zqcal" + phase[0]
            for i, e in enumerate(log):
                target = re.sub(r"\d+$", "", e["target"])
                cls = f"{target}: {req_class(e, token)}"
                if cls in done:
                    continue
                done.add(cls)
                for fname, arm, retry in faults(target, cls, e):
                    key = f"{device}+{ca}/{phase}/{cls}/{fname}"
                    name = f"zqf{phase[0]}{n:03d}"
                    n += 1
                    v = Verdict()
                    try:
                        lab, start = pair.begin(name, phase)
                    except Failed as ex:
                        points.append((key, [str(ex)]))
                        continue
                    pair.tap.arm(pred=nth_of_class(cls, name), **arm)
                    p = lab.run(*pair.args(phase, name))
                    pair.tap.disarm()
                    hit = pair.tap.hit
                    v.need(hit is not None, f"no request {cls} was sent")
                    errs = error_lines(p)
                    first = not any(x["target"] == e["target"] for x in log[:i])
                    if p.returncode != 0:
                        last = errs[-1][-300:] if errs else p.stderr[-300:]
                        v.need(not retry, f"exit {p.returncode} where a retry is safe: {last}")
                        # 4 is "could not be reached at all": only right when
                        # nothing had been answered by that peer yet
                        v.need(p.returncode == 1 or (p.returncode == 4 and first),
                               f"exit {p.returncode} after the peer had answered: {last}")
                        who = "dev1" if target in ("citrix", "bigip") else "ca1"
                        v.need(any(name in ln and who in ln for ln in errs),
                               f"no error line names the profile and {who}: {errs[-1:]}")
                        now = served_cert(pair.dev.port(lab.point["vs"]), lab.point["cn"])
                        ok = now is None if start["old"] is None else now is not None
                        if now is not None and serial_of(now) != start["old"]:
                            ok = lab.point["cn"] in cert_field(now, "-subject")
                        v.need(ok, "after the failed run the vserver serves "
                               f"{serial_of(now) if now else None}, neither the old "
                               f"({start['old']}) nor a new certificate for the profile")
                    r = pair.recover(lab, phase, start)
                    v.need(r.returncode == 0, f"the next run exits {r.returncode}: "
                           + " | ".join(error_lines(r))[-300:])
                    pair.converged(lab, start, shape, v)
                    points.append((key, v.problems))
                    for note in v.notes:
                        print(f"note   {key}: {note}", flush=True)
    finally:
        pair.stop()
    return n


def scenario(w):
    t0 = time.time()
    want = sys.argv[1:] or [x for x in os.environ.get("LBCERT_SWEEP_PAIRS", "").split(",") if x] \
        or DEFAULT_PAIRS
    pairs = [p for p in PAIRS if "+".join(p) in want]
    peb = Pebble(w, eab={EAB[0]: EAB[1]}, nonce_reject=0, authz_reuse=0)
    points = []
    counts = {}
    try:
        peb.start()
        for device, ca in pairs:
            t = time.time()
            counts[f"{device}+{ca}"] = (sweep_pair(w, device, ca, peb, points), time.time() - t)
    finally:
        peb.stop()
    bad = report("fault sweep", points, KNOWN, t0)
    for k, (n, secs) in counts.items():
        print(f"  {k}: {n} fault points, {secs:.0f} s")
    check(points, "the sweep covered at least one point")
    fail_if(bad)
    check(True, f"fault sweep matches the known-failing list ({len(points)} points)")


if __name__ == "__main__":
    sys.exit(main(scenario))
