"""BIG-IP + ACME (EAB): a run killed with SIGKILL after its order exists
is finished by the next run — the same order, no second newOrder.

What "resumes and finishes that same order" can mean on BIG-IP (SPEC
§1.10): the killed run's key is password protected with a passphrase that
lived only in that process, so the key can never be put in a client-ssl
profile; the next run has to discard it. An ACME order, though, carries only
the identifiers until it is finalized; the CSR (and with it the key) is
bound to the order only by the finalize request. So when the run died
between newOrder and finalize — the window this test creates — the next run
discards the dead key (and its CSR) from the device, makes a fresh key and
CSR, and finalizes the journaled order with it (src/engine/lifecycle.c,
rekey). Had the dead run already finalized, that order's certificate is
bound to the dead key and useless; the engine then orders again (not
exercised here: the window is before finalize).

The window: Pebble's VA sleeps 0–4 s (three concurrent validations, the
authorization turns valid after the longest), so the run sits in its
authorization poll after the order is journaled. The test polls the
journal (state/lbcert.db, table jobs) until step = ordered, then SIGKILLs.
If the run got past finalize anyway (all three sleeps 0), the attempt is
repeated with a fresh lab.

What must hold: the resumed run creates no order (no POST to newOrder in
its log; Pebble saw one newOrder in all), finalizes the journaled order,
removes the dead key and its CSR from the device, ends with exactly one
certificate installed and in service, and leaves no orphan key, CSR or
certificate object behind."""
import os
import re
import signal
import sqlite3
import time

from harness import BigipSim, Lab, check, main, serial_of, served_cert, stopping
from pebble import Pebble

EAB = ("kid-resume", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
STEP_ORDERED = 2


def killed_run(w):
    """Starts Pebble (slow VA), the simulator and a run, kills the run once
    its order is journaled. Returns (big, peb, lab, journal row, stderr) or
    None when the run got past finalize before the kill."""
    big = BigipSim(w, virtuals=("vs1",), pair=True)
    # nonce_reject=0: a badNonce retry would show as a second POST to
    # newOrder/finalize in Pebble's log, and those are counted below
    peb = Pebble(w, eab={EAB[0]: EAB[1]}, nonce_reject=0,
                 env={"PEBBLE_VA_NOSLEEP": "0", "PEBBLE_VA_SLEEPTIME": "5"})
    try:
        peb.start()
        lab = Lab(w)
        lab.work = os.path.dirname(w)  # one lbcert.log for all attempts: main() prints it
        lab.add_bigip("bigip1", big)
        lab.add_acme("acme", peb, eab=EAB)
        lab.write_config()
        lab.profile("www", device="bigip1", ca="acme", common_name="www.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    key={"type": "ecdsa", "curve": "P-384"},
                    vservers=[{"name": "vs1", "check": f"127.0.0.1:{big.port('vs1')}"}])
        proc = lab.start("run")
        row = None
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            row = lab.job_row("www")
            if row is not None and row[0] >= STEP_ORDERED:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=10)
        with open(os.path.join(lab.work, "lbcert.log"), "a") as f:
            f.write("$ lbcert run (killed)\n" + err + "\n")
        # the write-ahead log a killed run leaves is as closed as the database
        for comp in ("lbcert.db-wal", "lbcert.db-shm"):
            path = os.path.join(lab.state, comp)
            check(not os.path.exists(path) or os.stat(path).st_mode & 0o777 == 0o600,
                  f"{comp} left by the killed run is 0600", oct(os.stat(path).st_mode))
        row = lab.job_row("www")
        if row is None or row[0] != STEP_ORDERED or "order finalized" in err:
            print("# the run got past the window (step %s); trying again" % (row,), flush=True)
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
    for attempt in range(3):
        got = killed_run(os.path.join(w, f"try{attempt}"))
        if got is not None:
            break
    check(got is not None, "a run was killed between order and finalize")
    big, peb, lab, row, err1 = got
    with stopping(big, peb):
        _, dead_key, order = row
        check(re.search(r"/my-order/\S+$", order or "") is not None,
              "the killed run journaled its order URL", row)
        check("order " + order in err1, "and logged it before it died")
        state = big.ctl("/_sim/state")
        check(dead_key in state["key"], "the killed run's key is on the device", dead_key)
        # the new key may get the same name (same second): tell them apart by content
        dead_sum = state["key"][dead_key]["checksum"]
        check(served_cert(big.port("vs1")) is None, "nothing is served yet")

        p = lab.run("run", level="debug")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "1 enrolled, 0 renewed, 0 unchanged, 0 failed"), "the next run finishes the enrollment",
            p.stdout, p.stderr[-4000:])
        check("resuming at step ordered" in p.stderr, "it resumed from the journal")
        check(re.search(r"POST \S+/order-plz", p.stderr) is None,
              "the resumed run sent no newOrder")
        order_id = order.rsplit("/", 1)[1]
        check(re.search(r"POST \S+/finalize-order/%s " % re.escape(order_id), p.stderr),
              "the resumed run finalized the journaled order", order)
        peb_log = peb.log_text()
        check(peb_log.count("POST /order-plz") == 1, "Pebble saw exactly one newOrder in all",
              peb_log.count("POST /order-plz"))
        check(peb_log.count("POST /finalize-order/") == 1, "and exactly one finalize")

        state = big.ctl("/_sim/state")
        ours = lambda coll: sorted(k for k in state[coll] if not k.startswith("/Common/default"))
        check(all(k["checksum"] != dead_sum for k in state["key"].values()),
              "the dead key was removed from the device", ours("key"))
        check(len(ours("key")) == 1, "exactly one key of ours remains", ours("key"))
        new_key = ours("key")[0]
        check(ours("csr") == [new_key[:-4]] and state["csr"][new_key[:-4]]["key"] == new_key,
              "one CSR object remains: the new key's (it goes with its key at renewal)",
              ours("csr"))
        leaves = [c for c in ours("cert") if not c.endswith("_chain.crt")]
        check(len(leaves) == 1 and leaves[0] == new_key[:-4] + ".crt",
              "exactly one certificate is installed, for the new key", ours("cert"))
        ckc = state["clientssl"]["/Common/www_clientssl"]["certKeyChain"]
        check([e["key"] for e in ckc] == [new_key], "the profile serves the new key", ckc)
        serial = lab.status()["www"]["serial"]
        der = served_cert(big.port("vs1"), "www.example.com")
        check(der is not None and serial_of(der) == serial, "vs1 serves the certificate")
        check(peb.cert_status(serial)["Status"] == "Valid", "Pebble knows it as valid")
        db = sqlite3.connect(os.path.join(lab.state, "lbcert.db"))
        try:
            ca_ref = db.execute("SELECT ca_ref FROM certs WHERE profile='www'").fetchone()[0]
            discards = db.execute("SELECT detail FROM history WHERE profile='www' AND "
                                  "action='key_discard'").fetchall()
            jobs = db.execute("SELECT count(*) FROM jobs").fetchone()[0]
        finally:
            db.close()
        check(ca_ref == order, "the stored certificate came from the journaled order", ca_ref)
        check(discards == [(dead_key,)], "the history records the discarded key", discards)
        check(jobs == 0, "the journal is closed")
        check(big.ctl("/_sim/state")["standby_writes"] == [], "the standby got no write")

        p = lab.run("run")
        check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 1 unchanged, 0 failed"),
              "and the run after that has nothing to do", p.stdout)
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
