"""BIG-IP + ACME (EAB): a run killed with SIGKILL after it finalized its
order, before the certificate was journaled. The companion of
test_bigip_acme_resume.py (killed before finalize: the same order is
finished with a fresh key).

Here the order is bound, by its finalize, to the CSR of a key whose
passphrase died with the run (SPEC §1.10): its certificate can never be
served. The next run discards that key, tries the journaled order with a
fresh key, finds the order's certificate does not match the new CSR,
revokes that certificate (it can never be served) and starts over with a
new order (src/engine/lifecycle.c: rekey, then the
rekeyed branch of step_collect). What must hold: the run succeeds in one
go, the killed run's key is removed, exactly one key, CSR and leaf
certificate of the profile remain on the device, the served certificate is
the one of the second order, and nothing was written to the standby.

The window: the test reads the run's log as it is written and SIGKILLs on
the "order finalized" line; it then checks in the journal that the
certificate was not yet recorded (step still "ordered"), and repeats with a
fresh lab if the run was faster."""
import os
import re
import signal
import sqlite3
import time

from harness import BigipSim, Lab, check, main, serial_of, served_cert, stopping
from pebble import Pebble

EAB = ("kid-fin", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
STEP_ORDERED = 2


def killed_run(w):
    big = BigipSim(w, virtuals=("vs1",), pair=True)
    peb = Pebble(w, eab={EAB[0]: EAB[1]}, nonce_reject=0)
    try:
        peb.start()
        lab = Lab(w)
        lab.work = os.path.dirname(w)  # one lbcert.log for all attempts: main() prints it
        lab.add_bigip("bigip1", big)
        lab.add_acme("acme", peb, eab=EAB)
        lab.write_config()
        lab.profile("www", device="bigip1", ca="acme", common_name="www.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1", "check": f"127.0.0.1:{big.port('vs1')}"}])
        proc = lab.start("run", level="info")
        err = []
        deadline = time.time() + 30
        while time.time() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            err.append(line)
            if "order finalized" in line:
                proc.send_signal(signal.SIGKILL)
                break
        proc.kill()
        rest = proc.communicate(timeout=10)[1]
        err = "".join(err) + rest
        with open(os.path.join(lab.work, "lbcert.log"), "a") as f:
            f.write("$ lbcert run (killed)\n" + err + "\n")
        row = lab.job_row("www")
        if row is None or row[0] != STEP_ORDERED or "order finalized" not in err:
            print("# missed the window (journal %s); trying again" % (row,), flush=True)
            big.stop()
            peb.stop()
            return None
        return big, peb, lab, row, err
    except BaseException:
        big.stop()
        peb.stop()
        raise


def scenario(w):
    got = None
    for attempt in range(4):
        got = killed_run(os.path.join(w, f"try{attempt}"))
        if got is not None:
            break
    check(got is not None, "a run was killed after finalize, before its certificate was journaled")
    big, peb, lab, row, _ = got
    with stopping(big, peb):
        _, dead_key, order = row
        state = big.ctl("/_sim/state")
        check(dead_key in state["key"], "the killed run's key is on the device")
        dead_sum = state["key"][dead_key]["checksum"]

        p = lab.run("run", level="debug")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "1 enrolled, 0 renewed, 0 unchanged, 0 failed"),
            "the next run enrolls in one go", p.stdout, p.stderr[-4000:])
        check("resuming at step ordered" in p.stderr, "it resumed from the journal")
        check(f"order {order} was finalized by the run that died" in p.stderr,
              "it found the journaled order finalized for the dead key", p.stderr[-3000:])
        check(len(re.findall(r"POST \S+/order-plz", p.stderr)) == 1,
              "and placed exactly one new order")
        m = re.search(r"revoked serial ([0-9a-f]+), issued for the discarded key", p.stderr)
        check(m is not None, "it revoked the certificate issued for the dead key", p.stderr[-3000:])
        check(peb.cert_status(m.group(1))["Status"] == "Revoked",
              "Pebble lists that certificate as revoked")
        check(peb.log_text().count("POST /order-plz") == 2, "Pebble saw two orders in all")

        state = big.ctl("/_sim/state")
        ours = lambda coll: sorted(k for k in state[coll] if not k.startswith("/Common/default"))
        check(all(k["checksum"] != dead_sum for k in state["key"].values()),
              "the dead key was removed from the device")
        check(len(ours("key")) == 1, "exactly one key of ours remains (no orphan)", ours("key"))
        new_key = ours("key")[0]
        check(ours("csr") == [new_key[:-4]], "one CSR remains, the new key's", ours("csr"))
        leaves = [c for c in ours("cert") if not c.endswith("_chain.crt")]
        check(leaves == [new_key[:-4] + ".crt"], "exactly one leaf certificate is installed",
              ours("cert"))
        serial = lab.status()["www"]["serial"]
        der = served_cert(big.port("vs1"), "www.example.com")
        check(der is not None and serial_of(der) == serial, "vs1 serves it")
        db = sqlite3.connect(os.path.join(lab.state, "lbcert.db"))
        try:
            ca_ref = db.execute("SELECT ca_ref FROM certs WHERE profile='www'").fetchone()[0]
        finally:
            db.close()
        check(ca_ref != order, "it came from the new order")
        check(state["standby_writes"] == [], "the standby got no write")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
