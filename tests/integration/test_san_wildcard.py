"""Multi-domain SANs and wildcard names.

- Citrix ADC + ACME (Pebble, EAB, challenge none): one certificate for four
  names, one a wildcard; the common name is added to the SANs when the
  profile omits it; the vserver serves it for each name.
- BIG-IP + SCM: a wildcard common name with an extra SAN, SNI server name
  set to the wildcard.
- A wildcard with an http-01 CA is a configuration error (exit 2,
  FILE:LINE:COLUMN) and nothing is contacted."""
from harness import (check_citrix_settled, BigipSim, CitrixSim, Lab, ScmSim, cert_field, check,
                     main, serial_of, served_cert, stopping)
from pebble import Pebble

EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def sans_of(der):
    out = cert_field(der, "-ext", "subjectAltName").splitlines()[-1]
    return sorted(x.strip().split(":", 1)[1] for x in out.split(","))


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_multi",))
    big = BigipSim(w, virtuals=("vs_wild",), pair=False)
    scm = ScmSim(w)
    with stopping(adc, big, scm):
        with Pebble(w, eab={EAB[0]: EAB[1]}) as pebble:
            lab = Lab(w)
            lab.add_citrix("adc1", adc)
            lab.add_bigip("big1", big)
            lab.add_acme("pebble", pebble, eab=EAB)
            lab.add_scm("scm", scm)
            lab.defaults = {"renew_before_days": 30}
            lab.write_config()
            names = ["shop.lbcert.test", "api.lbcert.test", "*.static.lbcert.test"]
            lab.profile("multi", device="adc1", ca="pebble", common_name="www.lbcert.test",
                        subject_alt_names=names, subject=SUBJECT,
                        vservers=[{"name": "vs_multi"}])
            lab.profile("wild", device="big1", ca="scm", common_name="*.example.com",
                        subject_alt_names=["example.com"], subject={"country": "GB"},
                        vservers=[{"name": "vs_wild"}],
                        client_ssl={"server_name": "*.example.com"})
            p = lab.run("run")
            check(p.returncode == 0 and p.stdout.strip().endswith(
                "2 enrolled, 0 renewed, 0 unchanged, 0 failed"), "both profiles enrolled",
                p.stdout, p.stderr[-3000:])
            st = lab.status()
            want = sorted(names + ["www.lbcert.test"])
            for sni in ("www.lbcert.test", "shop.lbcert.test", "img.static.lbcert.test"):
                der = served_cert(adc.port("vs_multi"), sni)
                check(der is not None and serial_of(der) == st["multi"]["serial"],
                      f"vs_multi serves the certificate for {sni}")
            check(sans_of(der) == want, "its SANs are the three names plus the common name",
                  sans_of(der))
            der = served_cert(big.port("vs_wild"), "a.example.com")
            check(der is not None and serial_of(der) == st["wild"]["serial"],
                  "vs_wild serves the wildcard certificate")
            check(sans_of(der) == ["*.example.com", "example.com"],
                  "it covers *.example.com and example.com", sans_of(der))
            check("CN = *.example.com" in cert_field(der, "-subject") or
                  "CN=*.example.com" in cert_field(der, "-subject"), "CN is the wildcard")
            p = lab.run("run")
            check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 2 unchanged, 0 failed"),
                  "the second run changes nothing (wildcard names compare equal)", p.stdout)

            # the same wildcard with an http-01 CA is refused
            lab.add_acme("pebble-http", pebble, eab=EAB, challenge="http-01")
            lab.write_config()
            lab.profile("wild_http", device="adc1", ca="pebble-http",
                        common_name="www.lbcert.test",
                        subject_alt_names=["*.static.lbcert.test"], subject=SUBJECT,
                        vservers=[{"name": "vs_multi"}])
            adc.clear_requests()
            p = lab.run("run")
            check(p.returncode == 2, "a wildcard with http-01 is a configuration error",
                  p.returncode, p.stdout, p.stderr[-1500:])
            check("wild_http.yaml:" in p.stderr and "wildcard" in p.stderr and
                  "http-01" in p.stderr, "the error names the file, position and why",
                  p.stderr[-800:])
            check(adc.requests() == [], "nothing was contacted")
        check_citrix_settled(adc)
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
