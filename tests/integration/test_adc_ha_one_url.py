"""Citrix ADC HA pair managed through one address (no peers in
lbcert.yaml, as through a floating management IP): the driver learns the
pair from the unit's hanode listing and syncs the SSL files, so the
secondary holds every key and certificate file, before any propagated
certkey command needs them and after every run. The NITRO session expires
just before a file upload and just before a certkey action: lbcert logs in
again and replays the request. A profile that fails at activation still
leaves the configuration saved (objects were installed for it)."""
import base64
import os
import subprocess

from harness import (CitrixSim, Lab, ScmSim, check, check_citrix_settled, main, serial_of,
                     served_cert, stopping)

SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def replays(adc, what):
    """(index of the 401, index of the replay) for the first request whose
    path contains what that was answered 401."""
    reqs = adc.requests()
    for i, r in enumerate(reqs):
        if what in r["path"] and r["status"] == 401:
            rest = reqs[i + 1:]
            login = [j for j, x in enumerate(rest) if x["path"].endswith("/login")]
            again = [j for j, x in enumerate(rest) if what in x["path"] and x["method"] == r["method"]
                     and x["status"] < 300]
            return i, login, again
    return None


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www", "vs_taken"), ha=True)
    scm = ScmSim(w)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc, peers=False)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    key={"type": "rsa", "size": 2048}, subject=SUBJECT,
                    vservers=[{"name": "vs_www"}])
        p = lab.run("run")
        check(p.returncode == 0, "first run exits 0", p.stdout, p.stderr[-3000:])
        st = adc.ctl("/_sim/state")
        ck = st["certkeys"]["www"]
        check(ck["key"] in st["secondary_files"] and ck["cert"] in st["secondary_files"],
              "the secondary has the key and certificate files", st["secondary_files"], ck)
        check(st["counters"]["hafiles_sync"] >= 1, "HA files were synced", st["counters"])
        check_citrix_settled(adc)

        # the session expires just before the upload, then before the update
        adc.clear_requests()
        adc.ctl("/_sim/fault", {"expire_before": {"path_contains": "/systemfile",
                                                  "method": "POST"}})
        adc.ctl("/_sim/fault", {"expire_before": {"path_contains": "action=update"}})
        p = lab.run("run", "--force")
        check(p.returncode == 0, "renewal through two session expiries exits 0", p.stdout,
              p.stderr[-3000:])
        for what in ("/systemfile", "action=update"):
            r = replays(adc, what)
            check(r is not None and r[1] and r[2] and r[1][0] < r[2][0],
                  f"{what}: 401, a new login, then the request again", r)
        new = lab.status()["www"]
        check(serial_of(served_cert(adc.port("vs_www"))) == new["serial"],
              "vs_www serves the renewed certificate")
        st = adc.ctl("/_sim/state")
        ck = st["certkeys"]["www"]
        check(ck["cert"] in st["secondary_files"], "the renewed certificate file is on the "
              "secondary", st["secondary_files"], ck)
        check_citrix_settled(adc)

        # an administrator's certificate on vs_taken; a profile listing it
        # without sni fails at the binding, after its objects were installed
        d = os.path.join(w, "admin")
        os.makedirs(d)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        os.path.join(d, "a.key"), "-out", os.path.join(d, "a.pem"), "-days",
                        "30", "-subj", "/CN=taken.example.com"], check=True, capture_output=True)
        for f in ("a.key", "a.pem"):
            rc, body = adc.api("POST", "/nitro/v1/config/systemfile", {"systemfile": {
                "filename": "admin-" + f, "filelocation": "/nsconfig/ssl",
                "fileencoding": "BASE64",
                "filecontent": base64.b64encode(open(os.path.join(d, f), "rb").read()).decode()}})
            check(rc == 201, "ADC: administrator's file uploaded", body)
        for path, body in (("hafiles?action=sync", {"hafiles": {"mode": ["ssl"]}}),
                           ("sslcertkey", {"sslcertkey": {"certkey": "admin", "cert": "admin-a.pem",
                                                          "key": "admin-a.key"}}),
                           ("sslvserver_sslcertkey_binding", {"sslvserver_sslcertkey_binding": {
                               "vservername": "vs_taken", "certkeyname": "admin"}}),
                           ("nsconfig?action=save", {"nsconfig": {}})):
            rc, resp = adc.api("PUT" if "binding" in path else "POST",
                               "/nitro/v1/config/" + path, body)
            check(rc in (200, 201), "ADC: administrator's " + path.split("?")[0], resp)
        lab.profile("taken", device="adc1", ca="scm", common_name="taken.example.com",
                    key={"type": "rsa", "size": 2048}, subject=SUBJECT,
                    vservers=[{"name": "vs_taken"}])
        p = lab.run("run", "taken")
        check(p.returncode == 1, "a profile whose binding is refused fails", p.stdout,
              p.stderr[-3000:])
        check("taken" in adc.ctl("/_sim/state")["certkeys"], "its certkey was installed")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
