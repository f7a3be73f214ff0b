"""Text from a device reaches the operator escaped: an error message with a
terminal escape sequence and a line break (as a hostile or broken unit
could send) is shown as \\x1b and \\n in the run's output, the log, and the
ERROR column of `lbcert status`, never raw: it can neither recolour the
terminal nor forge a line of its own."""
from harness import BigipSim, Lab, ScmSim, check, main, stopping

EVIL = "\x1b[31mowned\x1b[0m\nwww: enrolled serial 00"


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",), pair=False)
    scm = ScmSim(w)
    with stopping(big, scm):
        lab = Lab(w)
        lab.add_bigip("big1", big)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("www", device="big1", ca="scm", common_name="www.example.com",
                    subject={"country": "GB"}, vservers=[{"name": "vs1"}])
        big.ctl("/_sim/fault", {"method": "POST", "path": "/mgmt/tm/sys/crypto/key",
                                "status": 400, "message": EVIL, "count": 1})
        p = lab.run("run")
        out = p.stdout + p.stderr
        check(p.returncode == 1, "the refused key fails the run", out[-3000:])
        check("\\x1b[31mowned" in out, "the device's text is shown, escaped", out[-3000:])
        check("\x1b" not in out, "no raw escape reaches the output or the log")
        check(not any(l.startswith("www: enrolled") for l in p.stdout.splitlines()),
              "the device cannot forge a line of the run's output", p.stdout)
        p = lab.run("status")
        check(p.returncode == 0 and "\\x1b[31mowned" in p.stdout and "\x1b" not in p.stdout,
              "status shows the stored error escaped", p.stdout)
        check(len(p.stdout.strip().splitlines()) == 2,
              "one header and one line for the profile", p.stdout)


if __name__ == "__main__":
    main(scenario)
