"""An HA pair whose active/primary unit cannot be reached while the
standby/secondary answers: lbcert writes nothing to the standby and exits
4 (a reachability problem, not a profile's), on BIG-IP and on Citrix. The
same rule on both when only the standby is configured (no peers): it is
never written to, exit 1, with advice."""

from harness import (check_citrix_settled, BigipSim, CitrixSim, Lab, ScmSim, check, main,
                     config_writes, free_port, stopping)


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",), pair=True)
    adc = CitrixSim(w, vservers=("vs1",), ha=True)
    scm = ScmSim(w)
    with stopping(big, adc, scm):
        lab = Lab(w)
        lab.add_bigip("big", big)
        lab.add_citrix("adc", adc)
        lab.add_scm("scm", scm)
        # url: the standby / secondary; peers: a unit that does not answer
        big_dead = f"https://127.0.0.1:{free_port()}"
        lab.devices["big"].update({"url": big.url(1), "peers": [big_dead],
                                   "tls": {"ca_file": big.units[1]["ca_file"]}})
        adc_dead = f"https://127.0.0.1:{free_port()}"
        lab.devices["adc"].update({"url": adc.url(1), "peers": [adc_dead],
                                   "tls": {"ca_file": adc.units[1]["ca_file"]}})
        lab.write_config()
        subject = {"organization": "Example", "state": "Yorks", "country": "GB"}
        lab.profile("b", device="big", ca="scm", common_name="b.example.com",
                    subject=subject, vservers=[{"name": "vs1"}])
        lab.profile("c", device="adc", ca="scm", common_name="c.example.com",
                    subject=subject, vservers=[{"name": "vs1"}])
        p = lab.run("run")
        check(p.returncode == 4, "exit 4 when only the standby answers", p.stdout, p.stderr[-2000:])
        lines = [x for x in p.stdout.splitlines()
                 if "the active unit (HA primary) could not be reached" in x]
        check(len(lines) == 2, "each device says its active unit is out of reach", p.stdout)
        line = [x for x in lines if big_dead in x]
        check(line and "connect" in line[0] and "is STANDBY" in line[0],
              "the BIG-IP message keeps the cause: which unit failed and how, and what the "
              "standby said", lines)
        for x in lines:
            dev = "big" if big_dead in x else "adc"
            check(x.count(f"{dev}: ") == 1 and x.count("/login") == 1,
                  "one cause, said once: the device named once, the failed request once", x)

        # only the standby configured, no peers: the same refusal on both
        for name, sim in (("big", big), ("adc", adc)):
            lab.devices[name].pop("peers")
        lab.write_config()
        p = lab.run("run")
        check(p.returncode == 1, "exit 1 when the one configured unit is a standby",
              p.stdout, p.stderr[-2000:])
        refused = [x for x in p.stdout.splitlines() if "a standby is never written to" in x
                   and "floating management address" in x]
        check(len(refused) == 2 and any("STANDBY" in x for x in refused) and
              any("Secondary" in x for x in refused),
              "both drivers refuse the lone standby with the same rule and advice", p.stdout)
        for sim in (big, adc):
            w1 = config_writes(sim.requests(unit=1))
            check(w1 == [], "nothing was written to the standby", w1)
        check(scm.requests() == [], "the CA was not asked")
        check_citrix_settled(adc)
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
