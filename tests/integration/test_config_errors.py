"""Bad configuration: exit 2, FILE:LINE:COLUMN: message, and no device or
CA contacted."""
import os

from harness import check_citrix_settled, CitrixSim, Lab, ScmSim, check, main, stopping


def scenario(w):
    adc = CitrixSim(w, vservers=("vs1",), ha=False)
    scm = ScmSim(w)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        good = ("device: adc1\nca: scm\ncommon_name: www.example.com\n"
                "subject: {organization: Example, state: Yorks, country: GB}\n"
                "vservers:\n  - name: vs1\n")
        profile = os.path.join("profiles", "www.yaml")
        cases = [
            # (profile text, expected "file:line:col" suffix, message part)
            (good + "colour: blue\n", "www.yaml:7:1", "colour"),
            (good.replace("device: adc1", "device: adc9"), "www.yaml:1:9", "adc9"),
            (good + "key: {type: rsa, size: 1024}\n", "www.yaml:7:", "1024"),
            (good + "key: {type: ecdsa, curve: P-521}\n", "www.yaml:7:", "P-521"),
            (good.replace("vservers:\n  - name: vs1\n", "vservers: vs1\n"), "www.yaml:5:11", ""),
            (good + "renew_before_days: soon\n", "www.yaml:7:20", ""),
            ("device: adc1\nca: scm\nvservers: [{name: vs1}]\n", "www.yaml:1:1", "common_name"),
            (good + "  - {name: vs1}\n", "www.yaml:7:", "vs1"),
            (good.replace("subject: {organization: Example, state: Yorks, country: GB}\n", ""),
             "www.yaml:1:1", "country, state and organization"),
        ]
        for text, where, what in cases:
            lab.write(profile, text)
            p = lab.run("run")
            first = p.stderr.strip().splitlines()[0] if p.stderr.strip() else ""
            check(p.returncode == 2, f"exit 2 for {where} {what}", p.stdout, p.stderr)
            check(where in first and first.split(where)[0].endswith(lab.conf + "/profiles/")
                  and what in first, f"error at {where} naming '{what}'", first)
        lab.write(profile, good)

        lab.write("credentials.yaml", open(os.path.join(lab.conf, "credentials.yaml")).read(),
                  mode=0o644)
        p = lab.run("check")
        check(p.returncode == 2 and "credentials.yaml" in p.stderr,
              "a group/world-readable credentials.yaml is refused", p.stderr)
        lab.write_config()

        text = open(os.path.join(lab.conf, "lbcert.yaml")).read()
        lab.write("lbcert.yaml", text.replace("type: \"citrix-adc\"", "type: \"netscaler\""))
        p = lab.run("run")
        check(p.returncode == 2 and "lbcert.yaml:" in p.stderr and "netscaler" in p.stderr,
              "an unknown device type is refused with its position", p.stderr)
        lab.write_config()

        check(adc.requests() == [], "the ADC was never contacted")
        check(scm.requests() == [], "the CA was never contacted")
        p = lab.run("check")
        check(p.returncode == 0, "the repaired configuration checks out", p.stdout, p.stderr)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
