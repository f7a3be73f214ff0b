"""Rollback, on both appliances with both CA kinds (SCM, and ACME on Pebble):

- a renewal whose check address serves another certificate (the address of
  another vserver) puts the previous certificate back in service, saved,
  exit 1, the failure recorded; the new certificate stays installed and the
  next run, with the check fixed, puts it in service;
- a renewal whose activation the device refuses half-way does the same;
- the replaced certificate's objects stay keep_previous_hours (24 here), so
  `lbcert rollback` returns to it (and, run again, forward to the newer one),
  but never to a revoked one;
- once the keep time has passed (LBCERT_NOW moves the clock of that
  judgement) a run retires them, and `lbcert rollback` says they are gone.

No vserver is ever left without a certificate (the simulators' gaps)."""
import os
import sqlite3
import time

from harness import (BigipSim, CitrixSim, Lab, ScmSim, check, check_citrix_settled, main,
                     serial_of, served_cert)
from pebble import Pebble

EAB = ("kid-rollback", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}


def served(dev, vs, cn):
    der = served_cert(dev.port(vs), cn)
    return serial_of(der) if der else None


def settled(kind, dev):
    if kind == "citrix":
        check_citrix_settled(dev)
    else:
        dev.check_settled()


def history(lab, action):
    db = sqlite3.connect(os.path.join(lab.state, "lbcert.db"))
    try:
        return [r[0] for r in db.execute(
            "SELECT detail FROM history WHERE profile = 'web' AND action = ? ORDER BY id",
            (action,))]
    finally:
        db.close()


def objects(kind, dev, serial_or_key):
    """Whether the device still holds objects of that certificate."""
    st = dev.ctl("/_sim/state")
    if kind == "citrix":
        return any(serial_or_key in f for f in st.get("files", []))
    return serial_or_key in st["key"]


def key_in_service(big):
    st = big.ctl("/_sim/state")
    return st["clientssl"]["/Common/web_clientssl"]["certKeyChain"][0]["key"]


def profile(lab, dev, check_vs):
    lab.profile("web", device="dev", ca="ca", common_name="web.example.com", subject=SUBJECT,
                vservers=[{"name": "vs1", "check": f"127.0.0.1:{dev.port(check_vs)}"}])


def inject_activation_fault(kind, dev):
    if kind == "citrix":
        dev.ctl("/_sim/fault", {"fail_next": {"path_contains": "action=update", "status": 400,
                                              "errorcode": 1, "count": 1}})
    else:
        dev.ctl("/_sim/fault", {"method": "PATCH", "path": "/mgmt/tm/ltm/profile/client-ssl/",
                                "status": 400, "message": "injected activation refusal",
                                "count": 1})


def flow(w, kind, ca_kind):
    d = os.path.join(w, f"{kind}-{ca_kind}")
    os.makedirs(d)
    if kind == "citrix":
        dev = CitrixSim(d, vservers=("vs1", "vs2"), ha=False)
    else:
        dev = BigipSim(d, virtuals=("vs1", "vs2"), pair=False)
    ca = ScmSim(d) if ca_kind == "scm" else Pebble(d, eab={EAB[0]: EAB[1]})
    try:
        if ca_kind == "acme":
            ca.start()
        lab = Lab(d)
        (lab.add_citrix if kind == "citrix" else lab.add_bigip)("dev", dev)
        if ca_kind == "scm":
            lab.add_scm("ca", ca)
        else:
            lab.add_acme("ca", ca, eab=EAB)
        lab.main["keep_previous_hours"] = 24
        lab.write_config()
        profile(lab, dev, "vs1")
        lab.profile("other", device="dev", ca="ca", common_name="other.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs2"}])
        p = lab.run("run")
        check(p.returncode == 0, f"{kind}: enrolled", p.stdout, p.stderr[-2000:])
        s1 = lab.status()["web"]["serial"]
        check(served(dev, "vs1", "web.example.com") == s1, f"{kind}: vs1 serves {s1}")
        k1 = key_in_service(dev) if kind == "bigip" else s1

        # the check address is vs2's, which serves "other"
        profile(lab, dev, "vs2")
        p = lab.run("run", "--force", "web")
        check(p.returncode == 1, f"{kind}: a renewal whose check fails exits 1", p.stdout,
              p.stderr[-3000:])
        check("rolled back" in p.stdout + p.stderr, f"{kind}: the rollback is reported",
              p.stdout, p.stderr[-2000:])
        check(served(dev, "vs1", "web.example.com") == s1,
              f"{kind}: vs1 serves the previous certificate again")
        st = lab.status()["web"]
        check(st["serial"] == s1 and st["last_result"] == "failed",
              f"{kind}: status keeps the previous certificate, the failure recorded", st)
        check(len(history(lab, "rollback")) == 1, f"{kind}: the history has the rollback")
        restores = history(lab, "restore")
        check(restores and not any("passphrase" in (d or "") or "$M$" in (d or "")
                                   for d in restores),
              f"{kind}: the history names what was restored, without any passphrase", restores)
        settled(kind, dev)

        # fixed: the next run puts a new certificate in service
        profile(lab, dev, "vs1")
        p = lab.run("run", "web")
        check(p.returncode == 0 and "1 renewed" in p.stdout, f"{kind}: the next run renews",
              p.stdout, p.stderr[-3000:])
        s2 = lab.status()["web"]["serial"]
        check(s2 != s1 and served(dev, "vs1", "web.example.com") == s2,
              f"{kind}: vs1 serves the new certificate {s2}")
        k2 = key_in_service(dev) if kind == "bigip" else s2
        check(objects(kind, dev, k1), f"{kind}: the previous certificate's objects stay")

        # activation refused half-way
        inject_activation_fault(kind, dev)
        p = lab.run("run", "--force", "web")
        check(p.returncode == 1 and "rolled back" in p.stdout + p.stderr,
              f"{kind}: a refused activation rolls back, exit 1", p.stdout, p.stderr[-3000:])
        check(served(dev, "vs1", "web.example.com") == s2,
              f"{kind}: vs1 serves {s2} again after the refused activation")
        check(lab.status()["web"]["serial"] == s2, f"{kind}: status still says {s2}")
        settled(kind, dev)
        p = lab.run("run", "web")
        check(p.returncode == 0 and "1 renewed" in p.stdout,
              f"{kind}: the next run finishes the renewal", p.stdout, p.stderr[-3000:])
        s3 = lab.status()["web"]["serial"]
        check(s3 not in (s1, s2) and served(dev, "vs1", "web.example.com") == s3,
              f"{kind}: vs1 serves {s3}")
        settled(kind, dev)

        # by hand, back to s2 and forward again
        p = lab.run("rollback", "web")
        check(p.returncode == 0 and s2 in p.stdout, f"{kind}: lbcert rollback back to {s2}",
              p.stdout, p.stderr[-3000:])
        check(served(dev, "vs1", "web.example.com") == s2, f"{kind}: vs1 serves {s2}")
        check(lab.status()["web"]["serial"] == s2, f"{kind}: status says {s2}")
        settled(kind, dev)
        p = lab.run("run", "web")
        check(p.returncode == 0 and "1 unchanged" in p.stdout,
              f"{kind}: the restored certificate is not due", p.stdout, p.stderr[-2000:])
        p = lab.run("rollback", "web")
        check(p.returncode == 0 and served(dev, "vs1", "web.example.com") == s3,
              f"{kind}: rollback again returns to {s3}", p.stdout, p.stderr[-3000:])
        settled(kind, dev)

        # a revoked certificate is not put back
        p = lab.run("rollback", "web")
        check(p.returncode == 0 and served(dev, "vs1", "web.example.com") == s2,
              f"{kind}: back to {s2}", p.stdout, p.stderr[-3000:])
        p = lab.run("revoke", "web")
        check(p.returncode == 0, f"{kind}: {s2} revoked", p.stdout, p.stderr[-2000:])
        p = lab.run("rollback", "web")
        check(p.returncode == 0 and served(dev, "vs1", "web.example.com") == s3,
              f"{kind}: forward to {s3}", p.stdout, p.stderr[-3000:])
        p = lab.run("rollback", "web")
        check(p.returncode == 1 and "revoked" in p.stderr and
              served(dev, "vs1", "web.example.com") == s3,
              f"{kind}: no rollback to the revoked {s2}", p.stdout, p.stderr[-2000:])
        settled(kind, dev)

        # past the keep time: retired by the next run; no way back then
        later = str(int(time.time()) + 25 * 3600)
        p = lab.run("run", "web", env={"LBCERT_NOW": later})
        check(p.returncode == 0 and "1 unchanged" in p.stdout, f"{kind}: nothing is due",
              p.stdout, p.stderr[-2000:])
        check(not objects(kind, dev, k2) and not objects(kind, dev, k1),
              f"{kind}: the replaced certificates' objects are retired after the keep time",
              dev.ctl("/_sim/state").get("files") if kind == "citrix"
              else list(dev.ctl("/_sim/state")["key"]))
        check(served(dev, "vs1", "web.example.com") == s3, f"{kind}: vs1 still serves {s3}")
        settled(kind, dev)
        p = lab.run("rollback", "web")
        check(p.returncode == 1 and "gone" in p.stderr, f"{kind}: rollback says the objects "
              "are gone", p.stdout, p.stderr[-2000:])
        check(served(dev, "vs1", "web.example.com") == s3, f"{kind}: vs1 still serves {s3}")
        gaps = dev.ctl("/_sim/state").get("gaps")
        check(not gaps, f"{kind}: no vserver was ever without a certificate", gaps)
    finally:
        dev.stop()
        ca.stop()


def scenario(w):
    for kind, ca_kind in (("citrix", "scm"), ("bigip", "scm"), ("citrix", "acme"),
                          ("bigip", "acme")):
        flow(w, kind, ca_kind)


if __name__ == "__main__":
    main(scenario)
