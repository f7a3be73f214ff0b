#!/usr/bin/env python3
"""The BIG-IP driver (src/device/bigip.c) against sim/bigip.py --pair, through
devctl: key + CSR on the box (RSA, then EC P-384 on renewal), install, first
activation on two SNI virtuals, save + config-sync, TLS at the virtual ports,
renewal in one transaction, retire, standby untouched, and the key
passphrase in no file under the simulator's directory and not in devctl's
trace log.

Run: LBCERT_DEVCTL=build-bigip/devctl LBCERT_SRC=. python3 tests/integration/test_bigip_driver.py
"""

import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.environ.get("LBCERT_SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DEVCTL = os.environ.get("LBCERT_DEVCTL", os.path.join(SRC, "build", "devctl"))
PW = "bigip-admin-pw-1"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def openssl(*args):
    return subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True).stdout


class Devctl:
    def __init__(self, spec_path, log_path):
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen([DEVCTL, "-l", "trace", spec_path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.log)

    def __call__(self, line, ok=True):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        if not out:
            fail("devctl died on: " + line)
        r = json.loads(out)
        if ok and not r.get("ok"):
            fail("%s -> %s" % (line, r))
        return r

    def close(self):
        self("close")
        self.p.stdin.close()
        self.p.wait(30)
        self.log.close()


class Ca:
    """Root → intermediate → leaf, with openssl x509 -req."""

    def __init__(self, d):
        self.d = d
        self.root_key, self.root = os.path.join(d, "root.key"), os.path.join(d, "root.pem")
        self.int_key, self.int_ = os.path.join(d, "int.key"), os.path.join(d, "int.pem")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.root_key,
                "-out", self.root, "-days", "30", "-subj", "/CN=Throwaway Root",
                "-addext", "basicConstraints=critical,CA:TRUE")
        csr = os.path.join(d, "int.csr")
        ext = os.path.join(d, "int.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n")
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", self.int_key,
                "-out", csr, "-subj", "/CN=Throwaway Intermediate")
        openssl("x509", "-req", "-in", csr, "-CA", self.root, "-CAkey", self.root_key,
                "-CAcreateserial", "-days", "30", "-out", self.int_, "-extfile", ext)
        self.n = 0

    def sign(self, csr_pem, names):
        self.n += 1
        csr = os.path.join(self.d, "leaf%d.csr" % self.n)
        crt = os.path.join(self.d, "leaf%d.pem" % self.n)
        ext = os.path.join(self.d, "leaf%d.ext" % self.n)
        with open(csr, "w") as f:
            f.write(csr_pem)
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.int_, "-CAkey", self.int_key,
                "-CAcreateserial", "-days", "10", "-out", crt, "-extfile", ext)
        serial = openssl("x509", "-in", crt, "-noout", "-serial").decode().strip().split("=")[1]
        return crt, serial.lower().lstrip("0")


def served_serial(port, sni, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=sni) as t:
            der = t.getpeercert(True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem.encode(),
                         capture_output=True, check=True).stdout.decode()
    return out.strip().split("=")[1].lower().lstrip("0")


def sim_post(unit, path, body):
    ctx = ssl.create_default_context(cafile=unit["ca_file"])
    req = urllib.request.Request(unit["url"] + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.loads(r.read())


def sim_get(unit, path):
    ctx = ssl.create_default_context(cafile=unit["ca_file"])
    with urllib.request.urlopen(unit["url"] + path, context=ctx, timeout=10) as r:
        return json.loads(r.read())


def spec(d, ready, bundle, key, name):
    u0, u1 = ready["units"]
    s = {"device": {"name": "bigip1", "type": "f5-bigip",
                    # url names the standby on purpose: the driver must find the active
                    "url": u1["url"], "peers": [u0["url"]], "ca_file": bundle,
                    "pin_sha256": None, "insecure": False, "username": "admin",
                    "password": PW, "partition": "Common", "sync_group": "dg-failover",
                    "timeout_s": 10},
         "profile": {"name": "www", "common_name": "www.example.com",
                     "sans": ["www.example.com", "shop.example.com"], "key": key,
                     "subject": {"organization": "Example", "country": "GB"},
                     "object_name": "www",
                     "vservers": [{"name": "vs1", "sni": True}, {"name": "vs2", "sni": True}],
                     "client_ssl": {"parent": "/Common/clientssl", "profile": "www_clientssl",
                                    "sni_default": True, "server_name": "www.example.com"},
                     "challenge_vserver": "vs80"}}
    path = os.path.join(d, name)
    with open(path, "w") as f:
        json.dump(s, f)
    return path


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def main():
    tmp = tempfile.TemporaryDirectory()
    d = tmp.name
    simdir = os.path.join(d, "sim")
    sim = subprocess.Popen([sys.executable, os.path.join(SRC, "sim", "bigip.py"), "--dir", simdir,
                            "--pair", "--virtual", "vs1", "--virtual", "vs2",
                            "--http-virtual", "vs80", "--password", PW],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(simdir + ".log"), "wb"))
    try:
        ready_path = os.path.join(simdir, "ready.json")
        for _ in range(600):
            if os.path.exists(ready_path):
                break
            check(sim.poll() is None, "simulator exited")
            time.sleep(0.05)
        with open(ready_path) as f:
            ready = json.load(f)
        run(d, simdir, ready)
    finally:
        sim.terminate()
        sim.wait(10)
    print("ok")


def run(d, simdir, ready):
    u0 = ready["units"][0]
    bundle = write(d, "mgmt-bundle.pem", "".join(open(u["ca_file"]).read() for u in ready["units"]))
    ca = Ca(d)
    names = ["www.example.com", "shop.example.com"]

    # --- first enrollment, RSA 2048 ---
    dev = Devctl(spec(d, ready, bundle, {"type": "rsa", "size": 2048}, "spec1.json"),
                 os.path.join(d, "devctl1.log"))
    r = dev("open")
    check(r["active_url"] == u0["url"], "driver must pick the ACTIVE unit: %s" % r)
    check(dev("cert-get", ok=False)["code"] == -3, "nothing installed yet")
    r = dev("key-create 20240101T000000Z")
    key1, csr1 = r["key_ref"], r["csr_pem"]
    check(key1 == "/Common/www_20240101T000000Z.key", key1)
    check("BEGIN CERTIFICATE REQUEST" in csr1, "CSR PEM")
    csr_txt = subprocess.run(["openssl", "req", "-noout", "-text"], input=csr1.encode(),
                             capture_output=True, check=True).stdout.decode()
    check("www.example.com" in csr_txt and "DNS:shop.example.com" in csr_txt, csr_txt)
    check(dev("key-usable " + key1)["usable"] is True, "usable in this process")
    st = sim_get(u0, "/_sim/state")
    check(st["key"][key1]["securityType"] == "password", "key must be password protected")
    crt1, serial1 = ca.sign(csr1, names)
    r = dev("install %s %s %s" % (key1, crt1, ca.int_))
    ref1 = write(d, "install1.json", r["install_ref"] + "\n")
    st = sim_get(u0, "/_sim/state")
    check(st["uploads"][0] == [], "uploads removed: %s" % st["uploads"])
    check("/Common/www_20240101T000000Z.crt" in st["cert"], "leaf object")
    check("/Common/www_20240101T000000Z_chain.crt" in st["cert"], "chain object")
    dev("activate %s %s first" % (key1, ref1))
    dev("save")
    for vs in ("vs1", "vs2"):
        got = served_serial(ready["vservers"][vs], "www.example.com", ca.root)
        check(got == serial1, "%s serves %s, want %s" % (vs, got, serial1))
    st = sim_get(u0, "/_sim/state")
    check(st["sync_status"] == "In Sync", st["sync_status"])
    check(st["saves"] >= 1, "saved")
    profs = [p["fullPath"] for p in st["virtual"]["/Common/vs1"]["profiles"]]
    check(sorted(profs) == ["/Common/http", "/Common/tcp", "/Common/www_clientssl"], profs)
    r = dev("cert-get")
    check(r["serial"] == serial1, "cert-get serial %s" % r)
    check(sorted(r["names"]) == sorted(names), r["names"])
    check(r["key_desc"] == "rsa:2048", r["key_desc"])
    check(sorted(r["bound"]) == ["/Common/vs1", "/Common/vs2"], r["bound"])
    refs_old = write(d, "refs1.json", r["refs"] + "\n")
    # http-01 on the port-80 virtual, then withdrawn without a trace
    dev("http01-publish tok123 tok123.keyauth")
    with socket.create_connection(("127.0.0.1", ready["vservers"]["vs80"]), timeout=5) as s:
        s.sendall(b"GET /.well-known/acme-challenge/tok123 HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = s.recv(4096).decode()
    check(resp.startswith("HTTP/1.1 200") and resp.endswith("tok123.keyauth"), resp)
    dev("http01-withdraw tok123")
    st = sim_get(u0, "/_sim/state")
    check(not st["rule"] and not st["datagroup"] and not st["virtual"]["/Common/vs80"].get("rules"),
          "http-01 objects left behind")
    inv = dev("inventory")["items"]
    leaf = [i for i in inv if i["name"] == "/Common/www_20240101T000000Z.crt"]
    check(leaf and sorted(leaf[0]["bound"]) == ["/Common/vs1", "/Common/vs2"], inv)
    dev.close()

    # --- a new process: the old key's passphrase is gone; renewal with EC P-384 ---
    dev = Devctl(spec(d, ready, bundle, {"type": "ecdsa", "curve": "P-384"}, "spec2.json"),
                 os.path.join(d, "devctl2.log"))
    dev("open")
    # the passphrase died with the process; the profile holds the key (and
    # its passphrase), so that key alone stays usable for finishing its run
    check(dev("key-usable " + key1)["usable"] is True, "a key the profile holds stays usable")
    check(dev("key-usable " + key1.replace(".key", "-other.key"))["usable"] is False,
          "a key neither in memory nor in the profile is not usable")
    r = dev("key-create 20240301T000000Z")
    key2, csr2 = r["key_ref"], r["csr_pem"]
    crt2, serial2 = ca.sign(csr2, names)
    ref2 = write(d, "install2.json", dev("install %s %s %s" % (key2, crt2, ca.int_))["install_ref"] + "\n")
    nreq = len(sim_get(u0, "/_sim/requests"))
    dev("activate %s %s renew" % (key2, ref2))
    reqs = sim_get(u0, "/_sim/requests")[nreq:]
    writes = [q for q in reqs if q["method"] != "GET"]
    check(any(q["path"].startswith("/mgmt/tm/transaction/") and q["method"] == "PATCH" for q in writes),
          "renewal must commit a transaction: %s" % writes)
    check(not any("/profiles" in q["path"] and q["method"] in ("DELETE", "POST") for q in writes),
          "renewal must not detach/attach the profile: %s" % writes)
    dev("save")
    for vs in ("vs1", "vs2"):
        got = served_serial(ready["vservers"][vs], "www.example.com", ca.root)
        check(got == serial2, "%s serves %s after renewal, want %s" % (vs, got, serial2))
    check(dev("cert-get")["key_desc"] == "ecdsa:P-384", "EC key in use")
    # retire must know what the profile serves now before it deletes: when
    # the profile cannot be read, nothing is deleted
    sim_post(u0, "/_sim/fault", {"method": "GET", "path": "/mgmt/tm/ltm/profile/client-ssl",
                                 "status": 500, "count": 10})
    r = dev("retire " + refs_old, ok=False)
    sim_post(u0, "/_sim/fault", {"clear": True})
    check(r.get("ok") is False and "cannot tell what profile" in r.get("error", ""),
          "retire without the profile's answer fails: %s" % r)
    st = sim_get(u0, "/_sim/state")
    check("/Common/www_20240101T000000Z.crt" in st["cert"] and key1 in st["key"],
          "and deleted nothing")
    dev("retire " + refs_old)
    st = sim_get(u0, "/_sim/state")
    for gone in ("/Common/www_20240101T000000Z.crt", "/Common/www_20240101T000000Z_chain.crt"):
        check(gone not in st["cert"], "retired " + gone)
    check(key1 not in st["key"], "old key retired")
    check("/Common/www_20240101T000000Z" not in st["csr"], "old CSR retired")
    check(key2 in st["key"], "new key kept")
    # a key made and discarded
    k3 = dev("key-create 20240401T000000Z")["key_ref"]
    dev("key-discard " + k3)
    st = sim_get(u0, "/_sim/state")
    check(k3 not in st["key"] and "/Common/www_20240401T000000Z" not in st["csr"], "discarded")
    dev.close()

    st = sim_get(u0, "/_sim/state")
    check(st["standby_writes"] == [], "writes reached the standby: %s" % st["standby_writes"])
    check(st["tokens"] == 0, "tokens left behind: %d" % st["tokens"])
    secrets = sim_get(u0, "/_sim/passphrases")
    check(len(secrets) == 3 and all(len(s) >= 43 for s in secrets), "three fresh passphrases")
    for root, _, files in os.walk(simdir):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            for s in secrets:
                check(s.encode() not in data, "passphrase found in " + os.path.join(root, f))
    for log in ("devctl1.log", "devctl2.log"):
        data = open(os.path.join(d, log), "rb").read()
        check(len(data) > 0, log + " is empty: trace level expected")
        check(b"AddressSanitizer" not in data and b"runtime error:" not in data,
              log + ": sanitizer report:\n" + data.decode(errors="replace")[-3000:])
        for s in secrets + [PW]:
            check(s.encode() not in data, "secret found in " + log)


if __name__ == "__main__":
    main()
