"""BIG-IP renewal replaces only lbcert's own cert-key-chain entry: an
administrator who added a second key type (ECDSA beside lbcert's RSA) to
the client-ssl profile keeps it, and its key and certificate objects are
never retired."""
import os
import socket
import ssl
import subprocess
import urllib.request

from harness import BigipSim, Lab, ScmSim, check, main, serial_of, stopping

SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}


def upload(big, name, data):
    u = big.units[0]
    ctx = ssl.create_default_context(cafile=u["ca_file"])
    ctx.check_hostname = False
    req = urllib.request.Request(
        f"{u['url']}/mgmt/shared/file-transfer/uploads/{name}", data=data, method="POST",
        headers=dict(big.auth_headers(), **{"Content-Type": "application/octet-stream",
                                            "Content-Range": f"0-{len(data) - 1}/{len(data)}"}))
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        check(r.status == 200, f"{name} uploaded")


def admin_ec_entry(big, w):
    """What an administrator does by hand: an ECDSA key and certificate of
    their own, added to the profile beside the entry lbcert made."""
    key, crt = os.path.join(w, "admin-ec.key"), os.path.join(w, "admin-ec.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "90", "-subj", "/CN=web.example.com"], check=True,
                   capture_output=True)
    for path, coll, name in ((key, "ssl-key", "admin_ec.key"), (crt, "ssl-cert", "admin_ec.crt")):
        upload(big, name + ".up", open(path, "rb").read())
        rc, body = big.api("POST", "/mgmt/tm/sys/file/" + coll, {
            "name": name, "partition": "Common",
            "sourcePath": f"file:///var/config/rest/downloads/{name}.up"})
        check(rc == 200, f"{name} installed", body)
    rc, prof = big.api("GET", "/mgmt/tm/ltm/profile/client-ssl/~Common~web_clientssl")
    check(rc == 200, "the profile lbcert made is there", prof)
    ckc = [{k: v for k, v in e.items() if not k.endswith("Reference")}
           for e in prof["certKeyChain"]]
    ckc.append({"name": "admin_ec", "cert": "/Common/admin_ec.crt", "key": "/Common/admin_ec.key",
                "chain": "none"})
    rc, body = big.api("PATCH", "/mgmt/tm/ltm/profile/client-ssl/~Common~web_clientssl",
                       {"certKeyChain": ckc})
    check(rc == 200, "the administrator's ECDSA entry is added to it", body)
    rc, body = big.api("POST", "/mgmt/tm/sys/config", {"command": "save"})
    check(rc == 200, "and saved", body)
    rc, body = big.api("POST", "/mgmt/tm/cm", {
        "command": "run", "utilCmdArgs": "config-sync to-group " + big.ready["device_group"]})
    check(rc == 200, "and synced", body)


def served_with(port, cipher):
    """The leaf vs1 presents to a TLS 1.2 client offering only cipher (the
    key type picks the profile's entry)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(cipher)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(True)


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",))
    scm = ScmSim(w)
    with stopping(big, scm):
        lab = Lab(w)
        lab.add_bigip("big", big)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("web", device="big", ca="scm", common_name="web.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1"}])
        p = lab.run("run")
        check(p.returncode == 0 and "1 enrolled" in p.stdout, "web is enrolled", p.stdout,
              p.stderr[-2000:])
        before = big.ctl("/_sim/state")["clientssl"]["/Common/web_clientssl"]["certKeyChain"]
        check(len(before) == 1, "one entry, lbcert's", before)
        admin_ec_entry(big, w)

        p = lab.run("run", "--force", "web")
        check(p.returncode == 0 and "1 renewed" in p.stdout, "web is renewed", p.stdout,
              p.stderr[-2000:])
        st = big.ctl("/_sim/state")
        ckc = st["clientssl"]["/Common/web_clientssl"]["certKeyChain"]
        admin = [e for e in ckc if e["name"] == "admin_ec"]
        ours = [e for e in ckc if e["name"] != "admin_ec"]
        check(len(admin) == 1 and admin[0]["key"] == "/Common/admin_ec.key" and
              admin[0]["cert"] == "/Common/admin_ec.crt", "the administrator's entry is kept", ckc)
        check(len(ours) == 1 and ours[0]["key"] != before[0]["key"] and ours[0]["has_passphrase"],
              "lbcert's entry now names the new key", ckc)
        check("/Common/admin_ec.key" in st["key"] and "/Common/admin_ec.crt" in st["cert"],
              "the administrator's objects are still there")
        check(before[0]["key"] not in st["key"], "lbcert's old key was retired")
        check(serial_of(served_with(big.port("vs1"), "ECDHE-RSA-AES128-GCM-SHA256")) ==
              lab.status()["web"]["serial"], "vs1 serves the renewed certificate to RSA clients")
        tmos = st["cert"]["/Common/admin_ec.crt"]["serialNumber"]
        check(int(serial_of(served_with(big.port("vs1"), "ECDHE-ECDSA-AES128-GCM-SHA256")), 16) ==
              (int(tmos.replace(":", ""), 16) if ":" in tmos else int(tmos)),
              "and the administrator's to ECDSA clients")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
