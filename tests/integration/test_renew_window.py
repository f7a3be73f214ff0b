"""The renewal window (Citrix ADC + Pebble issuing 45-second certificates
through certificateValidityPeriod). Without renew_before_days a profile
renews once less than a third of its certificate's lifetime is left, so a
short-lived certificate is not renewed on every run: right after
enrollment the run is a no-op, after two thirds of the lifetime it renews,
and the run after that is a no-op again. With renew_before_days set (1 day,
longer than the lifetime) that window is used: every run renews."""
import time

from harness import (check_citrix_settled, CitrixSim, Lab, cert_field, check, main, served_cert,
                     stopping)
from pebble import Pebble

EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
LIFETIME = 45


def epoch(der, which):
    s = cert_field(der, which).split("=", 1)[1]
    return time.mktime(time.strptime(s, "%b %d %H:%M:%S %Y GMT")) - time.timezone


def last(p):
    return p.stdout.strip().splitlines()[-1]


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_short", "vs_fixed"))
    with stopping(adc):
        with Pebble(w, eab={EAB[0]: EAB[1]}, validity_s=LIFETIME) as pebble:
            lab = Lab(w)
            lab.add_citrix("adc1", adc)
            lab.add_acme("pebble", pebble, eab=EAB)
            lab.write_config()  # no defaults: renew_before_days unset
            lab.profile("short", device="adc1", ca="pebble", common_name="short.lbcert.test",
                        subject=SUBJECT, vservers=[{"name": "vs_short"}])
            lab.profile("fixed", device="adc1", ca="pebble", common_name="fixed.lbcert.test",
                        subject=SUBJECT, renew_before_days=1, vservers=[{"name": "vs_fixed"}])
            p = lab.run("run")
            check(p.returncode == 0 and last(p) == "2 enrolled, 0 renewed, 0 unchanged, 0 failed",
                  "both profiles enrolled", p.stdout, p.stderr[-3000:])
            der = served_cert(adc.port("vs_short"))
            nb, na = epoch(der, "-startdate"), epoch(der, "-enddate")
            check(na - nb <= LIFETIME + 1, f"Pebble issued a {int(na - nb)} s certificate")
            due = na - (na - nb) / 3

            p = lab.run("plan")
            rows = {l.split()[0]: l for l in p.stdout.splitlines()[1:]}
            check(rows["short"].split()[3] == "nothing" and "valid for" in rows["short"],
                  "plan: short is not due yet (one third of its lifetime not reached)", p.stdout)
            check(rows["fixed"].split()[3] == "change" and
                  "renew_before_days 1" in rows["fixed"], "plan: fixed is due by "
                  "renew_before_days", p.stdout)
            p = lab.run("run", "short")
            check(last(p) == "0 enrolled, 0 renewed, 1 unchanged, 0 failed",
                  "run right after enrollment leaves short alone", p.stdout)
            p = lab.run("run", "fixed")
            check(last(p) == "0 enrolled, 1 renewed, 0 unchanged, 0 failed" and
                  "(renew_before_days 1)" in p.stdout, "fixed renews at once (its window is "
                  "longer than the lifetime)", p.stdout, p.stderr[-2000:])

            wait = due - time.time() + 1
            check(wait < 40, f"waiting {wait:.0f} s for two thirds of the lifetime")
            time.sleep(max(0, wait))
            p = lab.run("run", "short")
            check(p.returncode == 0 and last(p) == "0 enrolled, 1 renewed, 0 unchanged, 0 failed"
                  and "less than a third of its lifetime left" in p.stdout,
                  "after two thirds of the lifetime short renews, and says why", p.stdout,
                  p.stderr[-2000:])
            p = lab.run("run", "short")
            check(last(p) == "0 enrolled, 0 renewed, 1 unchanged, 0 failed",
                  "the fresh short certificate is not renewed again", p.stdout)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
