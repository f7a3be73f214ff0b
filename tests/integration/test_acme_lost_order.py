"""A newOrder whose answer is lost is taken over, not ordered again, where
the CA lists the account's orders (RFC 8555 7.1.2.1; Pebble 2.7.0).

A loopback TLS proxy in front of Pebble passes every request through
(with its Host header, so Pebble's URLs and JWS checks name the proxy) and,
once, lets newOrder reach Pebble but drops the connection instead of
answering. The next run finds that pending order in the account's orders
list and finishes it: one order, one finalize, one certificate, exit 0.
Skipped (exit 77) when ../shared/pebble/pebble-2.7.0 is absent."""
import http.client
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pebble as pebble_mod
from harness import (CitrixSim, Lab, check_citrix_settled, check, main, serial_of, served_cert,
                     stopping)
from pebble import Pebble

ROOT = os.environ.get("LBCERT_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PEBBLE27 = os.path.join(ROOT, "..", "shared", "pebble", "pebble-2.7.0")
SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


class Proxy:
    def __init__(self, pebble):
        self.lock = threading.Lock()
        self.drop_next = None   # path whose next answer is lost
        self.log = []           # (method, path, status or "dropped")
        up_ctx = ssl.create_default_context(cafile=pebble.ca_file)
        proxy = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def relay(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                up = http.client.HTTPSConnection("127.0.0.1", pebble.port, context=up_ctx,
                                                 timeout=30)
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("connection", "content-length")}
                up.request(self.command, self.path, body=body, headers=hdrs)
                r = up.getresponse()
                data = r.read()
                with proxy.lock:
                    drop = proxy.drop_next is not None and self.command == "POST" and \
                        self.path == proxy.drop_next
                    if drop:
                        proxy.drop_next = None
                    proxy.log.append((self.command, self.path, "dropped" if drop else r.status))
                up.close()
                if drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "content-length", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_HEAD = relay

        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        d = os.path.join(pebble.dir, "tls")
        tls.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))

        class S(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, addr = self.socket.accept()
                return tls.wrap_socket(sock, server_side=True), addr

        self.srv = S(("127.0.0.1", 0), H)
        self.url = "https://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def count(self, path_prefix, status=None):
        with self.lock:
            return len([x for x in self.log if x[0] == "POST" and x[1].startswith(path_prefix)
                        and (status is None or x[2] == status)])

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def scenario(w):
    pebble_mod.PEBBLE_BIN = PEBBLE27
    adc = CitrixSim(w, vservers=("vs1",), ha=False)
    with stopping(adc):
        with Pebble(w) as peb:
            proxy = Proxy(peb)
            try:
                lab = Lab(w)
                lab.add_citrix("adc1", adc)
                lab.add_acme("pebble", peb, directory=proxy.url + "/dir")
                lab.write_config()
                lab.profile("www", device="adc1", ca="pebble", common_name="www.lbcert.test",
                            subject_alt_names=["www.lbcert.test", "api.lbcert.test"],
                            subject=SUBJECT, vservers=[{"name": "vs1"}])
                d = json.loads(peb._get(peb.directory))
                new_order = "/" + d["newOrder"].split("/", 3)[3]
                finalize = "/finalize-order/"

                proxy.drop_next = new_order
                p = lab.run("run")
                check(p.returncode != 0, "the run whose newOrder answer was lost fails",
                      p.stdout, p.stderr[-2000:])
                check(proxy.count(new_order, "dropped") == 1 and proxy.count(new_order) == 1,
                      "Pebble took that one newOrder", proxy.log)

                p = lab.run("run")
                check(p.returncode == 0 and "1 enrolled" in p.stdout,
                      "the next run finishes the enrollment", p.stdout, p.stderr[-3000:])
                check("taking over order" in p.stderr, "it took over the lost order",
                      p.stderr[-3000:])
                check(proxy.count(new_order) == 1, "no second newOrder", proxy.log)
                check(proxy.count(finalize) == 1, "one finalize", proxy.log)
                st = lab.status()["www"]
                check(serial_of(served_cert(adc.port("vs1"))) == st["serial"],
                      "vs1 serves the certificate")
                check(peb.cert_status(st["serial"])["Status"] == "Valid", "Pebble issued it")
                check_citrix_settled(adc)
            finally:
                proxy.stop()


if __name__ == "__main__":
    if not os.path.exists(PEBBLE27):
        print("SKIP: %s not found (Pebble 2.7.0 lists account orders; Debian's 2.4.0 "
              "does not)" % os.path.normpath(PEBBLE27))
        sys.exit(77)
    main(scenario)
