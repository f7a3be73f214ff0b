"""A run killed with SIGKILL between enroll and collect resumes on the next
run: the sslId from the journal is collected, SCM is not asked again, and
the key gets exactly one certificate."""
import signal
import time

from harness import (check_citrix_settled, CitrixSim, Lab, ScmSim, check, main, serial_of,
                     served_cert, stopping)


def scenario(w):
    adc = CitrixSim(w, vservers=("vs1",), ha=True)
    scm = ScmSim(w, pending=6)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm, poll={"interval_s": 1, "timeout_s": 60})
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1"}])
        proc = lab.start("run")
        deadline = time.time() + 60
        while scm.ctl("/_sim/state")["enrolls"] == 0 and time.time() < deadline:
            time.sleep(0.1)
        check(scm.ctl("/_sim/state")["enrolls"] == 1, "the first run enrolled")
        time.sleep(1.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check(served_cert(adc.port("vs1")) is None, "nothing bound when the run died")

        p = lab.run("run")
        check(p.returncode == 0 and "1 enrolled" in p.stdout, "the next run finishes the enrollment",
              p.stdout, p.stderr)
        check("resuming at step ordered" in p.stderr, "it resumed from the journal", p.stderr)
        st = scm.ctl("/_sim/state")
        check(st["enrolls"] == 1, "SCM saw one enrollment in all", st)
        check(list(st["issued_per_key"].values()) == [1], "the key has exactly one certificate", st)
        check(serial_of(served_cert(adc.port("vs1"))) == lab.status()["www"]["serial"],
              "vs1 serves it")
        p = lab.run("run")
        check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 1 unchanged, 0 failed"),
              "and the run after that has nothing to do", p.stdout)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
