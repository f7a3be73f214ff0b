"""Virtual server listeners: TLS with the client-ssl profile SNI picks, or
plain HTTP answering ACME http-01 from a data group."""

import os
import re
import socket
import ssl
import tempfile
import threading
import urllib.parse

from .names import split_fp


class VirtualListener:
    """TLS on 127.0.0.1 serving the client-ssl profiles attached to one
    virtual: SNI picks the profile by serverName, else the sniDefault one,
    else the only one; no client-ssl profile → handshake failure."""

    def __init__(self, sim, vfp, tls, port=0):
        self.sim = sim
        self.vfp = vfp
        self.tls = tls
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.loop, daemon=True).start()

    def profile_ctx(self, pfp, prof):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        st = self.sim.state
        n = 0
        for e in prof.get("certKeyChain", []):
            cert, key = st["cert"].get(e["cert"]), st["key"].get(e["key"])
            if cert is None or key is None:
                continue
            chain = ""
            if e.get("chain") not in (None, "none") and e["chain"] in st["cert"]:
                chain = open(st["cert"][e["chain"]]["_file"]).read()
            fd, tmp = tempfile.mkstemp(dir=os.path.join(self.sim.dir, "run"), suffix=".pem")
            with os.fdopen(fd, "w") as f:
                f.write(open(cert["_file"]).read().strip() + "\n" + chain)
            try:
                ctx.load_cert_chain(tmp, key["_file"], password=e.get("_passphrase") or "")
                n += 1
            finally:
                os.unlink(tmp)
        return ctx if n else None

    def choose(self, server_name):
        with self.sim.lock:
            st = self.sim.state
            v = st["virtual"].get(self.vfp)
            profs = [(p["fullPath"], st["clientssl"][p["fullPath"]]) for p in v["profiles"]
                     if p["fullPath"] in st["clientssl"]]
            if not profs:
                return None
            pick = None
            if server_name:
                for pfp, p in profs:
                    sn = p.get("serverName", "none")
                    if sn == server_name or (sn.startswith("*.") and
                                             server_name.split(".", 1)[-1] == sn[2:]):
                        pick = (pfp, p)
                        break
            if pick is None:
                d = [x for x in profs if x[1].get("sniDefault") == "true"]
                pick = d[0] if d else (profs[0] if len(profs) == 1 else None)
            if pick is None:
                return None
            return self.profile_ctx(*pick)

    def loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        conn.settimeout(10)
        try:
            if self.tls:
                base = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                chosen = {}

                def cb(sslobj, name, _ctx):
                    c = self.choose(name)
                    if c is None:
                        return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
                    sslobj.context = c
                    chosen["ok"] = True
                    return None
                base.sni_callback = cb
                conn = base.wrap_socket(conn, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            line = data.split(b"\r\n", 1)[0].decode(errors="replace").split()
            status, body = 404, "not found\n"
            if len(line) >= 2:
                status, body = self.http_answer(line[1])
            resp = ("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                    "Connection: close\r\n\r\n%s" % (status, "OK" if status == 200 else "Not Found",
                                                     len(body.encode()), body))
            conn.sendall(resp.encode())
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def http_answer(self, target):
        prefix = "/.well-known/acme-challenge/"
        path = urllib.parse.urlsplit(target).path
        if not path.startswith(prefix):
            return 200, "virtual %s\n" % self.vfp
        token = path[len(prefix):]
        with self.sim.lock:
            st = self.sim.state
            v = st["virtual"].get(self.vfp, {})
            for r in v.get("rules", []):
                text = st["rule"].get(r, {}).get("apiAnonymous", "")
                if "acme-challenge" not in text:
                    continue
                for dfp, dg in st["datagroup"].items():
                    short = split_fp(dfp)[1]
                    if re.search(r"(?<![\w.-])(%s|%s)(?![\w.-])" % (re.escape(dfp), re.escape(short)), text):
                        for rec in dg.get("records", []):
                            if rec["name"] == token:
                                return 200, rec["data"]
        return 404, "not found\n"
