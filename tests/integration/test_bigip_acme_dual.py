"""F5 BIG-IP (active/standby) + ACME (Pebble, EAB), a profile with an ECDSA
and an RSA key: one client-ssl profile whose certKeyChain holds both
entries; a client offering only one key type's signature algorithms (or
TLS 1.2 cipher suites) is served that type's certificate.

A run killed while the second key waits for its authorizations (Pebble's VA
sleeps) leaves the first key served; the next run leaves it alone and
finishes the second key's journaled order: one newOrder per key in all.
Renewing one key swaps only its entry in one transaction: the other entry
stays, and the profile never serves without it."""
import json
import os
import re
import signal
import time

from harness import (BigipSim, Lab, check, key_type_of, main, serial_of, served_for,
                     stopping)
from pebble import Pebble

EAB = ("kid-dual", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}
STEP_ORDERED = 2
PROF = "/Common/www_clientssl"


def served(big, vs, key, sni=None, tls12=False):
    der = served_for(big.port(vs), key, sni=sni, tls12=tls12)
    return (serial_of(der), key_type_of(der)) if der is not None else None


def killed_run(w):
    """A lab whose first run was killed once the second key's order was
    journaled; None when that run got past finalize before the kill."""
    big = BigipSim(w, virtuals=("vs1",), pair=True)
    peb = Pebble(w, eab={EAB[0]: EAB[1]}, nonce_reject=0,
                 env={"PEBBLE_VA_NOSLEEP": "0", "PEBBLE_VA_SLEEPTIME": "5"})
    try:
        peb.start()
        lab = Lab(w)
        lab.work = os.path.dirname(w)
        lab.add_bigip("bigip1", big)
        lab.add_acme("acme", peb, eab=EAB)
        lab.write_config()
        lab.profile("www", device="bigip1", ca="acme", common_name="www.example.com",
                    subject=SUBJECT, keys=[{"type": "ecdsa", "curve": "P-256"},
                                           {"type": "rsa", "size": 2048}],
                    vservers=[{"name": "vs1"}])
        proc = lab.start("run")
        row = None
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            row = lab.job_row("www.rsa")
            if row is not None and row[0] >= STEP_ORDERED:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=10)
        with open(os.path.join(lab.work, "lbcert.log"), "a") as f:
            f.write("$ lbcert run (killed)\n" + err + "\n")
        row = lab.job_row("www.rsa")
        # the first key's finalize only: a finalize sent for the second
        # binds its order to the dead key (its answer may not be logged)
        if row is None or row[0] != STEP_ORDERED or \
                peb.log_text().count("POST /finalize-order/") != 1:
            print("# the run got past the window (step %s); trying again" % (row,), flush=True)
            big.stop()
            peb.stop()
            return None
        return big, peb, lab
    except BaseException:
        big.stop()
        peb.stop()
        raise


def scenario(w):
    got = None
    for attempt in range(5):
        got = killed_run(os.path.join(w, f"try{attempt}"))
        if got is not None:
            break
    check(got is not None, "a run was killed while the second key's order was open")
    big, peb, lab = got
    with stopping(big, peb):
        first = served(big, "vs1", "ecdsa")
        check(first is not None and first[1] == "ecdsa", "the ECDSA certificate is in service",
              first)
        check(served(big, "vs1", "rsa") is None, "an RSA-only client gets nothing yet")

        p = lab.run("run")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "1 enrolled, 0 renewed, 1 unchanged, 0 failed"),
            "the next run finishes the RSA key and leaves the ECDSA one", p.stdout,
            p.stderr[-4000:])
        check("resuming at step ordered" in p.stderr, "it resumed from the journal")
        check(re.search(r"POST \S+/order-plz", p.stderr) is None, "it sent no newOrder")
        check(peb.log_text().count("POST /order-plz") == 2, "Pebble saw one newOrder per key")

        st = lab.status()
        ec, rsa = st["www"], st["www.rsa"]
        check((ec["key"], rsa["key"]) == ("ecdsa:P-256", "rsa:2048"), "status names the keys", st)
        check(ec["serial"] == first[0], "the ECDSA certificate was not bought again")
        want = {"ecdsa": (ec["serial"], "ecdsa"), "rsa": (rsa["serial"], "rsa")}
        for key in ("ecdsa", "rsa"):
            for tls12 in (False, True):
                for sni in (None, "www.example.com"):
                    got = served(big, "vs1", key, sni, tls12)
                    check(got == want[key], "vs1 serves the %s certificate to a client offering "
                          "only %s (%s, SNI %s)" % (key, key, "TLS 1.2" if tls12 else "TLS 1.3",
                                                    sni), got, want)
        state = big.ctl("/_sim/state")
        ckc = state["clientssl"][PROF]["certKeyChain"]
        check(len(ckc) == 2 and sorted(state["key"][e["key"]]["keyType"] for e in ckc) ==
              ["ec-private", "rsa-private"], "one client-ssl profile holds both entries", ckc)
        check([p["fullPath"] for p in state["virtual"]["/Common/vs1"]["profiles"]
               if p["fullPath"] in state["clientssl"]] == [PROF],
              "vs1 has that one client-ssl profile")

        p = lab.run("inventory", "--json")
        inv = sorted((x["profile"], x["serial"]) for x in json.loads(p.stdout) if x["managed"])
        check(inv == sorted([("www", ec["serial"]), ("www.rsa", rsa["serial"])]),
              "inventory lists one managed certificate per key", inv)
        ec_entry = [e for e in ckc if state["key"][e["key"]]["keyType"] == "ec-private"][0]
        big.clear_requests()
        p = lab.run("run", "--force", "www.rsa")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "0 enrolled, 1 renewed, 0 unchanged, 0 failed"), "--force renews the RSA key only",
            p.stdout, p.stderr[-4000:])
        rsa2 = lab.status()["www.rsa"]
        check(rsa2["serial"] != rsa["serial"], "the RSA renewal has a new serial")
        check(served(big, "vs1", "rsa") == (rsa2["serial"], "rsa"), "vs1 serves the new RSA one")
        check(served(big, "vs1", "ecdsa") == want["ecdsa"], "and still the same ECDSA one")
        patches = [r for r in big.requests() if r["method"] == "PATCH" and
                   "/ltm/profile/client-ssl/" in r["path"]]
        check(len(patches) == 1, "the swap is one PATCH of the client-ssl profile", patches)
        ckc = big.ctl("/_sim/state")["clientssl"][PROF]["certKeyChain"]
        check(len(ckc) == 2 and ec_entry in ckc,
              "the profile holds the ECDSA entry as it was and the new RSA one", ckc)

        p = lab.run("run")
        check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 2 unchanged, 0 failed"),
              "the run after that has nothing to do", p.stdout)
        big.check_settled()

        # taking one key off the device keeps the profile serving the other
        rsa_key = [e["key"] for e in ckc if e != ec_entry][0]
        p = lab.run("revoke", "www.rsa", "--remove")
        check(p.returncode == 0 and "take its rsa key out of keys:" in p.stdout,
              "revoke --remove takes the RSA key off", p.stdout, p.stderr[-3000:])
        state = big.ctl("/_sim/state")
        check(state["clientssl"][PROF]["certKeyChain"] == [ec_entry],
              "the profile keeps the ECDSA entry alone", state["clientssl"][PROF])
        check(rsa_key not in state["key"] and ec_entry["key"] in state["key"],
              "the RSA key is gone from the device, the ECDSA key stays")
        check(served(big, "vs1", "ecdsa") == want["ecdsa"], "vs1 still serves the ECDSA one")
        check(served(big, "vs1", "rsa") is None, "and nothing to an RSA-only client")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
