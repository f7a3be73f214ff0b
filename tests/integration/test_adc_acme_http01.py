"""Citrix ADC + ACME http-01 validated for real: Pebble runs without
PEBBLE_VA_ALWAYS_VALID, with pebble-challtestsrv as its DNS pointing every
name at 127.0.0.1, and the simulator's HTTP vserver vs_http listens on
Pebble's httpPort. The ADC answers the challenge with a responder action
and policy bound to the profile's challenge_vserver (profile www), or bound
globally when none is given (profile api). Every responder object is gone
afterwards. A profile whose challenge_vserver is not the one Pebble reaches
fails with Pebble's problem detail, and its objects are removed too."""
from harness import (check_citrix_settled, CitrixSim, Lab, check, main, serial_of, served_cert,
                     free_port, stopping)
from pebble import FakeDNS, Pebble

EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def responder_left(adc):
    r = adc.ctl("/_sim/state")["responder"]
    return {k: v for k, v in r.items() if v}


def challenge_writes(adc):
    return [r for r in adc.requests() if r.get("write") and
            "responder" in r["path"]]


def scenario(w):
    http_port = free_port()
    adc = CitrixSim(w, vservers=("vs_www", "vs_api", "vs_bad"),
                    http_vservers=("vs_http", "vs_http_other"), http_ports={"vs_http": http_port})
    with stopping(adc):
        with FakeDNS(w) as dns, Pebble(w, eab={EAB[0]: EAB[1]}, always_valid=False,
                                       http_port=http_port, dns_server=dns.address) as pebble:
            lab = Lab(w)
            lab.add_citrix("adc1", adc)
            lab.add_acme("pebble", pebble, eab=EAB, challenge="http-01")
            lab.write_config()
            lab.profile("www", device="adc1", ca="pebble", common_name="www.lbcert.test",
                        subject_alt_names=["www.lbcert.test", "static.lbcert.test"],
                        key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                        challenge_vserver="vs_http",
                        vservers=[{"name": "vs_www",
                                   "check": f"127.0.0.1:{adc.port('vs_www')}"}])
            lab.profile("api", device="adc1", ca="pebble", common_name="api.lbcert.test",
                        key={"type": "rsa", "size": 2048}, subject=SUBJECT,
                        vservers=[{"name": "vs_api"}])
            lab.profile("bad", device="adc1", ca="pebble", common_name="bad.lbcert.test",
                        key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                        challenge_vserver="vs_http_other", vservers=[{"name": "vs_bad"}])

            check(responder_left(adc) == {}, "no responder objects at the start")
            p = lab.run("run", "www")
            check(p.returncode == 0, "www: http-01 through vs_http validates", p.stdout,
                  p.stderr[-4000:])
            www = lab.status()["www"]
            der = served_cert(adc.port("vs_www"), "www.lbcert.test")
            check(der is not None and serial_of(der) == www["serial"],
                  "vs_www serves the certificate")
            binds = [r for r in challenge_writes(adc) if "binding" in r["path"]]
            check(binds and all("lbvserver_responderpolicy_binding" in r["path"] for r in binds),
                  "the policy was bound to the vserver, not globally", binds)
            check(responder_left(adc) == {}, "no responder action, policy or binding is left",
                  responder_left(adc))
            check(len([r for r in challenge_writes(adc) if r["method"] == "DELETE"]) >= 6,
                  "two names: two policies, actions and bindings removed")

            adc.clear_requests()
            p = lab.run("run", "api")
            check(p.returncode == 0, "api: http-01 with a global binding validates", p.stdout,
                  p.stderr[-4000:])
            binds = [r for r in challenge_writes(adc) if "binding" in r["path"]]
            check(binds and all("responderglobal_responderpolicy_binding" in r["path"]
                                for r in binds), "the policy was bound globally", binds)
            check(responder_left(adc) == {}, "no responder object left after the global case",
                  responder_left(adc))
            check(lab.status()["api"]["last_result"] == "enrolled", "api enrolled")

            adc.clear_requests()
            p = lab.run("run", "bad")
            check(p.returncode == 1, "bad: a challenge Pebble cannot reach fails the run",
                  p.stdout, p.stderr[-3000:])
            check("urn:ietf:params:acme:error:unauthorized" in p.stdout and
                  "bad.lbcert.test" in p.stdout and "404" in p.stdout,
                  "the failure carries Pebble's problem detail", p.stdout)
            check([r for r in challenge_writes(adc) if r["method"] == "POST"],
                  "bad: the challenge objects were made")
            check(responder_left(adc) == {}, "bad: no responder object left after the failure",
                  responder_left(adc))
            st = lab.status()["bad"]
            check(st["last_result"] == "failed" and st["last_error"], "status shows the error",
                  st)
            check(served_cert(adc.port("vs_bad")) is None, "vs_bad still serves nothing")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
