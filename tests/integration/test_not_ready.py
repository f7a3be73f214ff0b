"""A profile that could not be put in service is refused before a key is
made or a certificate ordered: a BIG-IP virtual that already serves an
administrator's client-ssl profile (non-SNI entry), a missing parent
profile, a Citrix vserver that does not exist. `plan` shows the same
error; the CA sees nothing, the device gets no write."""
from harness import (check_citrix_settled, BigipSim, CitrixSim, Lab, ScmSim, check, main,
                     config_writes, stopping)

SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",), pair=False)
    adc = CitrixSim(w, vservers=("vs1",), ha=False)
    scm = ScmSim(w)
    with stopping(big, adc, scm):
        st, body = big.api("POST", "/mgmt/tm/ltm/profile/client-ssl", {
            "name": "admin_clientssl", "partition": "Common",
            "defaultsFrom": "/Common/clientssl",
            "certKeyChain": [{"name": "default", "cert": "/Common/default.crt",
                              "key": "/Common/default.key"}]})
        check(st == 200, "an administrator's client-ssl profile is created", body)
        st, body = big.api("POST", "/mgmt/tm/ltm/virtual/~Common~vs1/profiles",
                           {"name": "/Common/admin_clientssl", "context": "clientside"})
        check(st == 200, "and attached to vs1", body)
        check(big.api("POST", "/mgmt/tm/sys/config", {"command": "save"})[0] == 200,
              "and saved")

        lab = Lab(w)
        lab.add_bigip("big", big)
        lab.add_citrix("adc", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("taken", device="big", ca="scm", common_name="taken.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1"}])
        lab.profile("noparent", device="big", ca="scm", common_name="np.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1", "sni": True}],
                    client_ssl={"parent": "/Common/nosuchparent"})
        lab.profile("novs", device="adc", ca="scm", common_name="novs.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_missing"}])
        big.clear_requests()
        adc.clear_requests()

        p = lab.run("plan")
        check(p.returncode == 1, "plan exits 1", p.stdout, p.stderr)
        check("admin_clientssl" in p.stdout and "nosuchparent" in p.stdout
              and "vs_missing" in p.stdout, "plan names each obstacle", p.stdout)

        for attempt in (1, 2):
            p = lab.run("run")
            check(p.returncode == 1 and p.stdout.strip().endswith(
                "0 enrolled, 0 renewed, 0 unchanged, 3 failed"),
                f"run {attempt} fails all three", p.stdout, p.stderr[-2000:])
        check(scm.ctl("/_sim/state")["enrolls"] == 0, "the CA was never asked for a certificate")
        sent = config_writes(big.requests())
        check(sent == [], "no write reached the BIG-IP", sent)
        sent = config_writes(adc.requests())
        check(sent == [], "no write reached the ADC", sent)
        keys = [k for k in big.ctl("/_sim/state")["key"] if "taken" in k or "noparent" in k]
        check(keys == [], "no key was made on the BIG-IP", keys)
        status, items = big.api("GET", "/mgmt/tm/ltm/virtual/~Common~vs1/profiles")
        names = [i["fullPath"] for i in items["items"]]
        check("/Common/admin_clientssl" in names, "the administrator's profile is still attached",
              names)
        check_citrix_settled(adc)
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
