"""F5 BIG-IP (active/standby pair) + ACME with External Account Binding
(Pebble): first enrollment of an RSA and an ECDSA P-384 profile onto two
virtuals with SNI, checked over TLS at the virtual listeners; the standby
receives no write; a second run sends no write to the device and no request
to the CA; --force renews in place: one transaction, the client-ssl profile
is never detached from a virtual, and the served certificate changes."""
import json
import os

from harness import (BigipSim, Lab, cert_field, check, main, serial_of, served_cert, writes,
                     stopping)
from pebble import Pebble

EAB = ("kid-bigip", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "locality": "Leeds", "state": "West Yorkshire",
           "country": "GB"}


def acme_requests(pebble_log):
    """Lines of Pebble's log that record an ACME request it served."""
    return [ln for ln in pebble_log.splitlines()
            if any(p in ln for p in ("/dir", "/nonce-plz", "/sign-me-up", "/order-plz",
                                     "/my-order/", "/authZ/", "/chalZ/", "/finalize-order/",
                                     "/certZ/", "/my-account/"))]


def scenario(w):
    big = BigipSim(w, virtuals=("vs1", "vs2"), pair=True)
    peb = Pebble(w, eab={EAB[0]: EAB[1]})
    with stopping(big, peb):
        peb.start()
        lab = Lab(w)
        lab.add_bigip("bigip1", big)
        lab.add_acme("acme", peb, eab=EAB)
        lab.write_config()
        lab.profile("www", device="bigip1", ca="acme", common_name="www.example.com",
                    subject_alt_names=["www.example.com", "static.example.com"],
                    key={"type": "rsa", "size": 2048}, subject=SUBJECT,
                    vservers=[{"name": "vs1", "check": f"127.0.0.1:{big.port('vs1')}"},
                              {"name": "vs2", "sni": True}],
                    client_ssl={"parent": "/Common/clientssl", "sni_default": True,
                                "server_name": "www.example.com"})
        lab.profile("api", device="bigip1", ca="acme", common_name="api.example.com",
                    key={"type": "ecdsa", "curve": "P-384"}, subject=SUBJECT,
                    vservers=[{"name": "vs2", "sni": True,
                               "check": f"127.0.0.1:{big.port('vs2')}"}],
                    client_ssl={"parent": "/Common/clientssl", "sni_default": False,
                                "server_name": "api.example.com"})

        check(served_cert(big.port("vs1")) is None, "vs1 serves nothing before enrollment")
        p = lab.run("run")
        check(p.returncode == 0, "first run exits 0", p.stdout, p.stderr[-4000:])
        check(p.stdout.strip().splitlines()[-1] == "2 enrolled, 0 renewed, 0 unchanged, 0 failed",
              "summary line counts two enrollments", p.stdout)

        st = lab.status()
        www, api = st["www"], st["api"]
        check(www["last_result"] == "enrolled" and api["last_result"] == "enrolled",
              "status records both enrollments", st)
        der = served_cert(big.port("vs1"), "www.example.com")
        check(der is not None and serial_of(der) == www["serial"],
              "vs1 serves the www certificate (serial as in status --json)", www)
        check("static.example.com" in cert_field(der, "-ext", "subjectAltName"),
              "the served certificate carries the SANs")
        check("rsaEncryption" in cert_field(der, "-text"), "www has an RSA key")
        der = served_cert(big.port("vs2"), "api.example.com")
        check(der is not None and serial_of(der) == api["serial"],
              "vs2 serves the api certificate to SNI api.example.com", api)
        text = cert_field(der, "-text")
        check("id-ecPublicKey" in text and ("P-384" in text or "secp384r1" in text),
              "api has an ECDSA P-384 key")
        der = served_cert(big.port("vs2"), "www.example.com")
        check(der is not None and serial_of(der) == www["serial"],
              "vs2 serves www to SNI www.example.com")
        der = served_cert(big.port("vs2"), "other.example.net")
        check(der is not None and serial_of(der) == www["serial"],
              "vs2 serves www (the SNI default) to an unknown name")

        state = big.ctl("/_sim/state")
        reqs = big.requests()
        check([r for r in writes(reqs) if r["unit"] != 0] == [] and state["standby_writes"] == [],
              "no write request reached the standby (unit 1)",
              json.dumps([r for r in writes(reqs) if r["unit"] != 0], indent=1))
        check(state["saves"] >= 1, "the configuration was saved")
        profs = state["clientssl"]
        check(profs["/Common/www_clientssl"]["sniDefault"] == "true"
              and profs["/Common/www_clientssl"]["serverName"] == "www.example.com",
              "www's client-ssl profile is the SNI default for www.example.com")
        check(all(e["has_passphrase"] for n in ("/Common/www_clientssl", "/Common/api_clientssl")
                  for e in profs[n]["certKeyChain"]),
              "both profiles carry the key passphrase")
        check(all(k["securityType"] == "password" for fp, k in state["key"].items()
                  if fp != "/Common/default.key"),
              "every key lbcert made is password protected")
        n_keys = len(state["key"])

        # second run: nothing due -> no device write, no CA request
        n_dev = len(reqs)
        peb_lines = len(acme_requests(peb.log_text()))
        p = lab.run("run", level="trace")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "0 enrolled, 0 renewed, 2 unchanged, 0 failed"), "second run changes nothing",
            p.stdout, p.stderr[-3000:])
        new = big.requests()[n_dev:]
        check(writes(new) == [], "second run sent no write to the device",
              json.dumps(writes(new), indent=1))
        check(len(acme_requests(peb.log_text())) == peb_lines,
              "second run sent no request to the CA (Pebble's log)",
              acme_requests(peb.log_text())[peb_lines:])
        check(f"127.0.0.1:{peb.port}" not in p.stderr,
              "the trace of the second run shows no HTTP exchange with the CA")

        # --force: renewal in place
        n_dev = len(big.requests())
        p = lab.run("run", "--force", "www")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "0 enrolled, 1 renewed, 0 unchanged, 0 failed"), "--force renews www", p.stdout,
            p.stderr[-4000:])
        new_www = lab.status()["www"]
        check(new_www["serial"] != www["serial"], "the renewal has a new serial")
        for vs in ("vs1", "vs2"):
            der = served_cert(big.port(vs), "www.example.com")
            check(der is not None and serial_of(der) == new_www["serial"],
                  f"{vs} now serves the renewed certificate")
        check(serial_of(served_cert(big.port("vs2"), "api.example.com")) == api["serial"],
              "the api SNI certificate is untouched")
        reqs = big.requests()[n_dev:]
        w_reqs = writes(reqs)
        check(not [r for r in w_reqs if r["method"] == "DELETE" and "/ltm/virtual/" in r["path"]],
              "the renewal never detached a profile from a virtual", w_reqs)
        check(not [r for r in w_reqs if "/ltm/virtual" in r["path"]],
              "the renewal did not touch the virtuals at all", w_reqs)
        prof_writes = [r for r in w_reqs if "/ltm/profile/client-ssl" in r["path"]]
        check(len(prof_writes) == 1 and prof_writes[0].get("transaction"),
              "the client-ssl profile was changed once, inside a transaction", prof_writes)
        commits = [r for r in w_reqs if r["method"] == "PATCH"
                   and r["path"].startswith("/mgmt/tm/transaction/")]
        check(len(commits) == 1 and commits[0]["status"] == 200,
              "exactly one transaction was committed", commits)
        check([r for r in w_reqs if r["unit"] != 0] == [], "the renewal wrote nothing to the standby")
        state = big.ctl("/_sim/state")
        check(len(state["key"]) == n_keys,
              "the old www key was retired (as many keys as before)", sorted(state["key"]))
        www_ckc = state["clientssl"]["/Common/www_clientssl"]["certKeyChain"]
        check(len(www_ckc) == 1 and www_ckc[0]["key"] in state["key"],
              "the www profile holds one cert-key-chain with the new key", www_ckc)
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
