"""lbcert revoke when the state database refuses the history entry.

The next run replaces a revoked certificate that is still in service only
because the history says it was revoked. When that entry cannot be
written (here: a trigger in the state database refuses it), revoke must
not report success: exit 1 and a message that says the certificate is
revoked at the CA but not recorded. Running revoke again records it (the
CA answers alreadyRevoked), and the next plan replaces the certificate."""
import os
import sqlite3

from harness import BigipSim, Lab, check, main, stopping
from pebble import Pebble

EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")


def db(lab, sql):
    con = sqlite3.connect(os.path.join(lab.state, "lbcert.db"))
    try:
        con.executescript(sql)
        con.commit()
    finally:
        con.close()


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",))
    with stopping(big):
        with Pebble(w, eab={EAB[0]: EAB[1]}) as pebble:
            lab = Lab(w)
            lab.add_bigip("big1", big)
            lab.add_acme("pebble", pebble, eab=EAB)
            lab.write_config()
            lab.profile("www", device="big1", ca="pebble", common_name="www.lbcert.test",
                        vservers=[{"name": "vs1"}])
            p = lab.run("run")
            check(p.returncode == 0 and "1 enrolled" in p.stdout, "www enrolled", p.stdout,
                  p.stderr[-3000:])
            serial = lab.status()["www"]["serial"]

            db(lab, "CREATE TRIGGER no_revoke BEFORE INSERT ON history "
                    "WHEN NEW.action = 'revoke' BEGIN "
                    "SELECT RAISE(ABORT, 'test refuses the revoke entry'); END;")
            p = lab.run("revoke", "www", "--reason", "keyCompromise")
            check(p.returncode == 1, "revoke whose history entry fails exits 1", p.returncode,
                  p.stdout, p.stderr[-2000:])
            check("recording that failed" in p.stderr and
                  "test refuses the revoke entry" in p.stderr,
                  "the message says it is revoked but not recorded, and why", p.stderr[-2000:])
            check(lab.status()["www"]["last_result"] != "revoked",
                  "the last result does not claim a recorded revocation")

            db(lab, "DROP TRIGGER no_revoke;")
            p = lab.run("revoke", "www", "--reason", "keyCompromise")
            check(p.returncode == 0, "revoke again: the CA says already revoked, now recorded",
                  p.returncode, p.stdout, p.stderr[-2000:])
            p = lab.run("plan", "www")
            check(p.returncode == 0 and "serial %s was revoked" % serial in p.stdout,
                  "plan: www is due because it was revoked", p.stdout, p.stderr[-2000:])
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
