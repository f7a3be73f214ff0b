"""Citrix ADC (HA pair) + Sectigo SCM: first enrollment of an RSA and an
ECDSA profile on two vservers (one SNI), checked over TLS; a second run
sends no write; --force renews in place without an unbind."""
from harness import (check_citrix_settled, CitrixSim, Lab, ScmSim, cert_field, check, main,
                     serial_of, served_cert, config_writes, stopping)
import json


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www", "vs_shop"))
    scm = ScmSim(w, pending=1)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.defaults = {"renew_before_days": 30}
        lab.write_config()
        subject = {"organization": "Example Ltd", "locality": "Leeds",
                   "state": "West Yorkshire", "country": "GB"}
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject_alt_names=["www.example.com", "static.example.com"],
                    key={"type": "rsa", "size": 2048}, subject=subject,
                    vservers=[{"name": "vs_www", "check": f"127.0.0.1:{adc.port('vs_www')}"},
                              {"name": "vs_shop"}])
        lab.profile("shop", device="adc1", ca="scm", common_name="shop.example.com",
                    key={"type": "ecdsa", "curve": "P-256"}, subject=subject,
                    vservers=[{"name": "vs_shop", "sni": True,
                               "check": f"127.0.0.1:{adc.port('vs_shop')}"}])

        check(served_cert(adc.port("vs_www")) is None, "vs_www serves nothing before enrollment")
        p = lab.run("plan")
        check(p.returncode == 0 and p.stdout.count("change") == 2, "plan shows two changes",
              p.stdout, p.stderr)
        check(config_writes(adc.requests()) == [], "plan wrote nothing to the ADC")

        p = lab.run("run")
        check(p.returncode == 0, "first run exits 0", p.stdout, p.stderr)
        check(p.stdout.strip().splitlines()[-1] == "2 enrolled, 0 renewed, 0 unchanged, 0 failed",
              "summary line counts two enrollments", p.stdout)

        st = lab.status()
        www, shop = st["www"], st["shop"]
        check(www["last_result"] == "enrolled" and shop["last_result"] == "enrolled",
              "status records both enrollments", st)
        www_der = served_cert(adc.port("vs_www"), "www.example.com")
        check(www_der is not None and serial_of(www_der) == www["serial"],
              "vs_www serves the www certificate over TLS")
        check("static.example.com" in cert_field(www_der, "-ext", "subjectAltName"),
              "the served certificate carries the SANs")
        shop_der = served_cert(adc.port("vs_shop"), "shop.example.com")
        check(shop_der is not None and serial_of(shop_der) == shop["serial"],
              "vs_shop serves the shop certificate to SNI shop.example.com")
        check("id-ecPublicKey" in cert_field(shop_der, "-text"), "shop has an ECDSA key")
        dflt = served_cert(adc.port("vs_shop"), "www.example.com")
        check(dflt is not None and serial_of(dflt) == www["serial"],
              "vs_shop serves www as its default certificate")
        reqs = adc.requests()
        check([r for r in config_writes(reqs) if r["unit"] != 0] == [],
              "no write request reached the secondary")
        scm_state = scm.ctl("/_sim/state")
        check(scm_state["enrolls"] == 2, "SCM saw exactly two enrollments", scm_state)

        adc.clear_requests()
        scm.clear_requests()
        p = lab.run("run")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "0 enrolled, 0 renewed, 2 unchanged, 0 failed"), "second run changes nothing", p.stdout)
        check(config_writes(adc.requests()) == [], "second run sent no write to the ADC",
              json.dumps(config_writes(adc.requests()), indent=1))
        check(scm.requests() == [], "second run sent nothing to the CA")
        st = lab.status()
        check(all(st[n]["last_result"] == "unchanged" for n in ("www", "shop")),
              "status records the no-op run of each profile", st)

        adc.clear_requests()
        p = lab.run("run", "--force", "www")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "0 enrolled, 1 renewed, 0 unchanged, 0 failed"), "--force renews www", p.stdout, p.stderr)
        new = lab.status()["www"]
        check(new["serial"] != www["serial"], "the renewal has a new serial")
        der = served_cert(adc.port("vs_www"), "www.example.com")
        check(serial_of(der) == new["serial"], "vs_www now serves the renewed certificate")
        der = served_cert(adc.port("vs_shop"), "www.example.com")
        check(serial_of(der) == new["serial"], "vs_shop's default switched too (same certkey)")
        reqs = config_writes(adc.requests())
        check(not [r for r in reqs if r["method"] == "DELETE" and "binding" in r["path"]],
              "the renewal never unbound a vserver", reqs)
        check([r for r in reqs if "action=update" in r["path"]], "the renewal updated the certkey")
        check(serial_of(served_cert(adc.port("vs_shop"), "shop.example.com")) == shop["serial"],
              "the shop SNI certificate is untouched")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
