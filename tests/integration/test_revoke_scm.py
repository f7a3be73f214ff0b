"""lbcert revoke with Sectigo SCM on a Citrix ADC.

- revoke --remove of a certificate that is the only one of its vserver is
  refused: exit 1, nothing changes on the ADC and no revoke reaches SCM.
- revoke --remove of an SNI certificate next to another one: unbound and
  deleted from the ADC (files too), revoked at SCM, the other certificate
  still served; status shows "revoked".
- revoke --reason keyCompromise without --remove: SCM shows it revoked
  with reason code 1; the certificate stays on the ADC.
- an unknown reason is a usage error (exit 2)."""
from harness import (check_citrix_settled, CitrixSim, Lab, ScmSim, check, main, serial_of,
                     served_cert, stopping)

SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_solo", "vs_shared"))
    scm = ScmSim(w)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.defaults = {"renew_before_days": 30}
        lab.write_config()
        lab.profile("solo", device="adc1", ca="scm", common_name="solo.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_solo"}])
        lab.profile("base", device="adc1", ca="scm", common_name="base.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_shared"}])
        lab.profile("extra", device="adc1", ca="scm", common_name="extra.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_shared", "sni": True}])
        p = lab.run("run")
        check(p.returncode == 0 and p.stdout.strip().endswith("3 enrolled, 0 renewed, "
              "0 unchanged, 0 failed"), "three profiles enrolled", p.stdout, p.stderr[-3000:])
        st = lab.status()

        p = lab.run("revoke", "solo", "--reason", "noSuchReason")
        check(p.returncode == 2, "an unknown reason is a usage error", p.returncode, p.stderr)

        before = adc.ctl("/_sim/state")
        adc.clear_requests()
        scm.clear_requests()
        p = lab.run("revoke", "solo", "--remove")
        check(p.returncode == 1, "revoke --remove of a vserver's only certificate is refused",
              p.returncode, p.stdout, p.stderr[-2000:])
        check("vs_solo" in p.stderr and "no certificate besides" in p.stderr,
              "the refusal names the vserver", p.stderr[-1500:])
        after = adc.ctl("/_sim/state")
        check(after["certkeys"] == before["certkeys"] and after["bindings"] == before["bindings"]
              and after["files"] == before["files"], "nothing changed on the ADC")
        check([r for r in adc.requests() if r.get("write") and
               not r["path"].split("?")[0].endswith(("/login", "/logout"))] == [],
              "no write request reached the ADC")
        check(scm.ctl("/_sim/state")["revoked"] == [] and scm.requests() == [],
              "no revoke (no request at all) reached SCM")
        check(serial_of(served_cert(adc.port("vs_solo"))) == st["solo"]["serial"],
              "vs_solo still serves its certificate")

        p = lab.run("revoke", "extra", "--remove", "--reason", "cessationOfOperation")
        check(p.returncode == 0, "revoke --remove of the SNI certificate works", p.stdout,
              p.stderr[-2000:])
        check("profiles/extra.yaml" in p.stdout, "it says to delete the profile file",
              p.stdout)
        state = adc.ctl("/_sim/state")
        check("extra" not in state["certkeys"], "certkey extra is gone from the ADC",
              list(state["certkeys"]))
        check(not [b for b in state["bindings"] if b.get("certkeyname") == "extra" or
                   b.get("certkey") == "extra"], "no binding of extra is left")
        check(not [f for f in state["files"] if "/extra" in f], "its files are gone",
              [f for f in state["files"] if "extra" in f])
        rev = scm.ctl("/_sim/state")["revoked"]
        check(len(rev) == 1 and rev[0]["serial"].lower().lstrip("0") == st["extra"]["serial"]
              and rev[0]["reasonCode"] == 5, "SCM shows extra revoked (cessationOfOperation)",
              rev)
        check(serial_of(served_cert(adc.port("vs_shared"), "extra.example.com")) ==
              st["base"]["serial"], "vs_shared now serves base to everyone")
        s = lab.status()["extra"]
        check(s["last_result"] == "revoked" and s["serial"] is None,
              "status: extra revoked, no current certificate", s)

        p = lab.run("revoke", "solo", "--reason", "keyCompromise")
        check(p.returncode == 0, "revoke solo (no --remove)", p.stdout, p.stderr[-2000:])
        check(f"revoked serial {st['solo']['serial']}" in p.stdout, "it prints the serial",
              p.stdout)
        rev = scm.ctl("/_sim/state")["revoked"]
        check(len(rev) == 2 and rev[1]["reasonCode"] == 1 and
              rev[1]["serial"].lower().lstrip("0") == st["solo"]["serial"],
              "SCM shows solo revoked for keyCompromise", rev)
        check("solo" in adc.ctl("/_sim/state")["certkeys"], "solo stays on the ADC")
        check(lab.status()["solo"]["last_result"] == "revoked", "status: solo revoked")

        # A revoked certificate left in service is replaced at the next run.
        p = lab.run("plan", "solo")
        check(p.returncode == 0 and f"serial {st['solo']['serial']} was revoked" in p.stdout
              and "change" in p.stdout, "plan: solo is due because it was revoked", p.stdout)
        p = lab.run("run", "solo")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "0 enrolled, 1 renewed, 0 unchanged, 0 failed"), "the next run renews solo",
            p.stdout, p.stderr[-2000:])
        new = lab.status()["solo"]
        check(new["serial"] != st["solo"]["serial"] and
              serial_of(served_cert(adc.port("vs_solo"))) == new["serial"],
              "vs_solo serves the replacement")
        p = lab.run("run", "solo")
        check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 1 unchanged, 0 failed"),
              "and the run after that changes nothing", p.stdout)
        # A removed profile that is still configured is enrolled again by
        # the next run: revoke --remove says so.
        p = lab.run("plan", "extra")
        check("change" in p.stdout and "no certificate extra" in p.stdout,
              "plan: extra (removed, still configured) would be enrolled again", p.stdout)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
