"""A device that echoes the password in its error message: the error text
goes to stdout (run, check), the state database (last result) and status,
none of which passes through the log's redaction. The password must show
as [REDACTED] there, as it does in the log.

The "device" is a stand-in written here (TLS on loopback, NITRO login
refused with HTTP 401 and a message quoting the credentials), since no
well-behaved simulator repeats a password."""
import http.server
import json
import os
import socketserver
import ssl
import subprocess
import threading

from harness import Lab, check, main

PW = "Echoed-Adc-Pw-77231"


class Echo(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        login = body.get("login", {})
        msg = "Invalid username or password: %s/%s" % (login.get("username"),
                                                       login.get("password"))
        out = json.dumps({"errorcode": 354, "message": msg, "severity": "ERROR"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def scenario(w):
    key, crt = os.path.join(w, "echo.key"), os.path.join(w, "echo.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    srv = Server(("127.0.0.1", 0), Echo)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        lab = Lab(w)
        lab.devices["adc1"] = {"type": "citrix-adc",
                               "url": "https://127.0.0.1:%d" % srv.server_address[1],
                               "credentials": "adc1", "tls": {"ca_file": crt},
                               "timeout_s": 5}
        lab.creds["adc1"] = {"username": "nsroot", "password": PW}
        # never reached: the device fails first
        lab.cas["acme"] = {"type": "acme", "directory": "https://127.0.0.1:1/dir",
                           "credentials": "acme", "challenge": "none"}
        lab.creds["acme"] = {}
        lab.write_config()
        lab.profile("www", device="adc1", ca="acme", common_name="www.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1"}])

        p = lab.run("run")
        check(p.returncode == 1 and "login as nsroot refused" in p.stdout,
              "the run fails with the device's refusal", p.returncode, p.stdout, p.stderr)
        check("[REDACTED]" in p.stdout, "the echoed password shows as [REDACTED]", p.stdout)
        check(PW not in p.stdout + p.stderr, "the password is not on stdout or stderr",
              p.stdout, p.stderr)
        s = lab.status()["www"]
        check(s["last_result"] == "failed" and "[REDACTED]" in (s["last_error"] or "") and
              PW not in json.dumps(s), "status shows the error without the password", s)
        with open(os.path.join(lab.state, "lbcert.db"), "rb") as f:
            check(PW.encode() not in f.read(), "the state database does not hold it")

        p = lab.run("check")
        check(p.returncode != 0 and "FAILED" in p.stdout and "[REDACTED]" in p.stdout and
              PW not in p.stdout + p.stderr, "check reports the device without the password",
              p.stdout, p.stderr)
    finally:
        srv.shutdown()


if __name__ == "__main__":
    main(scenario)
