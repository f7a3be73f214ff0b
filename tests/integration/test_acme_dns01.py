"""ACME dns-01 through RFC 2136, validated for real: BIND 9 is primary for
lbcert.test and takes updates signed with one TSIG key; Pebble runs without
PEBBLE_VA_ALWAYS_VALID and asks that BIND for the TXT records.

- Citrix ADC: a wildcard profile (*.lbcert.test + lbcert.test: two
  authorizations whose records share the name _acme-challenge.lbcert.test)
  is issued and served; no TXT record is left.
- BIG-IP: a wildcard profile (*.shop.lbcert.test) on the same CA.
- A wrong TSIG secret: the update is refused, the run fails naming the TSIG
  error, nothing is added to the zone.
- A failed validation (a second Pebble whose DNS does not know the zone):
  the record was added, and is deleted after the authorization failed.
- A zone with a name server that never answers: the wait ends after
  dns.timeout_s with an error naming that server, the record is deleted.
"""
from bind import DEFAULT_ZONE, Bind
from harness import BigipSim, CitrixSim, Lab, cert_field, check, check_citrix_settled, main
from harness import serial_of, served_cert
from pebble import FakeDNS, Pebble

EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
SLOW_ZONE = """$TTL 60
@       IN SOA ns1 hostmaster 1 60 60 600 60
@       IN NS  ns1
@       IN NS  ns2
ns1     IN A   127.0.0.1
ns2     IN A   127.0.0.2
"""
RECORDS = ("_acme-challenge.lbcert.test", "_acme-challenge.shop.lbcert.test",
           "_acme-challenge.bad.lbcert.test", "_acme-challenge.fail.lbcert.test",
           "_acme-challenge.www.slow.test")


def sans_of(der):
    out = cert_field(der, "-ext", "subjectAltName").splitlines()[-1]
    return sorted(x.strip().split(":", 1)[1] for x in out.split(","))


def left(ns):
    return {n: ns.txt(n) for n in RECORDS if ns.txt(n)}


def add_dns_ca(lab, name, pebble, ns, secret=None, **dns):
    d = {"server": "127.0.0.1", "port": ns.port, "tsig_name": ns.key_name}
    d.update(dns)
    lab.add_acme(name, pebble, eab=EAB, challenge="dns-01", dns=d)
    lab.creds[name]["tsig_secret"] = secret or ns.secret


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_wild", "vs_bad", "vs_fail", "vs_slow"))
    big = BigipSim(w, virtuals=("vs_shop",), pair=False)
    try:
        with Bind(w, zones={"lbcert.test": DEFAULT_ZONE,
                            "slow.test": SLOW_ZONE}) as ns, \
                Pebble(w, eab={EAB[0]: EAB[1]}, always_valid=False,
                       dns_server=ns.address) as pebble:
            lab = Lab(w)
            lab.add_citrix("adc1", adc)
            lab.add_bigip("big1", big)
            add_dns_ca(lab, "dns", pebble, ns)
            # a key name BIND knows with another secret
            add_dns_ca(lab, "badkey", pebble, ns,
                       secret="c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=")
            add_dns_ca(lab, "slow", pebble, ns, timeout_s=2)
            lab.write_config()
            lab.profile("wild", device="adc1", ca="dns", common_name="*.lbcert.test",
                        subject_alt_names=["lbcert.test"], subject=SUBJECT,
                        key={"type": "ecdsa", "curve": "P-256"},
                        vservers=[{"name": "vs_wild"}])
            lab.profile("shop", device="big1", ca="dns", common_name="*.shop.lbcert.test",
                        subject={"country": "GB"}, vservers=[{"name": "vs_shop"}],
                        client_ssl={"server_name": "*.shop.lbcert.test"})
            lab.profile("bad", device="adc1", ca="badkey", common_name="bad.lbcert.test",
                        subject=SUBJECT, vservers=[{"name": "vs_bad"}])
            lab.profile("slow", device="adc1", ca="slow", common_name="www.slow.test",
                        subject=SUBJECT, vservers=[{"name": "vs_slow"}])

            # -- Citrix, wildcard + base name: two records at one name
            p = lab.run("run", "wild")
            check(p.returncode == 0, "wild: dns-01 through BIND validates", p.stdout,
                  p.stderr[-4000:], ns.output()[-3000:])
            st = lab.status()["wild"]
            der = served_cert(adc.port("vs_wild"), "a.lbcert.test")
            check(der is not None and serial_of(der) == st["serial"],
                  "vs_wild serves the wildcard certificate")
            check(sans_of(der) == ["*.lbcert.test", "lbcert.test"],
                  "it covers *.lbcert.test and lbcert.test", sans_of(der))
            upd = ns.updates()
            check(len([u for u in upd if "adding an RR" in u]) == 2 and
                  len([u for u in upd if "deleting an RR" in u]) == 2,
                  "two records added and each deleted by its own value", upd)
            check(left(ns) == {}, "no TXT record is left", left(ns))

            # -- BIG-IP wildcard
            p = lab.run("run", "shop")
            check(p.returncode == 0, "shop: BIG-IP wildcard through dns-01", p.stdout,
                  p.stderr[-4000:])
            der = served_cert(big.port("vs_shop"), "x.shop.lbcert.test")
            check(der is not None and serial_of(der) == lab.status()["shop"]["serial"],
                  "vs_shop serves the wildcard certificate")
            check(sans_of(der) == ["*.shop.lbcert.test"], "its SAN is the wildcard",
                  sans_of(der))
            check(left(ns) == {}, "no TXT record is left after shop", left(ns))

            # -- wrong TSIG secret: known before a key is made or anything ordered
            n = len(ns.updates())
            adc.clear_requests()
            orders = pebble.orders_count() if hasattr(pebble, "orders_count") else None
            p = lab.run("run", "bad")
            out = p.stdout + p.stderr
            check(p.returncode != 0, "bad: a refused TSIG key fails the run", out[-3000:])
            check("BADSIG" in out and "tsig_secret" in out and "zone lbcert.test" in out,
                  "the error names the TSIG failure and the zone", out[-3000:])
            check(ns.secret not in out, "the secret is not printed")
            check(not any("adding an RR" in u for u in ns.updates()[n:]),
                  "BIND added nothing", ns.updates()[n:])
            check(left(ns) == {}, "no TXT record after the refused update", left(ns))
            check(served_cert(adc.port("vs_bad")) is None, "vs_bad serves nothing")
            check(not [r for r in adc.requests() if r["method"] != "GET" and
                       "login" not in r["path"] and "logout" not in r["path"]],
                  "no key was made on the device", adc.requests())
            if orders is not None:
                check(pebble.orders_count() == orders, "nothing was ordered")
            p = lab.run("check")
            bad = [x for x in p.stdout.splitlines() if x.startswith("profile bad")]
            check(p.returncode != 0 and bad and "BADSIG" in bad[0],
                  "lbcert check reports the refused key", p.stdout)
            check(not [x for x in p.stdout.splitlines()
                       if x.startswith("profile wild") and "FAILED" in x],
                  "and takes the right one", p.stdout)

            # -- a name server that never answers: bounded wait
            p = lab.run("run", "slow")
            out = p.stdout + p.stderr
            check(p.returncode != 0, "slow: the propagation wait ends in failure", out[-3000:])
            check("ns2.slow.test" in out and "within 2 s" in out and "dns-01: name" not in out,
                  "the error names the silent name server and the wait", out[-3000:])
            check(left(ns) == {}, "the record is deleted after the timeout", left(ns))
            check(any("deleting an RR" in u and "slow.test" in u for u in ns.updates()),
                  "BIND saw the delete", ns.updates())

        # -- a validation that fails: Pebble asks a DNS that does not know the zone
        with Bind(w + "/b2") as ns, FakeDNS(w) as fake, \
                Pebble(w + "/p2", eab={EAB[0]: EAB[1]}, always_valid=False,
                       dns_server=fake.address) as pebble2:
            lab2 = Lab(w + "/lab2")
            lab2.add_citrix("adc1", adc)
            add_dns_ca(lab2, "dns", pebble2, ns)
            lab2.write_config()
            lab2.profile("fail", device="adc1", ca="dns", common_name="fail.lbcert.test",
                         subject=SUBJECT, vservers=[{"name": "vs_fail"}])
            p = lab2.run("run", "fail")
            out = p.stdout + p.stderr
            check(p.returncode != 0, "fail: Pebble does not find the record", out[-3000:])
            check("fail.lbcert.test" in out and "invalid" in out,
                  "the error carries the invalid authorization", out[-3000:])
            upd = ns.updates()
            check(any("adding an RR" in u for u in upd) and
                  any("deleting an RR" in u for u in upd),
                  "the record was added and deleted after the failure", upd)
            check(left(ns) == {}, "no TXT record is left after the failure", left(ns))
            check(served_cert(adc.port("vs_fail")) is None, "vs_fail serves nothing")
        check_citrix_settled(adc)
        big.check_settled()
    finally:
        adc.stop()
        big.stop()


if __name__ == "__main__":
    main(scenario)
