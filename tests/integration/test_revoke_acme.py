"""lbcert revoke with an ACME CA (Pebble, EAB) on a BIG-IP.

- revoke --remove of the only client-ssl profile of a virtual is refused:
  exit 1, nothing changes on the BIG-IP, Pebble still has it valid.
- revoke --remove of a profile on a virtual that also has another
  client-ssl profile: detached and deleted (profile, cert, key), revoked at
  Pebble (management API: Revoked, reason superseded = 4); the virtual
  serves the other profile.
- revoke --reason keyCompromise without --remove: Pebble shows it revoked;
  the next run replaces it."""
from harness import BigipSim, Lab, check, main, serial_of, served_cert, writes, stopping
from pebble import Pebble

EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")


def scenario(w):
    big = BigipSim(w, virtuals=("vs_solo", "vs_shared"))
    with stopping(big):
        # vs_shared already serves the device's built-in clientssl profile.
        rc, body = big.api("POST", "/mgmt/tm/ltm/virtual/~Common~vs_shared/profiles",
                           {"name": "/Common/clientssl", "context": "clientside"})
        check(rc == 200, "vs_shared gets /Common/clientssl through the API", body)
        with Pebble(w, eab={EAB[0]: EAB[1]}) as pebble:
            lab = Lab(w)
            lab.add_bigip("big1", big)
            lab.add_acme("pebble", pebble, eab=EAB)
            lab.write_config()
            lab.profile("solo", device="big1", ca="pebble", common_name="solo.lbcert.test",
                        vservers=[{"name": "vs_solo"}])
            lab.profile("extra", device="big1", ca="pebble", common_name="extra.lbcert.test",
                        vservers=[{"name": "vs_shared", "sni": True}],
                        client_ssl={"server_name": "extra.lbcert.test", "sni_default": True})
            p = lab.run("run")
            check(p.returncode == 0 and p.stdout.strip().endswith(
                "2 enrolled, 0 renewed, 0 unchanged, 0 failed"), "two profiles enrolled",
                p.stdout, p.stderr[-3000:])
            st = lab.status()
            check(serial_of(served_cert(big.port("vs_shared"), "extra.lbcert.test")) ==
                  st["extra"]["serial"], "vs_shared serves extra to SNI extra.lbcert.test")

            before = big.ctl("/_sim/state")
            big.clear_requests()
            p = lab.run("revoke", "solo", "--remove")
            check(p.returncode == 1, "revoke --remove of vs_solo's only profile is refused",
                  p.returncode, p.stdout, p.stderr[-2000:])
            check("vs_solo" in p.stderr and "without a certificate" in p.stderr,
                  "the refusal names the virtual", p.stderr[-1500:])
            after = big.ctl("/_sim/state")
            check(all(after[k] == before[k] for k in ("virtual", "clientssl", "cert", "key")),
                  "nothing changed on the BIG-IP")
            sent = writes(big.requests())
            check(sent == [], "no write request reached the BIG-IP", sent)
            check(pebble.cert_status(st["solo"]["serial"])["Status"] == "Valid",
                  "Pebble still has solo valid (no revoke sent)")

            p = lab.run("revoke", "extra", "--remove", "--reason", "superseded")
            check(p.returncode == 0, "revoke --remove extra works", p.stdout, p.stderr[-2000:])
            cs = pebble.cert_status(st["extra"]["serial"])
            check(cs["Status"] == "Revoked" and cs.get("Reason") == 4,
                  "Pebble shows extra revoked (superseded)", cs)
            state = big.ctl("/_sim/state")
            check("/Common/extra_clientssl" not in state["clientssl"],
                  "client-ssl profile extra_clientssl is gone", list(state["clientssl"]))
            profs = [p["fullPath"] for p in state["virtual"]["/Common/vs_shared"]["profiles"]]
            check("/Common/extra_clientssl" not in profs and "/Common/clientssl" in profs,
                  "vs_shared keeps only its own client-ssl profile", profs)
            check(not [c for c in state["cert"] if "extra" in c] and
                  not [k for k in state["key"] if "extra" in k],
                  "extra's cert and key are gone", list(state["cert"]), list(state["key"]))
            check(served_cert(big.port("vs_shared"), "extra.lbcert.test") is not None,
                  "vs_shared still serves a certificate")

            p = lab.run("revoke", "solo", "--reason", "keyCompromise")
            check(p.returncode == 0, "revoke solo without --remove", p.stdout, p.stderr[-2000:])
            cs = pebble.cert_status(st["solo"]["serial"])
            check(cs["Status"] == "Revoked" and cs.get("Reason") == 1,
                  "Pebble shows solo revoked (keyCompromise)", cs)
            p = lab.run("run", "solo")
            check(p.returncode == 0 and p.stdout.strip().endswith(
                "0 enrolled, 1 renewed, 0 unchanged, 0 failed") and "was revoked" in p.stdout,
                "the next run replaces the revoked certificate", p.stdout, p.stderr[-2000:])
            new = lab.status()["solo"]["serial"]
            check(serial_of(served_cert(big.port("vs_solo"), "solo.lbcert.test")) == new and
                  new != st["solo"]["serial"], "vs_solo serves the replacement")
            check(pebble.cert_status(new)["Status"] == "Valid", "the replacement is valid")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
