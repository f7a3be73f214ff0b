"""At -l trace every HTTP exchange is logged, and still no password,
session id or token appears in the log, the state directory or stdout."""
import os

from harness import check_citrix_settled, CitrixSim, Lab, ScmSim, check, main, stopping


def scenario(w):
    adc = CitrixSim(w, vservers=("vs1",), ha=True, password="Adc-S3cret-Pw-771")
    scm = ScmSim(w, password="Scm-S3cret-Pw-882")
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1"}])
        p = lab.run("run", level="trace")
        check(p.returncode == 0, "the traced run enrolls", p.stdout, p.stderr[-3000:])
        check("POST" in p.stderr and "/nitro/v1/config/login" in p.stderr,
              "the trace shows the HTTP exchanges")
        out = p.stdout + p.stderr
        secrets = ["Adc-S3cret-Pw-771", "Scm-S3cret-Pw-882"]
        sessions = adc.ctl("/_sim/sessions")
        check(len(sessions) >= 1, "the ADC issued session ids")
        for s in secrets + sessions:
            check(s not in out, f"secret {s[:6]}… absent from the logs")
        walked = [f for _, _, files in os.walk(lab.state) for f in files]
        check("lbcert.db" in walked, "the state directory holds the database searched below",
              walked)
        for root, _, files in os.walk(lab.state):
            for f in files:
                data = open(os.path.join(root, f), "rb").read()
                for s in secrets + sessions:
                    check(s.encode() not in data, f"secret {s[:6]}… absent from state/{f}")
        check("[REDACTED]" in p.stderr, "redaction is visible in the trace")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
