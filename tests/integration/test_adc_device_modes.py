"""Citrix ADC set up as hardened sites run it. With default SSL profiles
enabled (set ssl parameter -defaultProfile ENABLED) the vserver refuses SSL
settings (errorcode 3740): SNI is turned on in the vserver's SSL profile
and the SNI certificate serves. With the RESPONDER feature off, an http-01
profile is refused by the readiness check: nothing is written to the ADC
and nothing is ordered."""
from harness import (CitrixSim, Lab, ScmSim, check, check_citrix_settled, main, serial_of,
                     served_cert, config_writes, stopping)
from pebble import Pebble

EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def default_profile(w):
    adc = CitrixSim(w, vservers=("vs_shop",), ha=True, extra=["--default-profile"],
                    subdir="adc_profile")
    scm = ScmSim(w)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    key={"type": "rsa", "size": 2048}, subject=SUBJECT,
                    vservers=[{"name": "vs_shop"}])
        lab.profile("shop", device="adc1", ca="scm", common_name="shop.example.com",
                    key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                    vservers=[{"name": "vs_shop", "sni": True}])
        p = lab.run("run")
        check(p.returncode == 0, "both profiles enroll with default SSL profiles on", p.stdout,
              p.stderr[-3000:])
        st = adc.ctl("/_sim/state")
        check(st["sslprofiles"]["ns_default_ssl_profile_frontend"]["snienable"] == "ENABLED",
              "SNI was enabled on the vserver's SSL profile", st["sslprofiles"])
        refused = [r for r in config_writes(adc.requests()) if r["status"] >= 400]
        check(refused == [], "no request was refused (no vserver-level SSL setting)", refused)
        status = lab.status()
        der = served_cert(adc.port("vs_shop"), "shop.example.com")
        check(der is not None and serial_of(der) == status["shop"]["serial"],
              "vs_shop serves shop to SNI shop.example.com")
        der = served_cert(adc.port("vs_shop"), "www.example.com")
        check(der is not None and serial_of(der) == status["www"]["serial"],
              "and www as its default certificate")
        check_citrix_settled(adc)


def responder_off(w):
    adc = CitrixSim(w, vservers=("vs_www",), ha=False, http_vservers=("vs_http",),
                    extra=["--responder-off"], subdir="adc_responder")
    with stopping(adc):
        with Pebble(w, eab={EAB[0]: EAB[1]}) as pebble:
            lab = Lab(w + "/responder")
            lab.add_citrix("adc1", adc)
            lab.add_acme("pebble", pebble, eab=EAB, challenge="http-01")
            lab.write_config()
            lab.profile("www", device="adc1", ca="pebble", common_name="www.lbcert.test",
                        key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                        challenge_vserver="vs_http", vservers=[{"name": "vs_www"}])
            adc.clear_requests()
            p = lab.run("run")
            check(p.returncode == 1, "http-01 with RESPONDER off fails", p.stdout, p.stderr[-3000:])
            check("RESPONDER" in p.stderr and "enable ns feature RESPONDER" in p.stderr,
                  "the message says which feature to enable", p.stderr[-3000:])
            sent = config_writes(adc.requests())
            check(sent == [], "nothing was written to the ADC", sent)
            check("POST /order-plz" not in pebble.log_text(), "nothing was ordered from the CA")
            check_citrix_settled(adc)


def scenario(w):
    default_profile(w)
    responder_off(w)


if __name__ == "__main__":
    main(scenario)
