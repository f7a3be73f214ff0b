"""lbcert inventory: every certificate on a Citrix ADC and a BIG-IP,
managed by a profile or not (unmanaged ones are created here directly
through each appliance's API), with not-after, days left and where each is
bound; --json and text; a device filter; an unknown device is a usage
error. The device is read with one listing per object type: the number of
GET requests does not grow when more certificates are added."""
import base64
import json
import os
import subprocess
import urllib.request
import ssl

from harness import (check_citrix_settled, BigipSim, CitrixSim, Lab, ScmSim, check, main,
                     config_writes, stopping)

SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def self_signed(d, name, days):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                    "-days", str(days), "-subj", f"/CN={name}.legacy.example.com"],
                   check=True, capture_output=True)
    return open(key, "rb").read(), open(crt, "rb").read()


def adc_unmanaged(adc, d, name, days, vserver=None):
    key, crt = self_signed(d, name, days)
    for fn, data in ((name + ".key", key), (name + ".pem", crt)):
        rc, body = adc.api("POST", "/nitro/v1/config/systemfile", {"systemfile": {
            "filename": fn, "filelocation": "/nsconfig/ssl", "fileencoding": "BASE64",
            "filecontent": base64.b64encode(data).decode()}})
        check(rc == 201, f"ADC: upload {fn}", body)
    # as an administrator of an HA pair does: files to the peer first
    rc, body = adc.api("POST", "/nitro/v1/config/hafiles?action=sync",
                       {"hafiles": {"mode": ["ssl"]}})
    check(rc == 200, "ADC: HA files synced", body)
    rc, body = adc.api("POST", "/nitro/v1/config/sslcertkey", {"sslcertkey": {
        "certkey": name, "cert": name + ".pem", "key": name + ".key"}})
    check(rc == 201, f"ADC: unmanaged certkey {name} added", body)
    if vserver:
        rc, body = adc.api("PUT", "/nitro/v1/config/sslvserver_sslcertkey_binding", {
            "sslvserver_sslcertkey_binding": {"vservername": vserver, "certkeyname": name}})
        check(rc in (200, 201), f"ADC: {name} bound to {vserver}", body)
    rc, body = adc.api("POST", "/nitro/v1/config/nsconfig?action=save", {"nsconfig": {}})
    check(rc == 200, "ADC: configuration saved", body)


def big_unmanaged(big, d, name, days):
    _, crt = self_signed(d, name, days)
    u = big.units[0]
    base = u["url"]
    ctx = ssl.create_default_context(cafile=u["ca_file"])
    ctx.check_hostname = False
    req = urllib.request.Request(
        f"{base}/mgmt/shared/file-transfer/uploads/{name}.pem", data=crt, method="POST",
        headers=dict(big.auth_headers(), **{"Content-Type": "application/octet-stream",
                                            "Content-Range": f"0-{len(crt) - 1}/{len(crt)}"}))
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        check(r.status == 200, f"BIG-IP: upload {name}.pem")
    rc, body = big.api("POST", "/mgmt/tm/sys/crypto/cert", {
        "command": "install", "name": name + ".crt",
        "from-local-file": f"/var/config/rest/downloads/{name}.pem"})
    check(rc == 200, f"BIG-IP: unmanaged ssl-cert {name}.crt installed", body)
    big.ctl("/_sim/sync", {"seconds": 0})
    check(big.api("POST", "/mgmt/tm/sys/config", {"command": "save"})[0] == 200 and
          big.api("POST", "/mgmt/tm/cm", {"command": "run", "utilCmdArgs":
                                          "config-sync to-group " + big.ready["device_group"]})[0]
          == 200, "BIG-IP: and saved and synced")


def gets(sim):
    return len([r for r in sim.requests() if r["method"] == "GET"])


def by(items, device, name):
    hit = [i for i in items if i["device"] == device and i["name"] == name]
    check(len(hit) == 1, f"inventory lists {device} {name}", json.dumps(items, indent=1))
    return hit[0]


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www", "vs_legacy"))
    big = BigipSim(w, virtuals=("vs_api",))
    scm = ScmSim(w)
    with stopping(adc, big, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_bigip("big1", big)
        lab.add_scm("scm", scm)
        lab.defaults = {"renew_before_days": 30}
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_www"}])
        lab.profile("api", device="big1", ca="scm", common_name="api.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_api"}])
        p = lab.run("run")
        check(p.returncode == 0, "two profiles enrolled", p.stdout, p.stderr[-3000:])
        st = lab.status()
        adc_unmanaged(adc, w, "legacy", 10, vserver="vs_legacy")
        big_unmanaged(big, w, "legacy", 20)

        for s in (adc, big):
            s.clear_requests()
        p = lab.run("inventory", "--json")
        check(p.returncode == 0, "inventory --json exits 0", p.stderr[-2000:])
        items = json.loads(p.stdout)
        g_adc, g_big = gets(adc), gets(big)
        check(config_writes(adc.requests()) == [] and config_writes(big.requests()) == [],
              "inventory wrote nothing")
        check(all(set(("device", "name", "serial", "not_after", "days_left", "bound_to",
                       "managed")) <= set(i) for i in items), "every item has the SPEC fields")

        www = by(items, "adc1", "www")
        check(www["managed"] and www["profile"] == "www" and www["serial"] == st["www"]["serial"]
              and www["bound_to"] == ["vs_www"] and 360 <= www["days_left"] <= 366,
              "ADC: www is managed, bound to vs_www, ~365 days left", www)
        leg = by(items, "adc1", "legacy")
        check(not leg["managed"] and leg["profile"] is None and leg["bound_to"] == ["vs_legacy"]
              and leg["days_left"] in (9, 10), "ADC: legacy is unmanaged, on vs_legacy, "
              "10 days left", leg)
        api = [i for i in items if i["device"] == "big1" and i["serial"] == st["api"]["serial"]]
        check(len(api) == 1 and api[0]["managed"] and api[0]["profile"] == "api" and
              [b.rsplit("/", 1)[-1] for b in api[0]["bound_to"]] == ["vs_api"],
              "BIG-IP: api's certificate is managed and bound to vs_api", api)
        bl = by(items, "big1", "/Common/legacy.crt")
        check(not bl["managed"] and bl["bound_to"] == [] and bl["days_left"] in (19, 20),
              "BIG-IP: legacy.crt is unmanaged, unbound, 20 days left", bl)
        cas = [i for i in items if i.get("is_ca")]
        check(cas and not any(i["managed"] for i in cas), "issuer objects are listed, unmanaged")

        p = lab.run("inventory")
        lines = p.stdout.splitlines()
        check(p.returncode == 0 and lines[0].split()[:3] == ["DEVICE", "NAME", "NOT"],
              "text inventory has a header", p.stdout)
        check(any(l.split()[:2] == ["adc1", "legacy"] and l.rstrip().endswith("vs_legacy")
                  for l in lines), "text inventory shows legacy on vs_legacy", p.stdout)

        p = lab.run("inventory", "big1", "--json")
        check(p.returncode == 0 and {i["device"] for i in json.loads(p.stdout)} == {"big1"},
              "inventory big1 --json lists only big1", p.stdout[:500])
        p = lab.run("inventory", "nosuch")
        check(p.returncode == 2 and "nosuch" in p.stderr, "an unknown device is a usage error")

        # Three more certificates on each device: the same number of reads.
        for n in range(3):
            adc_unmanaged(adc, w, f"more{n}", 30 + n)
            big_unmanaged(big, w, f"more{n}", 40 + n)
        for s in (adc, big):
            s.clear_requests()
        p = lab.run("inventory", "--json")
        check(len(json.loads(p.stdout)) == len(items) + 6, "the six new certificates are listed")
        check(gets(adc) == g_adc and gets(big) == g_big,
              f"GETs do not grow with certificates (ADC {g_adc}, BIG-IP {g_big})",
              gets(adc), gets(big))
        check_citrix_settled(adc)
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
