"""BIG-IP HA pair where the configured `url` is the STANDBY unit and the
active one is listed under `peers`: lbcert asks each unit for its failover
state, works on the active unit only, and enrolls (ACME with EAB, Pebble).
Every write lands on unit 0 (active); unit 1 (standby) gets only the
read-only failover-status query and its login."""
import json
import os

from harness import BigipSim, Lab, check, main, serial_of, served_cert, stopping, writes
from pebble import Pebble

EAB = ("kid-ha", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",), pair=True)
    peb = Pebble(w, eab={EAB[0]: EAB[1]})
    with stopping(big, peb):
        peb.start()
        lab = Lab(w)
        # the two units have their own self-signed management certificates
        bundle = os.path.join(w, "bigip-mgmt-bundle.pem")
        with open(bundle, "w") as f:
            for u in big.units:
                f.write(open(u["ca_file"]).read())
        lab.add_bigip("bigip1", big, peers=False, url=big.url(1))
        d = lab.devices["bigip1"]
        d["peers"] = [big.url(0)]
        d["sync_group"] = big.ready["device_group"]
        d["tls"] = {"ca_file": bundle}
        lab.add_acme("acme", peb, eab=EAB)
        lab.write_config()
        lab.profile("www", device="bigip1", ca="acme", common_name="www.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1", "check": f"127.0.0.1:{big.port('vs1')}"}])
        check(big.units[1]["role"] == "standby", "unit 1 of the simulator is the standby")

        p = lab.run("run")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "1 enrolled, 0 renewed, 0 unchanged, 0 failed"),
            "a run whose url names the standby enrolls", p.stdout, p.stderr[-3000:])
        check(f"using {big.url(0)} (ACTIVE)" in p.stderr, "lbcert chose the active unit",
              p.stderr[-2000:])
        reqs = big.requests()
        standby = [r for r in reqs if r["unit"] == 1]
        check(any("failover-status" in r["path"] for r in standby),
              "lbcert asked the standby for its failover state")
        check(writes(standby) == [] and
              big.ctl("/_sim/state")["standby_writes"] == [],
              "nothing was written to the standby", json.dumps(standby, indent=1))
        check(all(r["method"] == "GET" or r["path"].startswith("/mgmt/shared/authn/login")
                  or r["path"].startswith("/mgmt/shared/authz/tokens/") for r in standby),
              "the standby saw only login, token cleanup and GETs",
              [(r["method"], r["path"]) for r in standby])
        check(any(r.get("write") and r["unit"] == 0 for r in reqs), "the active unit got the writes")
        der = served_cert(big.port("vs1"), "www.example.com")
        check(der is not None and serial_of(der) == lab.status()["www"]["serial"],
              "vs1 serves the new certificate")

        p = lab.run("run")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "0 enrolled, 0 renewed, 1 unchanged, 0 failed"), "the next run has nothing to do",
            p.stdout)
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
