"""SCM answers "not yet issued": within the poll timeout lbcert waits and
installs; past it the run reports pending, keeps the sslId, and the next
run collects it without enrolling again."""
from harness import (check_citrix_settled, CitrixSim, Lab, ScmSim, check, main, serial_of,
                     served_cert, stopping)


def scenario(w):
    adc = CitrixSim(w, vservers=("vs1",), ha=False)
    scm = ScmSim(w, pending=4)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm, poll={"interval_s": 1, "timeout_s": 2})
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1"}])
        p = lab.run("run")
        check(p.returncode == 0, "a pending certificate is not a failure", p.stdout, p.stderr)
        check("www: pending" in p.stdout, "run says the profile is pending", p.stdout)
        check(served_cert(adc.port("vs1")) is None, "nothing bound while pending")
        check(lab.status()["www"]["last_result"] == "pending", "status says pending")

        lab.add_scm("scm", scm, poll={"interval_s": 1, "timeout_s": 20})
        lab.write_config()
        p = lab.run("run")
        check(p.returncode == 0 and "1 enrolled" in p.stdout, "the next run collects and installs",
              p.stdout, p.stderr)
        st = scm.ctl("/_sim/state")
        check(st["enrolls"] == 1, "SCM saw one enrollment only", st)
        check(list(st["issued_per_key"].values()) == [1], "one certificate for the key", st)
        check(st["collects"] >= 5, "lbcert polled through the pending answers", st)
        check(serial_of(served_cert(adc.port("vs1"))) == lab.status()["www"]["serial"],
              "vs1 serves the collected certificate")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
