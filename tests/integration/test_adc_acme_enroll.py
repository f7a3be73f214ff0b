"""Citrix ADC (HA pair) + ACME (Pebble with EAB, challenge none): first
enrollment of a two-name profile, checked over TLS at the vserver; a
second run sends no write to the ADC and changes nothing."""
from harness import (check_citrix_settled, CitrixSim, Lab, cert_field, check, main, serial_of,
                     served_cert, config_writes, stopping)
from pebble import Pebble

# NITRO's sslcertreq wants country, state and organization (ref §4).
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www",))
    with stopping(adc):
        with Pebble(w, eab={EAB[0]: EAB[1]}) as pebble:
            lab = Lab(w)
            lab.add_citrix("adc1", adc)
            lab.add_acme("pebble", pebble, eab=EAB)
            lab.write_config()
            lab.profile("www", device="adc1", ca="pebble", common_name="www.lbcert.test",
                        subject_alt_names=["www.lbcert.test", "api.lbcert.test"],
                        key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                        vservers=[{"name": "vs_www",
                                   "check": f"127.0.0.1:{adc.port('vs_www')}"}])

            check(served_cert(adc.port("vs_www")) is None, "vs_www serves nothing at first")
            p = lab.run("run")
            check(p.returncode == 0, "first run exits 0", p.stdout, p.stderr[-3000:])
            check(p.stdout.strip().splitlines()[-1] ==
                  "1 enrolled, 0 renewed, 0 unchanged, 0 failed", "summary: one enrollment",
                  p.stdout)
            st = lab.status()["www"]
            check(st["last_result"] == "enrolled" and st["ca"] == "pebble",
                  "status records the enrollment from pebble", st)
            der = served_cert(adc.port("vs_www"), "www.lbcert.test")
            check(der is not None and serial_of(der) == st["serial"],
                  "vs_www serves the ACME certificate over TLS")
            sans = cert_field(der, "-ext", "subjectAltName")
            check("www.lbcert.test" in sans and "api.lbcert.test" in sans,
                  "the served certificate carries both names", sans)
            issuer = cert_field(der, "-issuer")
            check("Pebble" in issuer, "issued by Pebble's intermediate", issuer)
            check(pebble.cert_status(st["serial"])["Status"] == "Valid",
                  "Pebble knows the certificate as valid")
            state = adc.ctl("/_sim/state")
            ck = state["certkeys"].get("www")
            check(ck is not None and ck["linkcertkeyname"], "certkey www is linked to its issuer",
                  state["certkeys"])

            adc.clear_requests()
            p = lab.run("run")
            check(p.returncode == 0 and p.stdout.strip().endswith(
                "0 enrolled, 0 renewed, 1 unchanged, 0 failed"), "second run changes nothing",
                p.stdout, p.stderr[-2000:])
            check(config_writes(adc.requests()) == [], "second run sent no write to the ADC")
            check(serial_of(served_cert(adc.port("vs_www"), "www.lbcert.test")) == st["serial"],
                  "vs_www still serves the same certificate")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
