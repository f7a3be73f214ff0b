"""Which spelling of the SAN property BIG-IP's sys/crypto/key takes is not
documented: the REST objects show subjectAlternativeName, tmsh and scripts
use subject-alternative-name. lbcert sends the first; a unit whose schema
refuses it as an unexpected json pair (HTTP 400, nothing created) is sent
the second. Both kinds of unit end with the names in the certificate."""
import os
import subprocess

from harness import BigipSim, Lab, ScmSim, check, main, served_cert, stopping

NAMES = ["www.example.com", "api.example.com"]


def sans_of(der):
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-ext",
                          "subjectAltName"], input=der, capture_output=True, check=True).stdout
    return sorted(x.strip()[4:] for x in out.decode().splitlines()[1].split(","))


def scenario(w):
    for spelling in ("tmsh", "rest"):
        d = os.path.join(w, spelling)
        os.makedirs(d)
        big = BigipSim(d, virtuals=("vs1",), pair=False, extra=["--san-property", spelling])
        scm = ScmSim(d)
        with stopping(big, scm):
            lab = Lab(d)
            lab.add_bigip("big1", big)
            lab.add_scm("scm", scm)
            lab.write_config()
            lab.profile("www", device="big1", ca="scm", common_name=NAMES[0],
                        subject_alt_names=NAMES, subject={"country": "GB"},
                        vservers=[{"name": "vs1"}])
            p = lab.run("run")
            check(p.returncode == 0, f"{spelling}: the enrollment gets through", p.stdout,
                  p.stderr[-3000:])
            keys = [r for r in big.requests() if r["method"] == "POST" and
                    r["path"] == "/mgmt/tm/sys/crypto/key"]
            want = [400, 200] if spelling == "tmsh" else [200]
            check([r["status"] for r in keys] == want,
                  f"{spelling}: key creation answered {want}", keys)
            der = served_cert(big.port("vs1"), NAMES[0])
            check(der is not None and sans_of(der) == sorted(NAMES),
                  f"{spelling}: the certificate carries every name", der and sans_of(der))
            big.check_settled()


if __name__ == "__main__":
    main(scenario)
