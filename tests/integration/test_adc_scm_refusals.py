"""What an administrator sees when the CA refuses, or a password is wrong:
the reason with the peer's code, exit 1, nothing changed on the ADC, and
the failure counted under its class in the metrics file."""
import os
import re

from harness import (check_citrix_settled, CitrixSim, Lab, ScmSim, check, main, served_cert,
                     stopping)


def error_classes(lab):
    """{class: count} of lbcert_run_errors in the run's metrics file."""
    with open(os.path.join(lab.work, "lbcert.prom")) as f:
        return {c: int(n) for c, n in re.findall(
            r'^lbcert_run_errors\{class="([a-z_]+)"\} (\d+)$', f.read(), re.M) if int(n)}


def write_config(lab):
    lab.write_config()
    with open(os.path.join(lab.conf, "lbcert.yaml"), "a") as f:
        f.write(f"metrics_file: {os.path.join(lab.work, 'lbcert.prom')}\n")


def scenario(w):
    adc = CitrixSim(w, vservers=("vs1",), ha=False)
    scm = ScmSim(w, refuse_domain="bad.example.com")
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        write_config(lab)
        subject = {"organization": "Example", "state": "Yorks", "country": "GB"}
        lab.profile("bad", device="adc1", ca="scm", common_name="bad.example.com",
                    subject=subject, vservers=[{"name": "vs1"}])
        p = lab.run("run")
        check(p.returncode == 1, "a refused enrollment exits 1", p.stdout, p.stderr)
        check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 0 unchanged, 1 failed"),
              "summary counts the failure", p.stdout)
        check("bad: failed" in p.stdout and "scm" in p.stdout, "the failure names the CA", p.stdout)
        st = lab.status()["bad"]
        check(st["last_result"] == "failed" and st["last_error"], "status keeps the error", st)
        check(served_cert(adc.port("vs1")) is None, "nothing was bound")
        state = adc.ctl("/_sim/state")
        check(not state.get("certkeys"), "no certkey was created", state.get("certkeys"))
        check(error_classes(lab) == {"ca": 1}, "the metrics count one CA error",
              error_classes(lab))

        lab.creds["adc1"]["password"] = "wrong-password"
        write_config(lab)
        p = lab.run("run")
        check(p.returncode in (1, 4), "wrong ADC credentials fail the run", p.stdout, p.stderr)
        check("354" in p.stdout + p.stderr, "the NITRO error code 354 is shown", p.stdout, p.stderr)
        check(error_classes(lab) == {"auth": 1}, "the metrics count refused credentials",
              error_classes(lab))

        lab.creds["adc1"]["password"] = adc.password
        lab.creds["scm"]["password"] = "wrong-password"
        write_config(lab)
        p = lab.run("check")
        check(p.returncode != 0, "check fails with a wrong SCM password", p.stdout)
        check("ca scm: FAILED" in p.stdout and "device adc1: ok" in p.stdout,
              "check tells which peer refused", p.stdout)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
