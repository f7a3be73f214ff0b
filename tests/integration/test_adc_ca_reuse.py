"""Citrix ADC: an existing CA certkey is reused for the chain only when it
holds the very same certificate (fingerprint, hence subject and key
identifier), not because its serial matches. A certkey with the
intermediate's serial but another subject and key (an unrelated CA's
certificate, or a planted one) is left alone and the real intermediate gets
its own certkey."""
import base64
import os
import subprocess

from harness import (CitrixSim, Lab, ScmSim, check, check_citrix_settled, main, serial_of,
                     served_cert, stopping)

SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def scenario(w):
    adc1 = CitrixSim(w, vservers=("vs1",), ha=False, subdir="adc1")
    adc2 = CitrixSim(w, vservers=("vs1",), ha=False, subdir="adc2")
    scm = ScmSim(w)
    with stopping(adc1, adc2, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc1)
        lab.add_citrix("adc2", adc2)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("one", device="adc1", ca="scm", common_name="one.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1"}])
        p = lab.run("run", "one")
        check(p.returncode == 0, "adc1 enrolls", p.stdout, p.stderr[-3000:])
        cks = adc1.ctl("/_sim/state")["certkeys"]
        ca_name = cks["one"]["linkcertkeyname"]
        check(ca_name, "adc1's certkey is linked to its issuer", cks)
        serial = cks[ca_name]["serial"]

        # adc2 holds a certificate with the intermediate's serial, but
        # another subject and key
        d = os.path.join(w, "forged")
        os.makedirs(d)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        os.path.join(d, "f.key"), "-out", os.path.join(d, "f.pem"), "-days",
                        "30", "-subj", "/CN=Unrelated CA", "-set_serial", "0x" + serial,
                        "-addext", "basicConstraints=critical,CA:TRUE"],
                       check=True, capture_output=True)
        rc, body = adc2.api("POST", "/nitro/v1/config/systemfile", {"systemfile": {
            "filename": "unrelated.pem", "filelocation": "/nsconfig/ssl",
            "fileencoding": "BASE64",
            "filecontent": base64.b64encode(open(os.path.join(d, "f.pem"), "rb").read()).decode()}})
        check(rc == 201, "ADC2: unrelated CA file uploaded", body)
        rc, body = adc2.api("POST", "/nitro/v1/config/sslcertkey", {"sslcertkey": {
            "certkey": "unrelated_ca", "cert": "unrelated.pem"}})
        check(rc == 201, "ADC2: unrelated CA certkey added", body)
        rc, body = adc2.api("POST", "/nitro/v1/config/nsconfig?action=save", {"nsconfig": {}})
        check(rc == 200, "ADC2: saved", body)
        check(adc2.ctl("/_sim/state")["certkeys"]["unrelated_ca"]["serial"] == serial,
              "the unrelated certkey has the intermediate's serial")

        lab.profile("two", device="adc2", ca="scm", common_name="two.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1"}])
        p = lab.run("run", "two")
        check(p.returncode == 0, "adc2 enrolls", p.stdout, p.stderr[-3000:])
        cks = adc2.ctl("/_sim/state")["certkeys"]
        link = cks["two"]["linkcertkeyname"]
        check(link and link != "unrelated_ca", "the certkey is not linked to the unrelated CA",
              cks)
        check(cks[link]["subject"] == adc1.ctl("/_sim/state")["certkeys"][ca_name]["subject"],
              "it is linked to a certkey of the real intermediate", cks)
        check(cks["unrelated_ca"]["cert"] == "unrelated.pem", "the unrelated certkey is untouched")
        der = served_cert(adc2.port("vs1"))
        check(der is not None and serial_of(der) == lab.status()["two"]["serial"],
              "vs1 on adc2 serves the new certificate")
        check_citrix_settled(adc1)
        check_citrix_settled(adc2)


if __name__ == "__main__":
    main(scenario)
