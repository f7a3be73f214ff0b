"""How lbcert trusts a management plane and a CA API (SPEC §4): a device
pinned by `tls: {pin_sha256}` works, also written without colons in lower
case; a wrong pin, or no trust setting at all (the system store, which does
not know the appliance's self-signed certificate), fails with exit 4 before
a single request byte reaches the appliance, so its credentials are never
sent; `insecure: true` works but warns on every command; a CA whose
`ca_file` names the wrong CA fails closed (no request reaches the CA and
nothing changes on the device). An HA pair whose units each have their own
self-signed certificate is trusted by a list of both pins, whichever unit
`url` names; a list without the primary's pin never sends the primary a
byte."""
import copy
import os

from harness import (check_citrix_settled, CitrixSim, Lab, ScmSim, check, main, serial_of,
                     served_cert, stopping, writes)


def summary(p):
    lines = p.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def other_fingerprint(fp):
    """A well-formed fingerprint that is not fp (last byte changed)."""
    last = fp[-2:]
    return fp[:-2] + ("00" if last != "00" else "01")


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www",), ha=False)
    scm = ScmSim(w)
    with stopping(adc, scm):
        unit = adc.units[0]
        fp = unit["fingerprint_sha256"]
        check(len(fp) == 95 and fp.count(":") == 31, "the simulator gives an AB:CD:... fingerprint",
              fp)
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.devices["adc1"]["tls"] = {"pin_sha256": fp}
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject={"organization": "Example Ltd", "state": "West Yorkshire",
                             "country": "GB"},
                    vservers=[{"name": "vs_www",
                               "check": f"127.0.0.1:{adc.port('vs_www')}"}])
        base = copy.deepcopy(lab.devices["adc1"])

        def device_tls(tls):
            d = copy.deepcopy(base)
            if tls is None:
                d.pop("tls", None)
            else:
                d["tls"] = tls
            lab.devices["adc1"] = d
            lab.write_config()

        def clear():
            adc.clear_requests()
            scm.clear_requests()

        # --- the right pin, as the simulator prints it ---
        p = lab.run("check")
        check(p.returncode == 0 and "device adc1: ok" in p.stdout,
              "check: a device trusted by its pin is reached", p.stdout, p.stderr)
        p = lab.run("run")
        check(p.returncode == 0 and summary(p) == "1 enrolled, 0 renewed, 0 unchanged, 0 failed",
              "run: enrollment through a pinned management connection", p.stdout, p.stderr)
        www = lab.status()["www"]
        der = served_cert(adc.port("vs_www"), "www.example.com")
        check(der is not None and serial_of(der) == www["serial"],
              "vs_www serves the enrolled certificate")

        # --- the same pin without colons, lower case ---
        device_tls({"pin_sha256": fp.replace(":", "").lower()})
        p = lab.run("check")
        check(p.returncode == 0 and "device adc1: ok" in p.stdout,
              "check: the pin also works as 64 lower-case hex digits", p.stdout, p.stderr)
        p = lab.run("run")
        check(p.returncode == 0 and summary(p) == "0 enrolled, 0 renewed, 1 unchanged, 0 failed",
              "run: the colon-less pin works too", p.stdout, p.stderr)
        device_tls({"pin_sha256": fp.lower()})
        p = lab.run("plan")
        check(p.returncode == 0 and "www" in p.stdout,
              "plan: a lower-case pin with colons works", p.stdout, p.stderr)

        # --- a wrong pin: exit 4, both fingerprints shown, nothing sent ---
        wrong = other_fingerprint(fp)
        device_tls({"pin_sha256": wrong})
        clear()
        p = lab.run("check")
        out = p.stdout + p.stderr
        check(p.returncode == 4 and "device adc1: FAILED" in p.stdout,
              "check: a wrong pin fails with exit 4", p.returncode, p.stdout, p.stderr)
        check(wrong in out and fp in out,
              "the message shows the expected and the presented fingerprints", out)
        check(adc.requests() == [],
              "with a wrong pin the appliance received no request (credentials never sent)",
              adc.requests())
        check("ca scm: ok" in p.stdout, "check still reaches the CA", p.stdout)
        clear()
        p = lab.run("run")
        check(p.returncode == 4 and summary(p) == "0 enrolled, 0 renewed, 0 unchanged, 1 failed",
              "run: a wrong pin fails the profile with exit 4", p.returncode, p.stdout, p.stderr)
        check(wrong in p.stderr and fp in p.stderr, "run logs both fingerprints", p.stderr)
        check(adc.requests() == [], "run sent the appliance nothing either")
        check(scm.requests() == [], "run sent the CA nothing")
        check(adc.password not in p.stdout + p.stderr, "the password appears nowhere")

        # --- no ca_file / pin: the system trust store, which fails ---
        device_tls(None)
        clear()
        p = lab.run("check")
        check(p.returncode == 4 and "device adc1: FAILED" in p.stdout,
              "check: without ca_file/pin the self-signed appliance is refused (exit 4)",
              p.returncode, p.stdout, p.stderr)
        check(adc.requests() == [],
              "the system trust store path sent the appliance no request")
        p = lab.run("run")
        check(p.returncode == 4 and summary(p).endswith("1 failed"),
              "run: the system trust store fails with exit 4", p.returncode, p.stdout, p.stderr)
        check(adc.requests() == [], "run sent the appliance nothing")

        # --- insecure: works, warns on every command ---
        device_tls({"insecure": True})
        for cmd in ("check", "plan", "run"):
            p = lab.run(cmd, level="info")
            check(p.returncode == 0, f"{cmd}: tls.insecure connects", p.stdout, p.stderr)
            warn = [ln for ln in p.stderr.splitlines()
                    if " warn: " in ln and "adc1" in ln and "insecure" in ln]
            check(warn != [], f"{cmd}: a warning names adc1 and tls.insecure", p.stderr)
        check(summary(p) == "0 enrolled, 0 renewed, 1 unchanged, 0 failed",
              "the insecure run found nothing to do", p.stdout)
        p = lab.run("run", level="warn")
        check(p.returncode == 0 and " warn: " in p.stderr and "insecure" in p.stderr,
              "the warning shows at -l warn too", p.stderr)

        # --- the CA's ca_file names the wrong CA: fail closed ---
        device_tls({"pin_sha256": fp})
        lab.cas["scm"]["ca_file"] = unit["ca_file"]   # the ADC's certificate, not SCM's
        lab.write_config()
        clear()
        p = lab.run("check")
        check(p.returncode == 4 and "ca scm: FAILED" in p.stdout and "device adc1: ok" in p.stdout,
              "check: an SCM API behind an untrusted certificate fails (exit 4)",
              p.returncode, p.stdout, p.stderr)
        check(scm.requests() == [], "the CA received no request (login never sent)",
              scm.requests())
        before = serial_of(served_cert(adc.port("vs_www"), "www.example.com"))
        clear()
        p = lab.run("run", "--force")
        check(p.returncode in (1, 4) and summary(p) == "0 enrolled, 0 renewed, 0 unchanged, 1 failed",
              "run --force: the renewal fails when the CA cannot be trusted",
              p.returncode, p.stdout, p.stderr)
        check(scm.requests() == [], "run sent the CA nothing")
        check(scm.password not in p.stdout + p.stderr, "the SCM password appears nowhere")
        after = serial_of(served_cert(adc.port("vs_www"), "www.example.com"))
        check(after == before == www["serial"], "vs_www still serves the same certificate")
        st = lab.status()["www"]
        check(st["serial"] == www["serial"] and st["last_error"],
              "status keeps the serial and records the error", st)
        check_citrix_settled(adc)
    ha_pins(os.path.join(w, "ha"))


def ha_pins(w):
    os.makedirs(w)
    adc = CitrixSim(w, vservers=("vs_www",), ha=True)
    scm = ScmSim(w)
    with stopping(adc, scm):
        primary, secondary = adc.units
        check(primary["role"] == "primary" and secondary["role"] == "secondary",
              "the HA simulator has a primary and a secondary", adc.units)
        fp_p, fp_s = primary["fingerprint_sha256"], secondary["fingerprint_sha256"]
        check(fp_p != fp_s, "each HA unit has its own management certificate", fp_p, fp_s)
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        # url names the secondary: the primary is reached second, through peers
        lab.devices["adc1"].update({"url": secondary["url"], "peers": [primary["url"]],
                                    "tls": {"pin_sha256": [fp_p, fp_s.replace(":", "").lower()]}})
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject={"organization": "Example Ltd", "state": "West Yorkshire",
                             "country": "GB"},
                    vservers=[{"name": "vs_www",
                               "check": f"127.0.0.1:{adc.port('vs_www')}"}])

        def unit_requests(unit):
            return [r for r in adc.requests() if r.get("unit") == unit]

        # --- both units' pins: the pair is trusted, the primary is used ---
        adc.clear_requests()
        p = lab.run("check")
        check(p.returncode == 0 and "device adc1: ok" in p.stdout,
              "check: a list of both units' pins reaches the HA pair", p.returncode,
              p.stdout, p.stderr)
        check(unit_requests(1) != [] and unit_requests(0) != [],
              "check asked the secondary (url) and then the primary (peers)",
              adc.requests())
        adc.clear_requests()
        p = lab.run("run")
        check(p.returncode == 0 and summary(p) == "1 enrolled, 0 renewed, 0 unchanged, 0 failed",
              "run: enrollment on the primary, trusted by the second pin of the list",
              p.returncode, p.stdout, p.stderr)
        check(writes(unit_requests(1)) == [],
              "nothing was written to the secondary", unit_requests(1))
        check(writes(unit_requests(0)) != [],
              "the certificate was written to the primary")
        der = served_cert(adc.port("vs_www"), "www.example.com")
        check(der is not None and serial_of(der) == lab.status()["www"]["serial"],
              "vs_www serves the enrolled certificate")

        # --- only the secondary's pin: the primary is never sent a byte. The
        # secondary answers "Secondary"; the unit that may be primary could
        # not be reached, a trust/reachability problem: exit 4, naming the
        # primary's mismatch. ---
        lab.devices["adc1"]["tls"] = {"pin_sha256": [fp_s]}
        lab.write_config()
        adc.clear_requests()
        scm.clear_requests()
        p = lab.run("check")
        out = p.stdout + p.stderr
        check(p.returncode == 4 and "device adc1: FAILED" in p.stdout
              and "the active unit (HA primary) could not be reached" in p.stdout,
              "check: a pin list without the primary's pin fails (the secondary answered)",
              p.returncode, p.stdout, p.stderr)
        check(f"server presented SHA-256 {fp_p}, expected {fp_s}" in out,
              "the message shows the primary's fingerprint and the expected one", out)
        check(unit_requests(0) == [], "the primary received no request (credentials never sent)",
              adc.requests())
        check(unit_requests(1) != [], "the secondary was asked for its HA state")
        adc.clear_requests()
        scm.clear_requests()
        p = lab.run("run", "--force")
        check(p.returncode == 4 and summary(p) == "0 enrolled, 0 renewed, 0 unchanged, 1 failed",
              "run --force: fails (exit 4) when the primary's pin is missing", p.returncode, p.stdout,
              p.stderr)
        check(unit_requests(0) == [], "run sent the primary nothing",
              adc.requests())
        check(scm.requests() == [], "run sent the CA nothing")
        check(adc.password not in p.stdout + p.stderr, "the password appears nowhere")

        # --- the same list with the primary alone: not reached at all, exit 4 ---
        lab.devices["adc1"].update({"url": primary["url"]})
        lab.devices["adc1"].pop("peers")
        lab.write_config()
        adc.clear_requests()
        p = lab.run("check")
        out = p.stdout + p.stderr
        check(p.returncode == 4 and "device adc1: FAILED" in p.stdout,
              "check: the primary alone, pinned only by the secondary's pin, exits 4",
              p.returncode, p.stdout, p.stderr)
        check(fp_p in out and fp_s in out, "both fingerprints are shown", out)
        scm.clear_requests()
        p = lab.run("run", "--force")
        check(p.returncode == 4 and summary(p) == "0 enrolled, 0 renewed, 0 unchanged, 1 failed",
              "run --force: exit 4 when the only unit does not match the pins",
              p.returncode, p.stdout, p.stderr)
        check(adc.requests() == [], "no unit received a request",
              adc.requests())
        check(scm.requests() == [], "run sent the CA nothing")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
