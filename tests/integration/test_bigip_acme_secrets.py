"""BIG-IP + ACME (EAB) at -l trace, through an enrollment and a --force
renewal: no key passphrase (the simulator's test-only /_sim/passphrases),
no iControl auth token (/_sim/tokens), no device password and no EAB HMAC
key appears in the trace log, stdout, the state directory, or any file the
run left under the simulator's or Pebble's directories. (The EAB key and the
password are in credentials.yaml by design; that file is the only one
allowed to hold them, besides Pebble's own configuration, which is the CA's
copy of the EAB key.)"""
import os

from harness import BigipSim, Lab, check, main, stopping
from pebble import Pebble

EAB = ("kid-secret", "gXOIpCtYfVbhF9aNvTmpBT6hRl4iMM0w9KjeEhOt63yq2u0mfLgEbtB2UfnOCFae")
PW = "Big-S3cret-Admin-Pw-4417"


def files_under(*roots):
    for root in roots:
        for d, _, names in os.walk(root):
            for n in names:
                yield os.path.join(d, n)


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",), pair=True, password=PW)
    peb = Pebble(w, eab={EAB[0]: EAB[1]})
    with stopping(big, peb):
        peb.start()
        lab = Lab(w)
        lab.add_bigip("bigip1", big)
        lab.add_acme("acme", peb, eab=EAB)
        lab.write_config()
        lab.profile("www", device="bigip1", ca="acme", common_name="www.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1", "check": f"127.0.0.1:{big.port('vs1')}"}])
        p1 = lab.run("run", level="trace")
        check(p1.returncode == 0, "the traced run enrolls", p1.stdout, p1.stderr[-3000:])
        p2 = lab.run("run", "--force", level="trace")
        check(p2.returncode == 0 and "1 renewed" in p2.stdout, "the traced --force run renews",
              p2.stdout, p2.stderr[-3000:])
        log = p1.stdout + p1.stderr + p2.stdout + p2.stderr
        check("/mgmt/tm/sys/crypto/key" in log and "/mgmt/tm/transaction" in log
              and "/order-plz" in log and "/finalize-order/" in log,
              "the trace shows the device and CA exchanges")
        check("[REDACTED]" in log, "redaction is visible in the trace")

        passes = big.ctl("/_sim/passphrases")
        tokens = big.ctl("/_sim/tokens")
        check(len(passes) == 2, "two key passphrases were used (enrollment + renewal)", passes)
        check(all(len(s) >= 43 for s in passes), "each passphrase encodes >= 32 random bytes")
        check(len(set(passes)) == 2, "the renewal used a fresh passphrase")
        check(len(tokens) >= 2, "the runs logged in with tokens", tokens)
        secrets = [("passphrase", s) for s in passes] + [("token", t) for t in tokens] + \
            [("device password", PW), ("EAB HMAC key", EAB[1])]
        for what, s in secrets:
            check(s not in log, f"{what} {s[:4]}… absent from the trace and stdout")
            # a prefix long enough to be unique catches a secret cut by a line break
            check(s[:16] not in log, f"{what} {s[:4]}… not even in part in the trace")

        creds = os.path.join(lab.conf, "credentials.yaml")
        ca_conf = os.path.join(peb.dir, "pebble-config.json")
        n = 0
        for path in files_under(lab.state, big.dir, peb.dir, lab.conf):
            data = open(path, "rb").read()
            n += 1
            for what, s in secrets:
                if path == creds and what in ("device password", "EAB HMAC key"):
                    continue
                if path == ca_conf and what == "EAB HMAC key":
                    continue
                check(s.encode() not in data, f"{what} {s[:4]}… absent from {os.path.relpath(path, w)}")
        check(n > 10, f"{n} files searched (state, simulator, Pebble, config)")
        st = os.stat(lab.state)
        check(st.st_mode & 0o077 == 0, "the state directory is private (0700)")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
