"""ACME renewal information (RFC 9773) and ACME profiles end to end on one
appliance, with upstream Pebble 2.7.0 (shared by test_adc_acme_ari.py and
test_bigip_acme_ari.py; skipped, exit 77, where that Pebble is absent).

Pebble 2.7 issues certificates with an empty subject (no common name), so
every certificate here also proves that nothing in lbcert needs one.

- acme_profile that the CA does not offer: `lbcert check` and the run fail
  the profile with the valid names; nothing is ordered.
- Two profiles, "www" with the CA's acme_profile (classic) and "short"
  with its own (shortlived, 7 days): orders carry the profile, the
  certificates have the profile's lifetime, status shows the profile.
- The renewal window comes from the CA: right after issuance lbcert asks
  for it; plan shows it; the shortlived certificate's window is around two
  thirds of its lifetime (one third left); no-op runs do not ask again
  before Retry-After, nor loop.
- A revoked certificate (Pebble answers a window in the past): the next
  run renews it, for that reason only, with newOrder "replaces".
- A CA that refuses replaces (another account's certificate): the order is
  placed again without it.
"""
import datetime
import glob
import json
import os
import sqlite3

from harness import Lab, cert_field, check, serial_of, served_cert
from pebble import Pebble, pebble_27_or_skip

EAB = ("kid-ari", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
DAY = 86400
SHORT = 7 * DAY
# One lifetime for both: Pebble 2.7.0 built with Go 1.19 gives every
# profile the validityPeriod of the last one it loads (a loop variable
# shared by all of them), so distinct lifetimes would be a coin toss.
PROFILES = {"classic": {"description": "the usual", "validityPeriod": SHORT},
            "shortlived": {"description": "a week", "validityPeriod": SHORT}}


def last(p):
    return p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""


def epoch(der, which):
    s = cert_field(der, which).split("=", 1)[1]
    return int(datetime.datetime.strptime(s, "%b %d %H:%M:%S %Y GMT").replace(
        tzinfo=datetime.timezone.utc).timestamp())


def utc(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp())


def plan_rows(lab):
    p = lab.run("plan", "--json")
    check(p.returncode == 0, "plan exits 0", p.stdout, p.stderr[-3000:])
    return {r["profile"]: r for r in json.loads(p.stdout)}


def window_of(why):
    """(start, end) epoch seconds from "... between X and Y" of a reason."""
    part = why.split("between ", 1)[1].rstrip(")")
    a, b = part.split(" and ")
    return utc(a), utc(b)


def run_scenario(w, device, add_device, profile_extra):
    """add_device(lab) adds the appliance as "dev" and returns
    {profile: (port, sni)}; profile_extra(name) gives the appliance's keys
    of a profile (vservers, client_ssl)."""
    binary = pebble_27_or_skip()
    with Pebble(w, eab={EAB[0]: EAB[1]}, binary=binary, profiles=PROFILES) as peb:
        lab = Lab(w)
        ports = add_device(lab)
        lab.add_acme("pebble", peb, eab=EAB, acme_profile="classic")
        lab.write_config()
        lab.profile("www", device="dev", ca="pebble", common_name="www.lbcert.test",
                    subject_alt_names=["www.lbcert.test", "api.lbcert.test"],
                    key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                    **profile_extra("www"))
        lab.profile("short", device="dev", ca="pebble", common_name="short.lbcert.test",
                    key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                    acme_profile="nosuch", **profile_extra("short"))

        # -- a profile the CA does not offer --
        p = lab.run("check")
        check(p.returncode == 1 and "profile short" in p.stdout + p.stderr and
              "acme_profile 'nosuch' is not offered by the CA; valid profiles: classic, "
              "shortlived" in p.stdout + p.stderr, "check names the bad acme_profile and "
              "the valid ones", p.stdout, p.stderr[-2000:])
        p = lab.run("run", "short")
        check(p.returncode == 1 and "valid profiles: classic, shortlived" in p.stdout,
              "the run fails the profile with the valid names", p.stdout, p.stderr[-2000:])
        check(served_cert(*ports["short"]) is None, "nothing was installed for it")
        check("profile short: order " not in p.stderr, "nothing was ordered", p.stderr[-2000:])
        lab.profile("short", device="dev", ca="pebble", common_name="short.lbcert.test",
                    key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                    acme_profile="shortlived", **profile_extra("short"))
        p = lab.run("check")
        check(p.returncode == 0, "check passes with a profile the CA offers", p.stdout,
              p.stderr[-2000:])

        # -- enrollment with profiles, certificates without a common name --
        p = lab.run("run")
        check(p.returncode == 0 and last(p) == "2 enrolled, 0 renewed, 0 unchanged, 0 failed",
              "both profiles enroll", p.stdout, p.stderr[-4000:])
        st = lab.status()
        check(st["www"]["acme_profile"] == "classic" and
              st["short"]["acme_profile"] == "shortlived", "status shows each order's profile",
              st)
        s = lab.run("status")
        check("pebble (shortlived)" in s.stdout, "the status table shows it too", s.stdout)
        for name, life in (("www", SHORT), ("short", SHORT)):
            der = served_cert(*ports[name])
            check(der is not None and serial_of(der) == st[name]["serial"],
                  f"{name}: the new certificate is served", st[name])
            check("CN" not in cert_field(der, "-subject", "-nameopt", "multiline").replace(
                "subject=", ""), f"{name}: the certificate has no common name",
                cert_field(der, "-subject"))
            got = epoch(der, "-enddate") - epoch(der, "-startdate")
            check(abs(got + 1 - life) <= 2, f"{name}: lifetime of its ACME profile", got)
        check("suggests renewal between" in p.stderr,
              "the renewal window is asked for right after issuance", p.stderr[-3000:])
        p = lab.run("inventory", "--json")
        inv = json.loads(p.stdout) if p.returncode == 0 else []
        mine = {o.get("profile"): o for o in inv if o.get("managed")}
        check(p.returncode == 0 and mine.get("www", {}).get("serial") == st["www"]["serial"] and
              mine.get("short", {}).get("serial") == st["short"]["serial"],
              "inventory finds both certificates without a common name", p.stdout,
              p.stderr[-2000:])

        # -- the CA's window decides; no-op runs do not ask again --
        rows = plan_rows(lab)
        der = served_cert(*ports["short"])
        nb, na = epoch(der, "-startdate"), epoch(der, "-enddate")
        r = rows["short"]
        check(r["action"] == "nothing" and r["reason"] == "valid" and
              "CA suggests renewal (ARI) between" in r["why"], "plan shows the CA's window",
              r)
        a, b = window_of(r["why"])
        ideal = na - SHORT // 3
        check(abs(a - (ideal - DAY)) <= 5 and abs(b - (ideal + DAY)) <= 5 and nb < a < b < na,
              "the shortlived window is around a third of the lifetime before expiry",
              r, nb, na)
        p = lab.run("run")
        check(p.returncode == 0 and last(p) == "0 enrolled, 0 renewed, 2 unchanged, 0 failed",
              "the next run renews nothing (no loop)", p.stdout, p.stderr[-3000:])
        check("suggests renewal between" not in p.stderr and
              "renewal information as of an earlier run" in p.stderr,
              "nor asks the CA again before Retry-After", p.stderr[-3000:])

        # -- revoked: the CA's window is in the past, the next run renews --
        old = st["www"]["serial"]
        p = lab.run("revoke", "www", "--reason", "keyCompromise")
        check(p.returncode == 0, "www is revoked at the CA", p.stdout, p.stderr[-2000:])
        check(peb.cert_status(old)["Status"] == "Revoked", "Pebble knows it revoked")
        # Only the CA's answer may renew it: forget lbcert's own record of
        # the revocation, and let the window it was told fall due as if
        # the CA's Retry-After had passed.
        db = sqlite3.connect(os.path.join(lab.state, "lbcert.db"))
        db.execute("DELETE FROM history WHERE action = 'revoke'")
        db.execute("UPDATE ari SET retry_at = 0 WHERE profile = 'www'")
        db.commit()
        db.close()
        rows = plan_rows(lab)
        check(rows["www"]["action"] == "change" and rows["www"]["reason"] == "ari" and
              rows["www"]["why"].startswith("renew: CA suggests renewal (ARI) between"),
              "plan: renew, the CA suggests it", rows["www"])
        a, b = window_of(rows["www"]["why"])
        check(b < a + 3600 and b <= int(datetime.datetime.now().timestamp()),
              "the window is in the past", rows["www"])
        p = lab.run("run")
        check(p.returncode == 0 and last(p) == "0 enrolled, 1 renewed, 1 unchanged, 0 failed",
              "the run renews the revoked certificate", p.stdout, p.stderr[-4000:])
        st2 = lab.status()
        check(st2["www"]["serial"] != old and
              serial_of(served_cert(*ports["www"])) == st2["www"]["serial"],
              "the new certificate is served", st2["www"])
        check(", replacing " in p.stderr or "ordering again without replaces" in p.stderr,
              "the order said which certificate it replaces", p.stderr[-4000:])
        if int(old, 16).bit_length() % 8 != 0:
            check(", replacing " in p.stderr and "is a replacement of" in peb.log_text(),
                  "Pebble took it as a replacement", p.stderr[-4000:])
        else:
            # RFC 9773 §4.1 keeps the DER INTEGER's leading 0x00 of a serial
            # whose top bit is set; Pebble 2.7.0 looks orders up by the
            # serial without it, finds none and refuses replaces.
            check("ordering again without replaces" in p.stderr,
                  "Pebble refused replaces of a serial with its top bit set: ordered "
                  "again without it", p.stderr[-4000:])
        p = lab.run("run")
        check(p.returncode == 0 and last(p) == "0 enrolled, 0 renewed, 2 unchanged, 0 failed",
              "then nothing is due", p.stdout, p.stderr[-3000:])

        # -- replaces refused: ordered again without it --
        for f in glob.glob(os.path.join(lab.state, "acme-pebble.*")):
            os.unlink(f)
        p = lab.run("run", "--force", "www")
        check(p.returncode == 0 and last(p) == "0 enrolled, 1 renewed, 0 unchanged, 0 failed",
              "a new account renews another account's certificate", p.stdout,
              p.stderr[-4000:])
        check("ordering again without replaces" in p.stderr,
              "after the CA refused replaces", p.stderr[-4000:])
        check(serial_of(served_cert(*ports["www"])) == lab.status()["www"]["serial"],
              "and the new certificate is served")
    return lab
