"""Transport faults in mid-run, Citrix ADC + SCM, each peer behind a
fault-injecting proxy:

- an enroll that timed out after SCM took it: exit 1, not 4 (SCM had
  answered earlier in the run); the next run finds it by its tag, one
  purchase;
- a device write that timed out: exit 1, not 4; the next run finishes;
- a 429 on the enroll and on the device login: sent again after
  Retry-After, the run succeeds, one purchase;
- a collect answer above the size cap: read again in the run;
- a collect answer that stays unreadable: exit 1, the order is kept and
  the next run collects it instead of enrolling again.
"""
import re

from faultproxy import Proxy, Tap, make_cert
from harness import CitrixSim, Lab, ScmSim, check, main, serial_of, served_cert, stopping, check_citrix_settled

SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}
BUSY = dict(action="status", status=429, headers=[("Retry-After", "1")],
            body=b'{"code": 429, "message": "Too Many Requests"}')


def errors(p):
    return [ln for ln in p.stderr.splitlines() if " error: " in ln]


def scenario(w):
    names = [f"vs{i}" for i in range(1, 7)]
    adc = CitrixSim(w, vservers=names, ha=False)
    scm = ScmSim(w)
    tap = Tap()
    ca_file, cert, key = make_cert(w)
    pdev = Proxy(tap, "citrix", adc.url(), cert, key)
    pca = Proxy(tap, "scm", scm.url(), cert, key)
    with stopping(pdev, pca, adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.devices["adc1"].update(url=pdev.url, tls={"ca_file": ca_file}, timeout_s=2)
        lab.add_scm("scm", scm)
        rest = scm.url().split("//", 1)[1]
        path = "/" + rest.split("/", 1)[1] if "/" in rest else ""
        lab.cas["scm"].update(url=pca.url + path, ca_file=ca_file, timeout_s=2)
        lab.write_config()
        for i, vs in enumerate(names, 1):
            lab.profile(f"p{i}", device="adc1", ca="scm", common_name=f"p{i}.example.com",
                        subject=SUBJECT, vservers=[{"name": vs}])

        def faulted(profile, pattern, **arm):
            tap.arm(match=pattern, **arm)
            p = lab.run("run", profile)
            tap.disarm()
            check(tap.hit is not None, f"{profile}: the fault hit {pattern}", tap.log[-5:])
            return p

        def served(profile, vs):
            st = lab.status()[profile]
            check(serial_of(served_cert(adc.port(vs))) == st["serial"],
                  f"{vs} serves {profile}'s certificate", st)

        # -- enroll timed out after SCM took it ----------------------------
        p = faulted("p1", r"^POST .*/enroll$", action="stall", seconds=3)
        check(p.returncode == 1, "a timed-out enroll in mid-run exits 1, not 4",
              p.returncode, p.stdout, p.stderr)
        check(any("p1" in ln and "scm" in ln for ln in errors(p)),
              "the error names the profile and the CA", errors(p))
        check(scm.ctl("/_sim/state")["enrolls"] == 1, "SCM took the enroll")
        p = lab.run("run", "p1")
        check(p.returncode == 0, "the next run finishes p1", p.stdout, p.stderr)
        check("the CA has the order of the lost submission" in p.stderr,
              "by finding the lost enroll by its tag", p.stderr)
        check(scm.ctl("/_sim/state")["enrolls"] == 1, "no second enroll")
        served("p1", "vs1")

        # -- a device write timed out ------------------------------------
        p = faulted("p2", r"^POST /nitro/v1/config/systemfile", action="stall", seconds=3)
        check(p.returncode == 1, "a timed-out device write in mid-run exits 1, not 4",
              p.returncode, p.stdout, p.stderr)
        check(any("p2" in ln and "adc1" in ln for ln in errors(p)),
              "the error names the profile and the device", errors(p))
        p = lab.run("run", "p2")
        check(p.returncode == 0, "the next run finishes p2", p.stdout, p.stderr)
        served("p2", "vs2")

        # -- 429 on the enroll and on the login ------------------------------
        p = faulted("p3", r"^POST .*/enroll$", **BUSY)
        check(p.returncode == 0, "an enroll answered 429 is sent again", p.stdout, p.stderr)
        check(scm.ctl("/_sim/state")["enrolls"] == 3, "and SCM took it once")
        served("p3", "vs3")
        p = faulted("p4", r"^POST /nitro/v1/config/login", **BUSY)
        check(p.returncode == 0, "a login answered 429 is sent again", p.stdout, p.stderr)
        served("p4", "vs4")

        # -- collect answer above the size cap, once -------------------------
        p = faulted("p5", r"^GET .*/collect/", action="oversized")
        check(p.returncode == 0, "an oversized collect answer is read again in the run",
              p.stdout, p.stderr)
        st = scm.ctl("/_sim/state")
        check(st["enrolls"] == 5, "one enroll for p5", st)
        served("p5", "vs5")

        # -- collect answers that stay unreadable ----------------------------
        left = {"n": 5}

        def rearm(entry):
            if re.search(r"/collect/", entry["path"]) and left["n"] > 0:
                left["n"] -= 1
                tap.arm(match=r"^GET .*/collect/", action="oversized")
        tap.on_request = rearm
        p = lab.run("run", "p6")
        tap.on_request = None
        tap.disarm()
        check(p.returncode == 1, "collect answers that stay unreadable fail the run",
              p.returncode, p.stdout, p.stderr)
        check("collected on the next run" in p.stderr, "saying the order is kept", p.stderr)
        check(scm.ctl("/_sim/state")["enrolls"] == 6, "after one enroll")
        p = lab.run("run", "p6")
        check(p.returncode == 0, "the next run collects p6", p.stdout, p.stderr)
        check("discarding" not in p.stderr, "with the same key", p.stderr)
        st = scm.ctl("/_sim/state")
        check(st["enrolls"] == 6, "without enrolling again", st)
        check(all(v == 1 for v in st["issued_per_key"].values()),
              "one certificate per key", st["issued_per_key"])
        served("p6", "vs6")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
