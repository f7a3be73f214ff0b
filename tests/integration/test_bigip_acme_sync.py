"""BIG-IP pair in device group dg-web with `sync_group: dg-web`: after the
change and `sys config save`, the run starts `config-sync to-group dg-web`
on the active unit and waits (polling cm/sync-status) until the group
reports In Sync — here the simulator keeps it "Syncing" for 2 s. A run with
nothing to do starts no sync. A sync_group the device does not know fails
the profile (exit 1) with the device's message, after the certificate is in
service. Without sync_group the unit's one sync-failover group (from
cm/device-group) is synced; with several in the trust domain lbcert syncs
none and says so."""
import time

from harness import BigipSim, Lab, check, main, serial_of, served_cert, stopping
from pebble import Pebble

EAB = ("kid-sync", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SYNC_S = 2.0


def scenario(w):
    big = BigipSim(w, virtuals=("vs1", "vs2"), pair=True, device_group="dg-web")
    peb = Pebble(w, eab={EAB[0]: EAB[1]})
    with stopping(big, peb):
        peb.start()
        big.ctl("/_sim/sync", {"seconds": SYNC_S})
        lab = Lab(w)
        lab.add_bigip("bigip1", big, sync_group="dg-web")
        lab.add_bigip("bigip2", big, sync_group="dg-nonexistent")
        lab.add_acme("acme", peb, eab=EAB)
        lab.write_config()
        subj = {"organization": "Example", "state": "Yorks", "country": "GB"}
        lab.profile("www", device="bigip1", ca="acme", common_name="www.example.com",
                    subject=subj,
                    vservers=[{"name": "vs1", "check": f"127.0.0.1:{big.port('vs1')}"}])
        lab.profile("bad", device="bigip2", ca="acme", common_name="bad.example.com",
                    subject=subj, vservers=[{"name": "vs2"}])

        check(big.ctl("/_sim/state")["sync_status"] == "In Sync", "the pair starts In Sync")
        n0 = len(big.requests())
        t0 = time.monotonic()
        p = lab.run("run", "www")
        took = time.monotonic() - t0
        check(p.returncode == 0 and "1 enrolled" in p.stdout, "the run enrolls www",
              p.stdout, p.stderr[-3000:])
        reqs = big.requests()[n0:]
        syncs = [i for i, r in enumerate(reqs) if r["method"] == "POST" and r["path"] == "/mgmt/tm/cm"]
        saves = [i for i, r in enumerate(reqs) if r["path"] == "/mgmt/tm/sys/config"]
        polls = [i for i, r in enumerate(reqs) if r["path"] == "/mgmt/tm/cm/sync-status"]
        st = big.ctl("/_sim/state")
        check(len(syncs) == 1 and st["sync_runs"] == ["dg-web"],
              "one config-sync to-group dg-web was run", st["sync_runs"])
        check(saves and saves[-1] < syncs[0], "the sync came after sys config save")
        check(all(reqs[i]["unit"] == 0 for i in syncs + saves), "save and sync ran on the active unit")
        check(len(polls) >= 2 and polls[0] > syncs[0],
              f"the run polled sync-status after the sync ({len(polls)} polls)")
        check(took >= SYNC_S, f"the run waited for the sync ({took:.1f} s >= {SYNC_S} s)")
        last_poll_t = reqs[polls[-1]]["time"]
        check(last_poll_t - reqs[syncs[0]]["time"] >= SYNC_S - 0.05,
              "its last sync-status poll came after the group was In Sync again")
        check(st["sync_status"] == "In Sync", "the group is In Sync at the end")
        check(p.stderr.find("sync") >= 0, "the log mentions the sync")
        der = served_cert(big.port("vs1"), "www.example.com")
        check(der is not None and serial_of(der) == lab.status()["www"]["serial"],
              "vs1 serves the new certificate")

        n0 = len(big.requests())
        p = lab.run("run", "www")
        check(p.returncode == 0 and p.stdout.strip().endswith("0 enrolled, 0 renewed, 1 unchanged, 0 failed"),
              "a second run has nothing to do", p.stdout)
        check(not [r for r in big.requests()[n0:] if r["path"] == "/mgmt/tm/cm"],
              "and starts no config-sync")

        big.check_settled()

        big.ctl("/_sim/sync", {"seconds": 0.1})
        p = lab.run("run", "bad")
        check(p.returncode == 1 and "1 failed" in p.stdout,
              "a sync_group the device does not know fails the profile", p.stdout, p.stderr[-2000:])
        check("dg-nonexistent" in p.stderr, "the error names the device group", p.stderr[-2000:])
        check(served_cert(big.port("vs2"), "bad.example.com") is not None,
              "the certificate was put in service before the sync failed")
        st = big.ctl("/_sim/state")
        check(not st["unsaved"] and st["gaps"] == [] and st["sync_status"] == "Changes Pending",
              "saved, and left Changes Pending only because the group is unknown",
              st["unsaved"], st["gaps"], st["sync_status"])

        # without sync_group: the unit's one sync-failover group is found and synced
        del lab.devices["bigip2"]["sync_group"]
        lab.write_config()
        p = lab.run("run", "--force", "bad")
        check(p.returncode == 0 and " 0 failed" in p.stdout, "bad is put in service without a "
              "sync_group", p.stdout, p.stderr[-2000:])
        check("syncing to device group dg-web" in p.stderr,
              "the unit's sync-failover group is taken from the device", p.stderr[-2000:])
        check([r for r in big.requests() if r["path"] == "/mgmt/tm/cm/device-group"],
              "read from the device's device groups")
        big.check_settled()

        # several sync-failover groups in the trust domain: lbcert does not guess
        other = BigipSim(w, virtuals=("vs3",), pair=True, device_group="dg-a",
                         extra=["--other-failover-group", "dg-b"], subdir="other")
        with stopping(other):
            lab.add_bigip("bigip3", other)
            del lab.devices["bigip3"]["sync_group"]
            lab.write_config()
            lab.profile("third", device="bigip3", ca="acme", common_name="third.example.com",
                        subject=subj, vservers=[{"name": "vs3"}])
            p = lab.run("run", "third")
            check(p.returncode == 0 and "1 enrolled" in p.stdout, "third is enrolled",
                  p.stdout, p.stderr[-2000:])
            check("2 sync-failover device groups and no sync_group" in p.stderr,
                  "and the run says the peer differs until sync_group names one", p.stderr[-2000:])
            check(other.ctl("/_sim/state")["sync_status"] == "Changes Pending",
                  "nothing was synced to a guessed group")
            check(not [r for r in other.requests() if r["path"] == "/mgmt/tm/cm"],
                  "no config-sync was started")


if __name__ == "__main__":
    main(scenario)
