"""The exit codes of SPEC §3 that the other scenarios do not reach:
2 for usage errors, 3 when another run holds the lock, 4 when a device
cannot be reached at all."""
import fcntl
import os

from harness import check_citrix_settled, CitrixSim, Lab, ScmSim, check, main, free_port, stopping


def scenario(w):
    adc = CitrixSim(w, vservers=("vs1",), ha=False)
    scm = ScmSim(w)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1"}])

        p = lab.run("frobnicate")
        check(p.returncode == 2 and "unknown command" in p.stderr, "unknown command: exit 2")
        p = lab.run("run", "nosuchprofile")
        check(p.returncode == 2 and "nosuchprofile" in p.stderr, "unknown profile: exit 2")
        p = lab.run("run", "--jobs", "0")
        check(p.returncode == 2, "bad --jobs: exit 2")

        p = lab.run("status")
        check(p.returncode == 0, "status creates the state directory", p.stderr)
        check(oct(os.stat(lab.state).st_mode & 0o777) == "0o700", "state directory is 0700")
        check(oct(os.stat(os.path.join(lab.state, "lbcert.db")).st_mode & 0o777) == "0o600",
              "database is 0600")
        check(sorted(os.listdir(lab.state)) == ["lbcert.db"],
              "a finished command leaves the database alone, its write-ahead log folded in",
              os.listdir(lab.state))
        with open(os.path.join(lab.state, "lbcert.lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            p = lab.run("run")
            check(p.returncode == 3 and "another lbcert run holds" in p.stderr,
                  "a held lock: exit 3", p.stderr)
            check(adc.requests() == [], "a locked-out run contacts nothing")
        p = lab.run("status")
        check(p.returncode == 0, "status does not need the lock")

        lab.devices["adc1"]["url"] = f"https://127.0.0.1:{free_port()}"
        lab.write_config()
        p = lab.run("run")
        check(p.returncode == 4, "an unreachable device: exit 4", p.stdout, p.stderr)
        check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 0 unchanged, 1 failed"),
              "the summary still comes", p.stdout)
        url = lab.devices["adc1"]["url"]
        line = [x for x in p.stdout.splitlines() if "no unit reachable" in x]
        check(len(line) == 1 and line[0].count("adc1: ") == 1 and line[0].count(url) == 1 and
              "Couldn't connect" in line[0],
              "one cause, said once: the device, the request and what the network said", line)
        p = lab.run("check")
        check(p.returncode == 4 and "device adc1: FAILED" in p.stdout and "ca scm: ok" in p.stdout,
              "check: exit 4 and which peer is out of reach", p.stdout)
        line = [x for x in p.stdout.splitlines() if x.startswith("device adc1:")]
        check(line and line[0].count("adc1") == 1 and "Couldn't connect" in line[0],
              "check names the device once, and the cause", line)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
