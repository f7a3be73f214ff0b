"""BIG-IP token expiry mid-run, on any kind of request: a configuration
call, a util command, a file upload, a bulk download, a transaction member
and its commit. Each time the driver logs in again once, replays the
request and finishes; the dead token never reappears."""
from harness import BigipSim, Lab, ScmSim, check, main, serial_of, served_cert, stopping

# One expiry each, just before the request on that path reaches the box.
ENROLL = ["/mgmt/tm/sys/crypto/key", "/mgmt/tm/util/unix-mv",
          "/mgmt/shared/file-transfer/uploads/", "/mgmt/tm/ltm/virtual/"]
# (a listing of virtual servers is the last one)
RENEW = ["/mgmt/shared/file-transfer/bulk/", "/mgmt/tm/util/unix-rm",
         "/mgmt/tm/transaction", ("PATCH", "/mgmt/tm/ltm/profile/client-ssl/"),
         ("PATCH", "/mgmt/tm/transaction/")]


def expire_before(big, paths):
    for path in paths:
        method, path = path if isinstance(path, tuple) else (None, path)
        big.ctl("/_sim/fault", {"kind": "expire_tokens", "path": path, "method": method,
                                "count": 1})


def logins_and_refusals(big, n0):
    reqs = big.requests()[n0:]
    logins = [r for r in reqs if r["path"].startswith("/mgmt/shared/authn/login")]
    refused = [r for r in reqs if r["status"] == 401]
    return len(reqs), logins, refused


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",), pair=False)
    scm = ScmSim(w)
    with stopping(big, scm):
        lab = Lab(w)
        lab.add_bigip("big", big)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("web", device="big", ca="scm", common_name="web.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1"}])
        expire_before(big, ENROLL)
        p = lab.run("run")
        check(p.returncode == 0 and "1 enrolled" in p.stdout,
              "the enrollment survives tokens that expired mid-run", p.stdout, p.stderr[-2000:])
        n, logins, refused = logins_and_refusals(big, 0)
        check(sorted(r["path"].split("/")[3] for r in refused) ==
              sorted(x.split("/")[3] for x in ENROLL),
              "one request of each kind met the expired token", [r["path"] for r in refused])
        check(len(logins) == 1 + len(ENROLL), "one login at the start, one per expiry", logins)
        check(serial_of(served_cert(big.port("vs1"))) == lab.status()["web"]["serial"],
              "vs1 serves the new certificate")

        expire_before(big, RENEW)
        p = lab.run("run", "--force", "web")
        check(p.returncode == 0 and "1 renewed" in p.stdout,
              "the renewal survives tokens that expired mid-run", p.stdout, p.stderr[-2000:])
        _, logins, refused = logins_and_refusals(big, n)
        check(len(refused) == len(RENEW) and len(logins) == 1 + len(RENEW),
              "each expiry cost one refusal and one login", [r["path"] for r in refused], logins)
        check([r["method"] for r in refused if r["path"].startswith("/mgmt/tm/transaction")]
              == ["POST", "PATCH"] and any(r["method"] == "PATCH" and "client-ssl" in r["path"]
                                           for r in refused),
              "the transaction's creation, a member and the commit were among them",
              [(r["method"], r["path"]) for r in refused])
        check(serial_of(served_cert(big.port("vs1"))) == lab.status()["web"]["serial"],
              "vs1 serves the renewed certificate")
        check(big.ctl("/_sim/state")["tokens"] == 0, "the token was deleted at the end")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
