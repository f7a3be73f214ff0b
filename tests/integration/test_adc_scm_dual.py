"""Citrix ADC + Sectigo SCM, a profile with an RSA and an ECDSA key: two
certificates for the same names, both bound to a plain and an SNI vserver;
a client offering only one key type's signature algorithms is served that
type's certificate. A run killed between the two keys leaves the first one
served and resumes the second without a second enrollment; renewing one key
leaves the other served."""
import json
import os
import signal
import time

from harness import (check_citrix_settled, CitrixSim, Lab, ScmSim, check, key_type_of, main,
                     serial_of, served_for, stopping)

SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}


def served(adc, vs, key, sni=None, tls12=False):
    der = served_for(adc.port(vs), key, sni=sni, tls12=tls12)
    return (serial_of(der), key_type_of(der)) if der is not None else None


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www", "vs_sni"), ha=True)
    scm = ScmSim(w, pending=3)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm, poll={"interval_s": 1, "timeout_s": 60})
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject_alt_names=["static.example.com"], subject=SUBJECT,
                    keys=[{"type": "rsa", "size": 2048}, {"type": "ecdsa", "curve": "P-256"}],
                    vservers=[{"name": "vs_www"}, {"name": "vs_sni", "sni": True}])

        p = lab.run("plan", "--json")
        plan = json.loads(p.stdout)
        check([(x["profile"], x["key"], x["action"]) for x in plan] ==
              [("www", "rsa:2048", "change"), ("www.ecdsa", "ecdsa:P-256", "change")],
              "plan shows one line per key", p.stdout, p.stderr)

        # the run dies once the second key is enrolled: the first is in service
        proc = lab.start("run")
        deadline = time.time() + 90
        while scm.ctl("/_sim/state")["enrolls"] < 2 and time.time() < deadline:
            time.sleep(0.1)
        check(scm.ctl("/_sim/state")["enrolls"] == 2, "the run enrolled both keys")
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rsa = served(adc, "vs_www", "rsa")
        check(rsa is not None and rsa[1] == "rsa", "the RSA certificate is served after the kill",
              rsa)
        check(served(adc, "vs_www", "ecdsa") is None,
              "an ECDSA-only client gets nothing yet: the second key was not installed")

        p = lab.run("run")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "1 enrolled, 0 renewed, 1 unchanged, 0 failed"),
            "the next run finishes the ECDSA key and leaves the RSA one", p.stdout, p.stderr)
        check("resuming at step ordered" in p.stderr, "it resumed from the journal", p.stderr)
        st = scm.ctl("/_sim/state")
        check(st["enrolls"] == 2, "SCM saw two enrollments in all, one per key", st)
        check(sorted(st["issued_per_key"].values()) == [1, 1], "each key has one certificate", st)

        status = lab.status()
        www, ec = status["www"], status["www.ecdsa"]
        check(www["key"] == "rsa:2048" and ec["key"] == "ecdsa:P-256", "status names the keys",
              status)
        want = {"rsa": (www["serial"], "rsa"), "ecdsa": (ec["serial"], "ecdsa")}
        for vs, sni in (("vs_www", None), ("vs_www", "www.example.com"),
                        ("vs_sni", "www.example.com"), ("vs_sni", "static.example.com")):
            for key in ("rsa", "ecdsa"):
                for tls12 in (False, True):
                    got = served(adc, vs, key, sni, tls12)
                    check(got == want[key], "%s (SNI %s, %s) serves the %s certificate to a "
                          "client offering only %s" % (vs, sni, "TLS 1.2" if tls12 else
                                                       "TLS 1.3", key, key), got, want)
        binds = sorted((b["vservername"], b["certkeyname"], b["snicert"])
                       for b in adc.ctl("/_sim/state")["bindings"] if not b["ca"])
        check(binds == [("vs_sni", "www", True), ("vs_sni", "www.ecdsa", True),
                        ("vs_www", "www", False), ("vs_www", "www.ecdsa", False)],
              "each certkey is bound to both vservers, as SNI on vs_sni", binds)

        for args, want_rows in ((("www",), ["www", "www.ecdsa"]), (("www.rsa",), ["www"]),
                                (("www.ecdsa", "www"), ["www", "www.ecdsa"])):
            p = lab.run("plan", "--json", *args)
            rows = [x["profile"] for x in json.loads(p.stdout)] if p.returncode == 0 else p.stderr
            check(rows == want_rows, "plan %s selects %s" % (" ".join(args), want_rows), rows)
        p = lab.run("plan", "www.dsa")
        check(p.returncode == 2 and "no profile named www.dsa" in p.stderr,
              "an unknown key name is a usage error", p.stderr)
        lab.profile("solo", device="adc1", ca="scm", common_name="solo.example.com",
                    subject=SUBJECT, key={"type": "rsa"}, vservers=[{"name": "vs_www"}])
        p = lab.run("plan", "solo.rsa")
        check(p.returncode == 2 and "no profile named solo.rsa" in p.stderr,
              "NAME.TYPE is only for a keys: list", p.stderr)
        os.unlink(os.path.join(lab.conf, "profiles", "solo.yaml"))

        p = lab.run("inventory", "--json")
        inv = sorted((x["profile"], x["name"], x["serial"]) for x in json.loads(p.stdout)
                     if x["managed"])
        check(inv == [("www", "www", www["serial"]), ("www.ecdsa", "www.ecdsa", ec["serial"])],
              "inventory lists one managed certificate per key", inv)

        p = lab.run("run", "--force", "www.ecdsa")
        check(p.returncode == 0 and p.stdout.strip().endswith(
            "0 enrolled, 1 renewed, 0 unchanged, 0 failed"), "--force renews the ECDSA key only",
            p.stdout, p.stderr)
        ec2 = lab.status()["www.ecdsa"]
        check(ec2["serial"] != ec["serial"], "the ECDSA renewal has a new serial")
        for vs, sni in (("vs_www", None), ("vs_sni", "www.example.com")):
            check(served(adc, vs, "ecdsa", sni) == (ec2["serial"], "ecdsa"),
                  "%s serves the renewed ECDSA certificate" % vs)
            check(served(adc, vs, "rsa", sni) == (www["serial"], "rsa"),
                  "%s still serves the RSA certificate" % vs)

        p = lab.run("run")
        check(p.stdout.strip().endswith("0 enrolled, 0 renewed, 2 unchanged, 0 failed"),
              "the run after that has nothing to do", p.stdout)
        check_citrix_settled(adc)

        # taking one key off the device keeps the other one bound
        p = lab.run("revoke", "www.ecdsa", "--remove")
        check(p.returncode == 0 and "take its ecdsa key out of keys:" in p.stdout,
              "revoke --remove takes the ECDSA key off", p.stdout, p.stderr[-3000:])
        state = adc.ctl("/_sim/state")
        binds = sorted((b["vservername"], b["certkeyname"], b["snicert"])
                       for b in state["bindings"] if not b["ca"])
        check(binds == [("vs_sni", "www", True), ("vs_www", "www", False)],
              "only the RSA certkey stays bound", binds)
        for vs, sni in (("vs_www", None), ("vs_sni", "www.example.com")):
            check(served(adc, vs, "rsa", sni) == want["rsa"], "%s still serves the RSA one" % vs)
            check(served(adc, vs, "ecdsa", sni) is None,
                  "%s serves nothing to an ECDSA-only client" % vs)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
