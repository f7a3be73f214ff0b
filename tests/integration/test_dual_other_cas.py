"""keys: with the CA kind each appliance's dual scenario does not use:
Citrix ADC + ACME (Pebble, EAB) and BIG-IP + Sectigo SCM. Each enrolls an
RSA and an ECDSA certificate for the same names in one run, both served
over TLS by key type (the check: address probes each key's own
certificate), and the next run changes nothing."""
import os

from harness import (BigipSim, CitrixSim, Lab, ScmSim, check, check_citrix_settled, key_type_of,
                     main, serial_of, served_for, stopping)
from pebble import Pebble

SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
KEYS = [{"type": "rsa", "size": 2048}, {"type": "ecdsa", "curve": "P-384"}]


def both_served(lab, port, name, sni):
    st = lab.status()
    want = {"rsa": (st[name]["serial"], "rsa"), "ecdsa": (st[name + ".ecdsa"]["serial"], "ecdsa")}
    for key in ("rsa", "ecdsa"):
        for tls12 in (False, True):
            der = served_for(port, key, sni=sni, tls12=tls12)
            got = (serial_of(der), key_type_of(der)) if der is not None else None
            check(got == want[key], "the %s certificate is served to a client offering only %s "
                  "(%s)" % (key, key, "TLS 1.2" if tls12 else "TLS 1.3"), got, want)


def run_twice(lab, what):
    p = lab.run("run")
    check(p.returncode == 0 and p.stdout.strip().endswith(
        "2 enrolled, 0 renewed, 0 unchanged, 0 failed"), what + ": one run enrolls both keys",
        p.stdout, p.stderr[-3000:])
    return p


def citrix_acme(w):
    adc = CitrixSim(w, vservers=("vs_www",))
    with stopping(adc):
        with Pebble(w, eab={EAB[0]: EAB[1]}) as pebble:
            lab = Lab(w)
            lab.add_citrix("adc1", adc)
            lab.add_acme("pebble", pebble, eab=EAB)
            lab.write_config()
            lab.profile("www", device="adc1", ca="pebble", common_name="www.lbcert.test",
                        subject=SUBJECT, keys=KEYS,
                        vservers=[{"name": "vs_www",
                                   "check": f"127.0.0.1:{adc.port('vs_www')}"}])
            run_twice(lab, "Citrix + ACME")
            both_served(lab, adc.port("vs_www"), "www", "www.lbcert.test")
            p = lab.run("run")
            check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 2 unchanged, 0 failed"),
                  "Citrix + ACME: the next run changes nothing", p.stdout)
            # the check: probe asks for the renewed key's type, not whichever
            # certificate the vserver prefers
            for name in ("www", "www.ecdsa"):
                p = lab.run("run", "--force", name if name != "www" else "www.rsa")
                serial = lab.status()[name]["serial"]
                check(p.returncode == 0 and p.stdout.strip().endswith(
                    "0 enrolled, 1 renewed, 0 unchanged, 0 failed") and
                    "%s: vs_www at 127.0.0.1:%d serves serial %s" % (
                        name, adc.port("vs_www"), serial) in p.stderr,
                    "Citrix + ACME: renewing %s, the check address serves its new "
                    "certificate" % name, p.stdout, p.stderr[-3000:])
            both_served(lab, adc.port("vs_www"), "www", "www.lbcert.test")
            check_citrix_settled(adc)


def bigip_scm(w):
    big = BigipSim(w, virtuals=("vs_www",))
    scm = ScmSim(w, pending=1)
    with stopping(big, scm):
        lab = Lab(w)
        lab.add_bigip("big1", big)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("www", device="big1", ca="scm", common_name="www.example.com",
                    subject=SUBJECT, keys=KEYS,
                    vservers=[{"name": "vs_www", "check": f"127.0.0.1:{big.port('vs_www')}"}])
        run_twice(lab, "BIG-IP + SCM")
        both_served(lab, big.port("vs_www"), "www", "www.example.com")
        ckc = big.ctl("/_sim/state")["clientssl"]["/Common/www_clientssl"]["certKeyChain"]
        check(len(ckc) == 2, "BIG-IP + SCM: one client-ssl profile with two entries", ckc)
        check(scm.ctl("/_sim/state")["enrolls"] == 2, "SCM saw one enrollment per key")
        p = lab.run("run")
        check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 2 unchanged, 0 failed"),
              "BIG-IP + SCM: the next run changes nothing", p.stdout)
        for name in ("www", "www.ecdsa"):
            p = lab.run("run", "--force", name if name != "www" else "www.rsa")
            serial = lab.status()[name]["serial"]
            check(p.returncode == 0 and p.stdout.strip().endswith(
                "0 enrolled, 1 renewed, 0 unchanged, 0 failed") and
                "%s: vs_www at 127.0.0.1:%d serves serial %s" % (
                    name, big.port("vs_www"), serial) in p.stderr,
                "BIG-IP + SCM: renewing %s, the check address serves its new certificate" % name,
                p.stdout, p.stderr[-3000:])
        both_served(lab, big.port("vs_www"), "www", "www.example.com")
        big.check_settled()


def scenario(w):
    citrix_acme(os.path.join(w, "citrix"))
    bigip_scm(os.path.join(w, "bigip"))


if __name__ == "__main__":
    main(scenario)
