"""run --jobs 2 with two ADCs: profiles of different devices run side by
side, each device's profiles in order on one session; results and the
summary are the same as a sequential run, and the output is in profile
order."""
from harness import (check_citrix_settled, CitrixSim, Lab, ScmSim, check, main, serial_of,
                     served_cert, stopping)


def scenario(w):
    a = CitrixSim(w, vservers=("vs1", "vs2"), ha=False, subdir="adc_a")
    b = CitrixSim(w, vservers=("vs1", "vs2"), ha=False, subdir="adc_b")
    scm = ScmSim(w)
    with stopping(a, b, scm):
        lab = Lab(w)
        lab.add_citrix("adc_a", a)
        lab.add_citrix("adc_b", b)
        lab.add_scm("scm", scm)
        lab.write_config()
        subject = {"organization": "Example", "state": "Yorks", "country": "GB"}
        names = []
        for dev in ("adc_a", "adc_b"):
            for vs in ("vs1", "vs2"):
                n = f"{dev}-{vs}"
                names.append(n)
                lab.profile(n, device=dev, ca="scm", common_name=f"{vs}.{dev.replace('_', '-')}.example.com",
                            subject=subject, vservers=[{"name": vs}])
        p = lab.run("run", "--jobs", "2")
        check(p.returncode == 0, "run --jobs 2 exits 0", p.stdout, p.stderr[-3000:])
        lines = p.stdout.strip().splitlines()
        check([l.split(":")[0] for l in lines[:-1]] == sorted(names),
              "one line per profile, in profile order", p.stdout)
        check(lines[-1] == "4 enrolled, 0 renewed, 0 unchanged, 0 failed", "summary", p.stdout)
        st = lab.status()
        for sim, dev in ((a, "adc_a"), (b, "adc_b")):
            for vs in ("vs1", "vs2"):
                der = served_cert(sim.port(vs))
                check(der is not None and serial_of(der) == st[f"{dev}-{vs}"]["serial"],
                      f"{dev} {vs} serves its certificate")
            logins = [r for r in sim.requests() if r["path"].endswith("/login")]
            check(len(logins) == 1, f"{dev}: one session for both of its profiles", logins)
        check(scm.ctl("/_sim/state")["enrolls"] == 4, "four enrollments at the CA")
        p = lab.run("run", "--jobs", "2")
        check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 4 unchanged, 0 failed"),
              "a second parallel run has nothing to do", p.stdout)
        check_citrix_settled(a)
        check_citrix_settled(b)


if __name__ == "__main__":
    main(scenario)
