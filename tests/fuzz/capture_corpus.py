"""Refreshes the seed corpora of tests/fuzz/corpus/ from real answers:
runs lbcert at trace level against the simulators and Pebble (enrollment,
a second run, inventory, refused logins) and files every response body by
the parser that reads it. Adds files, never removes any (regression inputs
stay). Usage: python3 tests/fuzz/capture_corpus.py [LBCERT_BIN]"""
import base64
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
if len(sys.argv) > 1:
    os.environ["LBCERT_BIN"] = os.path.abspath(sys.argv[1])

import harness  # noqa: E402
from harness import BigipSim, CitrixSim, Lab, ScmSim  # noqa: E402
from pebble import Pebble  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
# The status tables of fuzz_scm.c and fuzz_acme.c: the first input byte.
SCM_STATUS = [200, 400, 401, 403, 404, 405, 500, 503]
ACME_STATUS = [200, 201, 400, 401, 403, 404, 429, 500]
EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
added = {}


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if not data:
        return
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        added[target] = added.get(target, 0) + 1


def responses(stderr):
    """(client name, status, headers, body) of every traced response."""
    for line in stderr.splitlines():
        try:
            msg = json.loads(line)["msg"]
        except (ValueError, KeyError):
            continue
        m = re.match(r"http (\S+): response\n< (\d+)\n", msg)
        if not m:
            continue
        rest = msg[m.end():]
        head, _, body = rest.partition("\n\n")
        hdrs = {}
        for h in head.splitlines():
            if h.startswith("< ") and ": " in h:
                k, v = h[2:].split(": ", 1)
                hdrs.setdefault(k.lower(), []).append(v)
        yield m.group(1), int(m.group(2)), hdrs, body


def status_byte(table, status):
    return bytes([table.index(status) if status in table else 0])


def strings(j):
    if isinstance(j, str):
        yield j
    elif isinstance(j, dict):
        for v in j.values():
            yield from strings(v)
    elif isinstance(j, list):
        for v in j:
            yield from strings(v)


def file_run(kinds, p):
    for name, status, hdrs, body in responses(p.stderr):
        kind = kinds.get(name)
        for v in hdrs.get("link", []) + hdrs.get("retry-after", []):
            put("headers", v)
        if "-----BEGIN" in body:
            put("pem", body)
        if kind == "nitro":
            put("nitro", body)
            try:
                for s in strings(json.loads(body)):
                    if len(s) > 16 and re.fullmatch(r"[A-Za-z0-9+/=\s]+", s):
                        put("base64", s)
                        dec = base64.b64decode(s + "===")
                        if b"-----BEGIN" in dec:
                            put("pem", dec)
            except ValueError:
                pass
        elif kind == "icontrol":
            put("icontrol", body)
        elif kind == "scm":
            put("scm", status_byte(SCM_STATUS, status) + body.encode())
        elif kind == "acme":
            put("acme", status_byte(ACME_STATUS, status) + body.encode())
            try:
                for s in strings(json.loads(body)):
                    if re.fullmatch(r"[A-Za-z0-9_-]{16,}", s):
                        put("base64", s)
            except ValueError:
                pass


def file_config(lab):
    parts = []
    for rel in ("lbcert.yaml", "credentials.yaml"):
        with open(os.path.join(lab.conf, rel)) as f:
            parts.append(f.read())
    pdir = os.path.join(lab.conf, "profiles")
    for name in sorted(os.listdir(pdir))[:2]:
        with open(os.path.join(pdir, name)) as f:
            parts.append(f.read())
    put("config", "\n#%%\n".join(parts))


def lab_run(lab, *args):
    # -l and --log-format are global options: they go before the command
    return harness.subprocess.run(
        [harness.BIN, "-c", lab.conf, "--state-dir", lab.state, "-l", "trace",
         "--log-format", "json", *args], capture_output=True, text=True, timeout=300)


def adc_acme(w):
    adc = CitrixSim(w, vservers=("vs_www",), http_vservers=("vs_http",))
    try:
        with Pebble(w, eab={EAB[0]: EAB[1]}) as pebble:
            lab = Lab(w)
            lab.add_citrix("adc1", adc)
            lab.add_acme("pebble", pebble, eab=EAB)
            lab.write_config()
            lab.profile("www", device="adc1", ca="pebble", common_name="www.lbcert.test",
                        subject_alt_names=["www.lbcert.test", "api.lbcert.test"],
                        key={"type": "ecdsa", "curve": "P-256"}, subject=SUBJECT,
                        vservers=[{"name": "vs_www"}])
            file_config(lab)
            kinds = {"adc1": "nitro", "pebble": "acme"}
            for args in (("run",), ("run",), ("inventory",), ("run", "--force", "www"),
                         ("revoke", "www")):
                file_run(kinds, lab_run(lab, *args))
            put("pem", pebble.root_pem())
            put("pem", pebble.intermediate_pem())
            lab.creds["adc1"]["password"] = "wrong-password"
            lab.creds["pebble"] = {"eab_kid": "kid-unknown", "eab_hmac_key": EAB[1]}
            lab.write_config()
            import shutil
            shutil.rmtree(lab.state, ignore_errors=True)
            file_run(kinds, lab_run(lab, "run"))
            file_run(kinds, lab_run(lab, "check"))
    finally:
        adc.stop()


def bigip_scm(w):
    big = BigipSim(w, virtuals=("vs_www",))
    scm = ScmSim(w, pending=1)
    try:
        lab = Lab(w)
        lab.add_bigip("big1", big)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("www", device="big1", ca="scm", common_name="www.example.com",
                    subject_alt_names=["www.example.com", "api.example.com"],
                    key={"type": "rsa", "size": 2048},
                    subject={"organization": "Example Ltd", "country": "GB"},
                    vservers=[{"name": "vs_www"}],
                    client_ssl={"parent": "/Common/clientssl", "profile": "www_clientssl"})
        file_config(lab)
        kinds = {"big1": "icontrol", "scm": "scm"}
        for args in (("run",), ("run",), ("inventory",), ("run", "--force", "www"),
                     ("revoke", "www")):
            file_run(kinds, lab_run(lab, *args))
        lab.creds["big1"]["password"] = "wrong-password"
        lab.creds["scm"]["password"] = "wrong-password"
        lab.write_config()
        file_run(kinds, lab_run(lab, "check"))
        file_run(kinds, lab_run(lab, "run"))
    finally:
        big.stop()
        scm.stop()


def hand_written():
    for v in ("120", "0", "Wed, 21 Oct 2015 07:28:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
              "Sun Nov  6 08:49:37 1994", '<https://ca.example/cert/1/1>;rel="alternate"',
              '<https://ca.example/dir>;rel="index", </cert/2>; rel="alternate up" ,'
              ' <x>;rel=alternate'):
        put("headers", v)
    put("acme", bytes([2]) + json.dumps({
        "type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "not allowed",
        "status": 400, "subproblems": [{"type": "urn:ietf:params:acme:error:caa",
                                        "detail": "CAA forbids", "identifier":
                                        {"type": "dns", "value": "a.example"}}]}).encode())
    for s in ("", "Zg", "Zm8", "Zm9v", "Zm9vYg==", "-_-_", "+/+/", "a b\nc"):
        put("base64", s)
    examples = os.path.join(SRC, "examples")
    parts = []
    for rel in ("lbcert.yaml", "credentials.yaml", "profiles/www.yaml", "profiles/shop.yaml"):
        with open(os.path.join(examples, rel)) as f:
            parts.append(re.sub(r"@([A-Za-z_]+)@", placeholder, f.read()))
    put("config", "\n#%%\n".join(parts))


def placeholder(m):
    """What the demo puts in place of examples/' @NAME@."""
    name = m.group(1)
    if name.endswith("_URL"):
        return "https://127.0.0.1:8443"
    if name.endswith("_PEER"):
        return "https://127.0.0.1:8444"
    if name.endswith("_DIRECTORY"):
        return "https://127.0.0.1:14000/dir"
    if name.endswith("_CA"):
        return "/etc/lbcert/ca.pem"
    if name.startswith("CHECK_"):
        return "127.0.0.1:443"
    return "secret-" + name.lower()


def main():
    hand_written()
    for fn in (adc_acme, bigip_scm):
        fn(harness.workdir("fuzz-corpus-" + fn.__name__))
    for t in sorted(added):
        print(f"{t}: {added[t]} new", flush=True)


if __name__ == "__main__":
    main()
