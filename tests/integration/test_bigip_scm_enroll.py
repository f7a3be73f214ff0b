"""F5 BIG-IP (active/standby pair) + Sectigo SCM: first enrollment on two
virtuals (a client-ssl profile with a password-protected key), checked over
TLS at each virtual; a second run sends no write to the BIG-IP and nothing
to SCM."""
import json

from harness import (BigipSim, Lab, ScmSim, cert_field, check, main, serial_of, served_cert,
                     writes, stopping)


def scenario(w):
    big = BigipSim(w, virtuals=("vs_www", "vs_api"))
    scm = ScmSim(w, pending=1)
    with stopping(big, scm):
        lab = Lab(w)
        lab.add_bigip("big1", big)
        lab.add_scm("scm", scm)
        lab.defaults = {"renew_before_days": 30}
        lab.write_config()
        lab.profile("www", device="big1", ca="scm", common_name="www.example.com",
                    subject_alt_names=["www.example.com", "api.example.com"],
                    key={"type": "rsa", "size": 2048},
                    subject={"organization": "Example Ltd", "country": "GB"},
                    vservers=[{"name": "vs_www", "check": f"127.0.0.1:{big.port('vs_www')}"},
                              {"name": "vs_api", "check": f"127.0.0.1:{big.port('vs_api')}"}],
                    client_ssl={"parent": "/Common/clientssl", "profile": "www_clientssl"})

        before = served_cert(big.port("vs_www"), "www.example.com")
        p = lab.run("run")
        check(p.returncode == 0, "first run exits 0", p.stdout, p.stderr[-3000:])
        check(p.stdout.strip().splitlines()[-1] == "1 enrolled, 0 renewed, 0 unchanged, 0 failed",
              "summary: one enrollment", p.stdout)
        st = lab.status()["www"]
        check(st["last_result"] == "enrolled" and st["ca"] == "scm", "status records it", st)
        for vs in ("vs_www", "vs_api"):
            der = served_cert(big.port(vs), "www.example.com")
            check(der is not None and serial_of(der) == st["serial"],
                  f"{vs} serves the SCM certificate over TLS")
        check(before is None, "vs_www served nothing before the run")
        der = served_cert(big.port("vs_www"), "api.example.com")
        check("api.example.com" in cert_field(der, "-ext", "subjectAltName"),
              "the certificate carries the SAN")
        check("Sim SCM" in cert_field(der, "-issuer"), "issued by the SCM sim's CA")
        state = big.ctl("/_sim/state")
        prof = state["clientssl"].get("/Common/www_clientssl")
        check(prof is not None and prof["defaultsFrom"] == "/Common/clientssl",
              "client-ssl profile www_clientssl derives from /Common/clientssl",
              json.dumps(state["clientssl"], indent=1)[:2000])
        key = state["key"].get(prof["certKeyChain"][0]["key"])
        check(key is not None and key["securityType"] == "password",
              "the key on the BIG-IP is password protected", key)
        check(not state.get("standby_writes"), "no write reached the standby",
              state.get("standby_writes"))
        check(scm.ctl("/_sim/state")["enrolls"] == 1, "SCM saw one enrollment")

        big.clear_requests()
        scm.clear_requests()
        p = lab.run("run")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "0 enrolled, 0 renewed, 1 unchanged, 0 failed"), "second run changes nothing",
            p.stdout, p.stderr[-2000:])
        w2 = writes(big.requests())
        check(w2 == [], "second run sent no write to the BIG-IP", w2)
        check(scm.requests() == [], "second run sent nothing to SCM")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
