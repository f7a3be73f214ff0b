"""A profile whose key type, key size or names changed is re-keyed at the
next run (Citrix ADC + SCM), and plan says why: "key changed: rsa:2048 ->
ecdsa:P-256", "key changed: ecdsa:P-256 -> rsa:3072", "names changed:
+shop.example.com", "names changed: -shop.example.com". Each renewal
installs a new key (the certkey's key file changes) and the run after it
changes nothing."""
from harness import (check_citrix_settled, CitrixSim, Lab, ScmSim, cert_field, check, main,
                     serial_of, served_cert, stopping)

SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www",))
    scm = ScmSim(w)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.defaults = {"renew_before_days": 30}
        lab.write_config()
        port = adc.port("vs_www")

        def profile(key, sans):
            lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                        subject_alt_names=sans, key=key, subject=SUBJECT,
                        vservers=[{"name": "vs_www", "check": f"127.0.0.1:{port}"}])

        def step(key, sans, why, what):
            before = adc.ctl("/_sim/state")["certkeys"]["www"]
            profile(key, sans)
            p = lab.run("plan")
            line = [l for l in p.stdout.splitlines() if l.startswith("www ")]
            check(p.returncode == 0 and line and line[0].split()[3] == "change" and
                  line[0].rstrip().endswith(why), f"plan: {why}", p.stdout, p.stderr[-1500:])
            p = lab.run("run")
            check(p.returncode == 0 and p.stdout.strip().endswith(
                "0 enrolled, 1 renewed, 0 unchanged, 0 failed") and why in p.stdout,
                f"run renews www ({what})", p.stdout, p.stderr[-2500:])
            after = adc.ctl("/_sim/state")["certkeys"]["www"]
            check(after["key"] != before["key"], "a new key file backs the certkey",
                  before["key"], after["key"])
            der = served_cert(port, "www.example.com")
            check(serial_of(der) == lab.status()["www"]["serial"],
                  "vs_www serves the re-keyed certificate")
            p = lab.run("run")
            check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 1 unchanged, 0 failed"),
                  "the next run changes nothing", p.stdout)
            return der

        profile({"type": "rsa", "size": 2048}, ["www.example.com"])
        p = lab.run("run")
        check(p.returncode == 0, "www enrolled with rsa:2048", p.stdout, p.stderr[-2000:])

        der = step({"type": "ecdsa", "curve": "P-256"}, ["www.example.com"],
                   "key changed: rsa:2048 -> ecdsa:P-256", "rsa to ecdsa")
        check("id-ecPublicKey" in cert_field(der, "-text"), "the new key is ECDSA")
        der = step({"type": "rsa", "size": 3072}, ["www.example.com"],
                   "key changed: ecdsa:P-256 -> rsa:3072", "ecdsa to rsa 3072")
        check("3072 bit" in cert_field(der, "-text"), "the new key is RSA 3072")
        der = step({"type": "rsa", "size": 3072}, ["www.example.com", "shop.example.com"],
                   "names changed: +shop.example.com", "a name added")
        check("shop.example.com" in cert_field(der, "-ext", "subjectAltName"),
              "the new certificate carries shop.example.com")
        der = step({"type": "rsa", "size": 3072}, ["www.example.com"],
                   "names changed: -shop.example.com", "a name dropped")
        check("shop.example.com" not in cert_field(der, "-ext", "subjectAltName"),
              "the new certificate no longer carries shop.example.com")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
