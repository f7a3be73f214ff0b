"""A run with nothing due costs each device the same few requests whatever
the number of profiles on it: login, HA state, one listing per object type
the decision needs, logout (at most 6). Measured on one Citrix ADC and one
BIG-IP with 2 and then 20 profiles each, for `run` and `plan`; a due
profile costs requests of its own, the others none."""
import collections

from harness import BigipSim, CitrixSim, Lab, ScmSim, check, main, stopping, check_citrix_settled

N = 20
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def add_profiles(lab, dev, lo, hi):
    for i in range(lo, hi):
        lab.profile(f"{dev}{i}", device=dev, ca="scm", common_name=f"{dev}{i}.example.com",
                    key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                    vservers=[{"name": f"vs{i}"}])


def per_device(sims, *args, lab):
    for s in sims.values():
        s.clear_requests()
    p = lab.run(*args)
    check(p.returncode == 0, f"lbcert {' '.join(args)} exits 0", p.stdout, p.stderr)
    return {name: s.requests() for name, s in sims.items()}, p


def paths(reqs):
    return collections.Counter(r["method"] + " " + r["path"].split("?")[0] for r in reqs)


def scenario(w):
    vs = tuple(f"vs{i}" for i in range(N))
    adc = CitrixSim(w, vservers=vs)
    bip = BigipSim(w, virtuals=vs)
    scm = ScmSim(w)
    sims = {"adc": adc, "bip": bip}
    with stopping(adc, bip, scm):
        lab = Lab(w)
        lab.add_citrix("adc", adc)
        lab.add_bigip("bip", bip)
        lab.add_scm("scm", scm)
        lab.write_config()
        counts = {}
        for n in (2, N):
            for dev in sims:
                add_profiles(lab, dev, 0 if n == 2 else 2, n)
            p = lab.run("run")
            check(p.returncode == 0 and f"{2 * n - (0 if n == 2 else 4)} enrolled" in p.stdout,
                  f"{n} profiles per device enrolled", p.stdout, p.stderr)
            for cmd in ("run", "plan"):
                reqs, p = per_device(sims, cmd, lab=lab)
                check(f"{2 * n} unchanged" in p.stdout or cmd == "plan",
                      f"{cmd}: nothing due with {n} profiles per device", p.stdout)
                for dev, r in reqs.items():
                    counts[(dev, cmd, n)] = len(r)
                    check(len(r) <= 6, f"{cmd} with {n} profiles: {len(r)} requests to {dev} "
                          "(at most 6)", paths(r))
        for dev in sims:
            for cmd in ("run", "plan"):
                check(counts[(dev, cmd, 2)] == counts[(dev, cmd, N)],
                      f"{dev}: {cmd} costs the same with 2 and {N} profiles "
                      f"({counts[(dev, cmd, 2)]})")

        # one due profile costs its own requests; the device total grows by
        # them alone, not by the number of profiles
        reqs, p = per_device(sims, "run", "--force", "adc7", lab=lab)
        check("1 renewed" in p.stdout, "the forced profile is renewed", p.stdout)
        check(len(reqs["bip"]) == 0, "a run of one ADC profile sends nothing to the BIG-IP")
        gets = [r for r in reqs["adc"] if r["method"] == "GET"]
        check(not any(r["path"].split("?")[0].endswith(("/adc3", "/adc12")) for r in gets),
              "no other profile's objects are read one by one", paths(gets))
        check_citrix_settled(adc)
        bip.check_settled()


if __name__ == "__main__":
    main(scenario)
