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

        # several due profiles on one device: each listing is read once in
        # the run; after a profile's change only its own objects are read
        # again, one by one, before the next profile is decided. (The ADC's
        # retirement of old files goes by a fresh certkey listing: deleting
        # goes by what the device says at that moment.)
        forced = (3, 12, 17)
        names = [f"{dev}{i}" for dev in sims for i in forced]
        reqs, p = per_device(sims, "run", "--force", *names, lab=lab)
        check(f"{len(names)} renewed" in p.stdout, "the forced profiles are renewed", p.stdout)
        listings = {"adc": {"GET /nitro/v1/config/sslcertkey": 1 + len(forced),
                            "GET /nitro/v1/config/sslvserver_sslcertkey_binding": 1},
                    "bip": {"GET /mgmt/tm/ltm/profile/client-ssl": 1,
                            "GET /mgmt/tm/sys/file/ssl-cert": 1, "GET /mgmt/tm/ltm/virtual": 1}}
        for dev, r in reqs.items():
            c = paths(r)
            for lst, want in listings[dev].items():
                check(c[lst] == want, f"{dev}: {lst} read {want} times in a run renewing "
                      f"{len(forced)} profiles (read {c[lst]} times)",
                      "\n".join(x["method"] + " " + x["path"] for x in r))
            ones = [x["path"].split("?")[0].rsplit("/", 1)[-1] for x in r
                    if x["method"] == "GET" and any(
                        x["path"].split("?")[0].startswith(lst.split(" ", 1)[1] + "/")
                        for lst in listings[dev])]
            check(ones, f"{dev}: the changed objects are read again one by one", c)
            others = [o for o in ones
                      if not any(f"{dev}{i}" in o or f"vs{i}" in o for i in forced)]
            check(not others, f"{dev}: no other profile's objects are read", others)
        check_citrix_settled(adc)
        bip.check_settled()


if __name__ == "__main__":
    main(scenario)
