"""An SCM enroll whose answer is lost never buys a second certificate.

The simulator takes the enroll, issues, and drops the connection without a
byte of answer. The next run finds the request by the tag lbcert journaled
and sent in `comments`, and collects that sslId: one certificate in all.
When the enroll was dropped before SCM took it, the next run finds no
tagged request and enrolls again with the same key. When the lookup itself
fails, nothing is concluded: the profile fails and the journal stays."""
from harness import (CitrixSim, Lab, check_citrix_settled, ScmSim, check, main, serial_of,
                     served_cert, stopping)


def scenario(w):
    adc = CitrixSim(w, vservers=("vs1", "vs2"), ha=False)
    # the listing names its id "id" (the details' non-deprecated name)
    scm = ScmSim(w, extra=["--list-id", "id"])
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        subject = {"organization": "Example", "state": "Yorks", "country": "GB"}
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject=subject, vservers=[{"name": "vs1"}])
        lab.profile("shop", device="adc1", ca="scm", common_name="shop.example.com",
                    subject=subject, vservers=[{"name": "vs2"}])

        # -- the answer is lost after SCM issued --------------------------
        scm.ctl("/_sim/fault", {"fail_next": {"path_contains": "/enroll", "drop": "after"}})
        p = lab.run("run", "www")
        check(p.returncode != 0, "the run whose enroll answer was lost fails", p.stdout, p.stderr)
        st = scm.ctl("/_sim/state")
        check(st["enrolls"] == 1, "SCM took that enroll", st)
        ssl_id = list(st["certs"])[0]
        check("ref " in (st["certs"][ssl_id]["comments"] or ""),
              "the enroll carried a ref tag in comments", st)
        check(served_cert(adc.port("vs1")) is None, "nothing bound yet")

        p = lab.run("run", "www")
        check(p.returncode == 0 and "1 enrolled" in p.stdout,
              "the next run finishes the enrollment", p.stdout, p.stderr)
        check("the CA has the order of the lost submission: " + ssl_id in p.stderr,
              "it found the lost sslId at SCM", p.stderr)
        st = scm.ctl("/_sim/state")
        check(st["enrolls"] == 1, "no second enroll", st)
        check(list(st["issued_per_key"].values()) == [1], "one certificate for the key", st)
        www = lab.status()["www"]
        check(serial_of(served_cert(adc.port("vs1"))) == www["serial"], "vs1 serves it")
        check(www["serial"].lstrip("0").lower() ==
              st["certs"][ssl_id]["serial"].lstrip("0").lower(),
              "and it is the certificate of the lost enroll", www, st["certs"][ssl_id])

        # -- the enroll never reached SCM ---------------------------------
        scm.ctl("/_sim/fault", {"fail_next": {"path_contains": "/enroll", "drop": "before"}})
        p = lab.run("run", "shop")
        check(p.returncode != 0, "the run whose enroll was dropped fails", p.stdout, p.stderr)
        check(scm.ctl("/_sim/state")["enrolls"] == 1, "SCM took nothing")

        # -- and the lookup fails once: nothing concluded --------------------
        scm.ctl("/_sim/fault", {"fail_next": {"path_contains": "/api/ssl/v1", "status": 503,
                                              "count": 3}})
        p = lab.run("run", "shop")
        check(p.returncode != 0 and "cannot look up the submission" in p.stdout,
              "a failed lookup fails the profile", p.stdout, p.stderr)
        check(scm.ctl("/_sim/state")["enrolls"] == 1, "and enrolls nothing", p.stderr)

        p = lab.run("run", "shop")
        check(p.returncode == 0 and "1 enrolled" in p.stdout,
              "the next run enrolls shop", p.stdout, p.stderr)
        check("the CA has no order of the lost submission" in p.stderr,
              "after SCM proved it had no such request", p.stderr)
        check("discarding key" not in p.stderr, "with the same key", p.stderr)
        st = scm.ctl("/_sim/state")
        check(st["enrolls"] == 2, "two enrollments for two profiles", st)
        check(sorted(st["issued_per_key"].values()) == [1, 1], "one certificate per key", st)
        check(serial_of(served_cert(adc.port("vs2"))) == lab.status()["shop"]["serial"],
              "vs2 serves shop's certificate")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
