"""BIG-IP token expiry mid-run: the driver logs in again once, replays the
request and finishes the enrollment; the dead token never reappears."""
from harness import BigipSim, Lab, ScmSim, check, main, serial_of, served_cert


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",), pair=False)
    scm = ScmSim(w)
    try:
        lab = Lab(w)
        lab.add_bigip("big", big)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("web", device="big", ca="scm", common_name="web.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1"}])
        big.ctl("/_sim/fault", {"kind": "expire_tokens", "path": "/mgmt/tm/sys/crypto/key",
                                "count": 1})
        p = lab.run("run")
        check(p.returncode == 0 and "1 enrolled" in p.stdout,
              "the run survives a token that expired mid-run", p.stdout, p.stderr[-2000:])
        reqs = big.ctl("/_sim/requests")
        logins = [r for r in reqs if r["path"].startswith("/mgmt/shared/authn/login")]
        check(len(logins) == 2, "it logged in exactly twice", logins)
        k401 = [r for r in reqs if r["status"] == 401]
        check(len(k401) == 1, "one request met the expired token, and only one", k401)
        check(serial_of(served_cert(big.port("vs1"))) == lab.status()["web"]["serial"],
              "vs1 serves the new certificate")
        check(big.ctl("/_sim/state")["tokens"] == 0, "the token was deleted at the end")
        big.check_settled()
    finally:
        big.stop()
        scm.stop()


if __name__ == "__main__":
    main(scenario)
