"""The ACME client gets through faults within one run, against Pebble
behind the fault proxy (which keeps the Host header, so Pebble's URLs name
the proxy):

- 429 with a short Retry-After on newOrder: sent again, re-signed; with a
  Retry-After of an hour: the run fails and says when to try again;
- a 503 on a POST-as-GET (the order): read again;
- finalize's answer lost (stall past timeout_s): the order's state is read
  and the run goes on with that order, without finalizing twice;
- a certificate download that holds no certificate: downloaded again;
- a directory whose URLs point to another origin: refused, naming the URL;
  accepted once allow_origins names that origin.

Each case is one profile on its own vserver; every successful run issues
one certificate from one order."""
import json
import os

from faultproxy import Proxy, Tap, make_cert
from harness import CitrixSim, Lab, check, main, serial_of, served_cert, stopping, check_citrix_settled
from pebble import Pebble

EAB = ("kid-faults", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
VSERVERS = ("vs1", "vs2", "vs3", "vs4", "vs5", "vs6", "vs7")
TIMEOUT_S = 2


def posts(tap, n0, pattern):
    """(path, fault) of the POSTs since log index n0 whose path has pattern."""
    return [(e["path"], e.get("fault")) for e in tap.log[n0:]
            if e["method"] == "POST" and pattern in e["path"]]


def scenario(w):
    adc = CitrixSim(w, vservers=VSERVERS, ha=False)
    tap = Tap()
    proxy_ca, cert, key = make_cert(w)
    with stopping(adc):
        with Pebble(w, eab={EAB[0]: EAB[1]}, nonce_reject=0) as peb:
            proxy = Proxy(tap, "acme", f"https://127.0.0.1:{peb.port}", cert, key)
            lab = Lab(w)
            lab.add_citrix("adc1", adc)
            lab.add_acme("ca1", peb, eab=EAB, directory=proxy.url + "/dir", ca_file=proxy_ca,
                         timeout_s=TIMEOUT_S)
            lab.write_config()
            vs = iter(VSERVERS)

            def enroll(name, arm=None, expect_ok=True):
                v = next(vs)
                lab.profile(name, device="adc1", ca="ca1", common_name=f"{name}.lbcert.test",
                            subject=SUBJECT, vservers=[{"name": v}])
                n0 = len(tap.log)
                if arm:
                    tap.arm(**arm)
                p = lab.run("run", name)
                tap.disarm()
                if expect_ok:
                    check(p.returncode == 0, f"{name}: the run gets through", p.stdout,
                          p.stderr[-3000:])
                    check(tap.hit is not None, f"{name}: the fault was injected")
                    serial = lab.status()[name]["serial"]
                    check(serial_of(served_cert(adc.port(v))) == serial,
                          f"{name}: {v} serves the new certificate")
                    check(len(posts(tap, n0, "/order-plz")) - (1 if arm and "order-plz" in
                          arm["match"] else 0) == 1, f"{name}: one order",
                          posts(tap, n0, "/order-plz"))
                return p, n0

            # 429 Retry-After: 1 on newOrder: the CA did not act; sent again
            p, n0 = enroll("rate-short", dict(action="status", status=429, match=r"^POST /order-plz",
                           headers=[("Retry-After", "1")], body=b'{"type": "urn:ietf:params:'
                           b'acme:error:rateLimited", "detail": "slow down", "status": 429}'))
            check([f for _, f in posts(tap, n0, "/order-plz")] == ["status", None],
                  "newOrder sent again after the 429", posts(tap, n0, "/order-plz"))

            # an hour: fail now, say when
            p, n0 = enroll("rate-long", dict(action="status", status=429, match=r"^POST /order-plz",
                           headers=[("Retry-After", "3600")], body=b'{"type": "urn:ietf:'
                           b'params:acme:error:rateLimited", "detail": "too many orders", '
                           b'"status": 429}'), expect_ok=False)
            check(p.returncode == 1, "a long Retry-After fails the run", p.returncode,
                  p.stderr[-2000:])
            check("try again after" in p.stderr and "too many orders" in p.stderr,
                  "the error says when to try again", p.stderr[-2000:])
            check(len(posts(tap, n0, "/order-plz")) == 1, "newOrder not sent again")

            # 503 on the order (POST-as-GET): read again
            p, n0 = enroll("order-503", dict(action="status", status=503, match=r"^POST /my-order/",
                           body=b'{"code": 503}'))

            # finalize's answer lost: the order tells; no second finalize
            p, n0 = enroll("finalize-lost", dict(action="stall", seconds=TIMEOUT_S + 1,
                           match=r"^POST /finalize-order/"))
            check(len(posts(tap, n0, "/finalize-order/")) == 1, "finalized once",
                  posts(tap, n0, "/finalize-order/"))

            # download cut short: downloaded again
            p, n0 = enroll("cert-malformed", dict(action="malformed", match=r"^POST /certZ/"))
            check(len(posts(tap, n0, "/certZ/")) == 2, "downloaded twice",
                  posts(tap, n0, "/certZ/"))

            # a directory naming another origin (Pebble itself, another port)
            d = json.loads(peb._get(peb.directory))
            check(str(peb.port) in d["newNonce"], "Pebble's own URLs name its port", d)
            p, n0 = enroll("foreign", dict(action="status", status=200, match=r"^GET /dir",
                           headers=[("Content-Type", "application/json")],
                           body=json.dumps(d).encode()), expect_ok=False)
            check(p.returncode != 0, "a directory pointing elsewhere fails the run",
                  p.stderr[-2000:])
            check(f"refusing URL {d['newOrder']}" in p.stderr,
                  "the error names the URL refused", p.stderr[-2000:])

            # the same directory, with that origin allowed by the configuration (a CA
            # of its own: the account it registers is named on Pebble's own origin)
            bundle = os.path.join(w, "proxy-and-pebble.pem")
            with open(bundle, "w") as f:
                f.write(open(proxy_ca).read() + open(peb.ca_file).read())
            lab.add_acme("ca2", peb, eab=EAB, directory=proxy.url + "/dir", ca_file=bundle,
                         timeout_s=TIMEOUT_S, allow_origins=[f"https://127.0.0.1:{peb.port}/"])
            lab.write_config()
            lab.profile("allowed", device="adc1", ca="ca2", common_name="allowed.lbcert.test",
                        subject=SUBJECT, vservers=[{"name": "vs7"}])
            n0 = len(tap.log)
            tap.arm(action="status", status=200, match=r"^GET /dir", body=json.dumps(d).encode())
            p = lab.run("run", "allowed")
            tap.disarm()
            check(p.returncode == 0, "with allow_origins the run gets through",
                  p.stdout, p.stderr[-3000:])
            check(serial_of(served_cert(adc.port("vs7"))) == lab.status()["allowed"]["serial"],
                  "and vs7 serves its certificate")
            check(posts(tap, n0, "/order-plz") == [],
                  "the order went to the allowed origin, not through the directory's")
            proxy.stop()
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
