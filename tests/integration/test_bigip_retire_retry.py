"""BIG-IP: when the renewal's removal of the replaced certificate's objects
fails (the box answers 503 to the old key's DELETE), the run still ends
well (the new certificate is in service and saved) and the old objects
are retried by the next run of the profile, even one where nothing is
due, until the box holds only what is in service. No object in service is
ever deleted, and no uploaded file is left in the upload directory."""
from harness import BigipSim, Lab, check, main, serial_of, served_cert, stopping
from pebble import Pebble

EAB = ("kid-r", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")


def ours(objs):
    return sorted(o for o in objs if o.startswith("/Common/web_"))


def in_service(st):
    chain = st["clientssl"]["/Common/web_clientssl"]["certKeyChain"][0]
    certs = {chain["cert"]} | ({chain["chain"]} if chain.get("chain") else set())
    return chain["key"], certs


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
            p = lab.run("run")
            check(p.returncode == 0, "enrolled", p.stdout, p.stderr[-2000:])
            old_key, _ = in_service(big.ctl("/_sim/state"))

            big.ctl("/_sim/fault", {"method": "DELETE", "path": "/mgmt/tm/sys/file/ssl-key/",
                                    "status": 503, "message": "injected retire", "count": 1})
            p = lab.run("run", "--force")
            check(p.returncode == 0 and "1 renewed" in p.stdout, "the renewal succeeds",
                  p.stdout, p.stderr[-2000:])
            st = big.check_settled()
            key, certs = in_service(st)
            check(old_key in st["key"] and key != old_key,
                  "the old key is left after the failed retirement", list(st["key"]))

            # nothing is due: the run retires what is pending, then saves
            p = lab.run("run")
            check(p.returncode == 0 and "1 unchanged" in p.stdout, "nothing is due",
                  p.stdout, p.stderr[-2000:])
            st = big.check_settled()
            check(ours(st["key"]) == [key], "only the key in service is left", list(st["key"]))
            check(set(ours(st["cert"])) == certs, "only the certificates in service are left",
                  list(st["cert"]))
            check(not [c for c in ours(st.get("csr", {})) if c != key[:-4]],
                  "no CSR of the old key is left", st.get("csr"))
            check(not any(st["uploads"]), "no upload is left", st["uploads"])
            check(serial_of(served_cert(big.port("vs1"))) == lab.status()["web"]["serial"],
                  "vs1 serves the new certificate")

            # done: a further run asks nothing to be removed
            p = lab.run("run")
            check(p.returncode == 0 and "old objects left" not in p.stderr,
                  "no retirement is pending any more", p.stderr[-2000:])


if __name__ == "__main__":
    main(scenario)
