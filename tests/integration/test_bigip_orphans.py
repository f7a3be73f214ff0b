"""BIG-IP: a run that fails after installing the certificate but before
putting it in service leaves a key whose passphrase is gone with that run.
The next run removes that key and every object made for it (CSR,
certificate, chain) and enrolls afresh, so the box ends with exactly the
objects of the certificate in service; the certificate issued for the dead
key, which can never be served, is revoked at the CA."""
import re

from harness import BigipSim, Lab, check, main, serial_of, served_cert, stopping
from pebble import Pebble

EAB = ("kid-o", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",))
    with stopping(big):
        with Pebble(w, eab={EAB[0]: EAB[1]}) as peb:
            lab = Lab(w)
            lab.add_bigip("b1", big)
            lab.add_acme("acme", peb, eab=EAB)
            lab.write_config()
            lab.profile("web", device="b1", ca="acme", common_name="web.example.com",
                        vservers=[{"name": "vs1"}])
            # the CSR's download fails: its bulk copy, the CSR and the key go
            big.ctl("/_sim/fault", {"method": "GET", "path": "/mgmt/shared/file-transfer/bulk/",
                                    "status": 404, "message": "injected bulk", "count": 1})
            p = lab.run("run")
            check(p.returncode == 1 and "injected bulk" in p.stdout, "the run fails reading the CSR",
                  p.stdout, p.stderr[-2000:])
            st = big.check_settled()
            check([k for k in st["key"] if k.startswith("/Common/web_")] == [] and
                  [c for c in st["csr"] if c.startswith("/Common/web_")] == [],
                  "no key or CSR is left", st["key"], st["csr"])
            big.ctl("/_sim/fault", {"method": "POST", "path": "/mgmt/tm/ltm/profile/client-ssl",
                                    "status": 400, "message": "injected", "count": 1})
            p = lab.run("run")
            check(p.returncode == 1 and "injected" in p.stdout, "the run fails at activation",
                  p.stdout, p.stderr[-2000:])
            st = big.ctl("/_sim/state")
            web = lambda objs: sorted(o for o in objs if o.startswith("/Common/web_"))
            check(len(web(st["key"])) == 1 and len(web(st["cert"])) == 2,
                  "it left a key and installed certificate objects behind", st["key"], st["cert"])
            check(served_cert(big.port("vs1")) is None, "nothing is in service")
            # what the failed run made is saved and synced all the same: the
            # saved configuration never differs from the running one
            big.check_settled()

            p = lab.run("run")
            check(p.returncode == 0 and "1 enrolled" in p.stdout, "the next run enrolls",
                  p.stdout, p.stderr[-2000:])
            check("discarding key" in p.stderr, "it discarded the dead key", p.stderr[-2000:])
            m = re.search(r"revoked serial ([0-9a-f]+), issued for the discarded key", p.stderr)
            check(m is not None and peb.cert_status(m.group(1))["Status"] == "Revoked",
                  "the certificate issued for the dead key was revoked at the CA")
            st = big.ctl("/_sim/state")
            chain = st["clientssl"]["/Common/web_clientssl"]["certKeyChain"][0]
            check(web(st["key"]) == [chain["key"]], "only the key in service is left",
                  list(st["key"]))
            want = {chain["cert"]} | ({chain["chain"]} if chain.get("chain") else set())
            ours = set(web(st["cert"]))
            check(ours == want, "only the certificate objects in service are left", ours, want)
            check(not [c for c in web(st.get("csr", {})) if c != chain["key"][:-4]],
                  "no CSR of the dead key is left", st.get("csr"))
            check(serial_of(served_cert(big.port("vs1"))) == lab.status()["web"]["serial"],
                  "vs1 serves the new certificate")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
