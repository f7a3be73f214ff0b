"""TLS on each SSL vserver: the bound certkeys (SNI certkeys too) with their
linked chains, one RSA and one ECDSA side by side, rebuilt whenever the
configuration changes."""

import hashlib
import os
import socketserver
import ssl

import simlib

from .crypto import name_matches


class VserverTLS:
    """Builds (and caches per state generation) the SSLContexts a vserver
    serves: the default certkey plus SNI certkeys, each with its linked
    chain. Contexts are rebuilt whenever the state changes, so an update
    in place is seen by the next handshake."""

    def __init__(self, st):
        self.st = st
        self.cache = {}   # vsname -> (generation, base_ctx or None)

    def _pair_for(self, ck):
        """(chain file, key file, password, names) of a certkey: its
        certificate with the linked chain, the key as PEM."""
        st = self.st
        chain, seen, cur = [ck["info"]["pem"]], {ck["certkey"]}, ck
        while cur.get("linkcertkeyname") and cur["linkcertkeyname"] not in seen:
            cur = st.certkeys.get(cur["linkcertkeyname"])
            if cur is None:
                break
            seen.add(cur["certkey"])
            chain.append(cur["info"]["pem"])
        keypath = st.file_ref(ck["key"], "key")[1]
        with open(keypath, "rb") as f:
            keydata = f.read()
        sig = hashlib.sha256("".join(chain).encode() + keydata).hexdigest()[:24]
        certfile = os.path.join(st.run_dir, "chain-%s.pem" % sig)
        if not os.path.exists(certfile):
            with open(certfile, "w") as f:
                f.write("".join(chain))
        kf = keypath
        if not keydata.lstrip().startswith(b"-----"):
            kf = os.path.join(st.run_dir, "key-%s.pem" % sig)
            if not os.path.exists(kf):
                pem = simlib.openssl("pkey", "-inform", "DER", "-in", keypath)
                with open(kf, "wb") as f:
                    f.write(pem)
                os.chmod(kf, 0o600)
        return (certfile, kf, ck.get("passplain") or None,
                ck["info"]["sandns"] or [ck["info"]["cn"]])

    @staticmethod
    def _ctx(pairs):
        """One context holding every pair: with an RSA and an ECDSA pair,
        OpenSSL serves the one the client's signature algorithms and
        ciphers accept, as the appliance does. A fresh context per build:
        the SNI callback set on a vserver's default context must not leak
        into another vserver."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        for certfile, kf, pw, _ in pairs:
            ctx.load_cert_chain(certfile, kf, password=pw)
        return ctx

    def context(self, vsname):
        st = self.st
        with st.lock:
            c = self.cache.get(vsname)
            if c and c[0] == st.generation:
                return c[1]
            vs = st.vservers[vsname]
            default, sni = [], []
            for b in st.bindings:
                if b["vservername"] != vsname or b["ca"]:
                    continue
                ck = st.certkeys.get(b["certkeyname"])
                if ck is None or not ck.get("key"):
                    continue
                try:
                    pair = self._pair_for(ck)
                    self._ctx([pair])
                except (ssl.SSLError, OSError, simlib.OpensslError):
                    continue  # a broken pair serves nothing, like a DOWN vserver
                (sni if b["snicert"] else default).append(pair)
            use_sni = st.snienable(vs) == "ENABLED" and sni
            if not default and not use_sni:
                base = None
            else:
                base = self._ctx(default)
                if use_sni:
                    table = list(sni)
                    built = {}

                    def cb(sock, server_name, _ctx, table=table, built=built):
                        if not server_name:
                            return None
                        # every SNI pair for the name: one per key type
                        hit = tuple(i for i, p in enumerate(table)
                                    if any(name_matches(n, server_name) for n in p[3]))
                        if hit:
                            if hit not in built:
                                built[hit] = self._ctx([table[i] for i in hit])
                            sock.context = built[hit]
                        return None
                    base.sni_callback = cb
            self.cache[vsname] = (st.generation, base)
            return base


class VserverListener(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name, tls):
        self.vsname, self.tls = name, tls
        super().__init__(("127.0.0.1", 0), VserverConn)

    def handle_error(self, request, client_address):
        pass


class VserverConn(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        ctx = srv.tls.context(srv.vsname)
        if ctx is None:
            return  # no certificate: the vserver is DOWN, handshake fails
        self.request.settimeout(5)
        try:
            s = ctx.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            body = ("vserver %s\n" % srv.vsname).encode()
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)
            try:
                s.unwrap()
            except (ssl.SSLError, OSError):
                pass
        except (ssl.SSLError, OSError):
            pass
        finally:
            s.close()
