"""Pebble (Debian package `pebble`, v2.4.0) on loopback for integration tests.

    from pebble import Pebble
    with Pebble(tmpdir, eab={"kid-1": HMAC_B64URL}) as p:
        p.directory      # https://127.0.0.1:PORT/dir
        p.ca_file        # PEM bundle that verifies the ACME and management listeners
        p.management     # https://127.0.0.1:PORT (roots/intermediates)
        p.root_pem(), p.intermediate_pem(), p.cert_status(serial_hex)

Pebble ships no TLS certificate in the Debian package, so a throw-away CA
and a 127.0.0.1/localhost server certificate are made with the openssl
command. Every listener binds 127.0.0.1 on a free port. PEBBLE_WFE_NONCEREJECT
stays at its default (5 %) unless nonce_reject is given, so clients exercise
their badNonce retry. Python 3 standard library + openssl only.

Upstream Pebble 2.7.0 (renewal information, certificate profiles) is used
when binary=PEBBLE_27 is given; pebble_27_or_skip() returns that path or
ends the test as skipped (exit 77) where the binary is absent.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

from harness import free_port

PEBBLE_BIN = shutil.which("pebble") or "/usr/bin/pebble"
_SRC = os.environ.get("LBCERT_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
PEBBLE_27 = os.path.normpath(os.path.join(_SRC, "..", "shared", "pebble", "pebble-2.7.0"))


def pebble_27_or_skip():
    """The Pebble 2.7.0 binary, or exit 77 (meson: skipped) without it."""
    if not os.access(PEBBLE_27, os.X_OK):
        print(f"SKIP: Pebble 2.7.0 (renewal information, profiles) not found at {PEBBLE_27}")
        sys.exit(77)
    return PEBBLE_27


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_tls(d):
    """CA + server certificate for 127.0.0.1 and localhost; returns
    (ca_file, cert_file, key_file)."""
    os.makedirs(d, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=lbcert test Pebble TLS CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
             cwd=d)
    return (os.path.join(d, "ca.pem"), os.path.join(d, "server.pem"),
            os.path.join(d, "server.key"))


class Pebble:
    """Context manager running one Pebble process.

    eab: {kid: hmac_key_b64url} → externalAccountBindingRequired with
    those keys (None or {}: no EAB). always_valid sets
    PEBBLE_VA_ALWAYS_VALID=1 (challenges still have to be answered with a
    POST). http_port is where Pebble's VA would fetch http-01 tokens.
    dns_server "host:port" is passed as -dnsserver. env adds or overrides
    PEBBLE_* variables (e.g. {"PEBBLE_ALTERNATE_ROOTS": "1"}). validity_s
    sets certificateValidityPeriod (seconds) for short-lived certificates.
    binary: the Pebble to run (default Debian's); profiles: Pebble 2.7's
    {"NAME": {"description": ..., "validityPeriod": seconds}}.
    """

    def __init__(self, tmpdir, eab=None, always_valid=True, http_port=None,
                 dns_server=None, nonce_reject=None, authz_reuse=None, env=None,
                 chain_length=None, validity_s=None, binary=None, profiles=None):
        self.dir = os.path.join(tmpdir, "pebble")
        self.eab = dict(eab or {})
        self.always_valid = always_valid
        self.http_port = http_port or free_port()
        self.dns_server = dns_server
        self.nonce_reject = nonce_reject
        self.authz_reuse = authz_reuse
        self.chain_length = chain_length
        self.validity_s = validity_s
        self.binary = binary or PEBBLE_BIN
        self.profiles = profiles
        self.extra_env = dict(env or {})
        self.proc = None
        self.log = None

    # -- lifecycle --

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.ca_file, cert, key = make_tls(os.path.join(self.dir, "tls"))
        self.port = free_port()
        self.mgmt_port = free_port()
        cfg = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": cert,
            "privateKey": key,
            "httpPort": self.http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(self.eab),
            "externalAccountMACKeys": self.eab,
        }}
        if self.validity_s is not None:
            cfg["pebble"]["certificateValidityPeriod"] = self.validity_s
        if self.profiles is not None:
            cfg["pebble"]["profiles"] = self.profiles
        self.config = os.path.join(self.dir, "pebble-config.json")
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("PEBBLE_"):
                del env[k]
        env["PEBBLE_VA_NOSLEEP"] = "1"
        if self.always_valid:
            env["PEBBLE_VA_ALWAYS_VALID"] = "1"
        if self.nonce_reject is not None:
            env["PEBBLE_WFE_NONCEREJECT"] = str(self.nonce_reject)
        if self.authz_reuse is not None:
            env["PEBBLE_AUTHZREUSE"] = str(self.authz_reuse)
        if self.chain_length is not None:
            env["PEBBLE_CHAIN_LENGTH"] = str(self.chain_length)
        env.update(self.extra_env)
        args = [self.binary, "-config", self.config]
        if self.dns_server:
            args += ["-dnsserver", self.dns_server]
        self.log_path = os.path.join(self.dir, "pebble.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, cwd=self.dir, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.directory = f"https://127.0.0.1:{self.port}/dir"
        self.management = f"https://127.0.0.1:{self.mgmt_port}"
        self.ctx = ssl.create_default_context(cafile=self.ca_file)
        self._wait_ready()

    def _wait_ready(self, timeout=20):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pebble exited with {self.proc.returncode}:\n"
                                   + self.log_text())
            try:
                d = json.loads(self._get(self.directory))
                if "newAccount" in d:
                    self._get(self.management + "/roots/0")
                    return
            except (OSError, ValueError, urllib.error.URLError) as e:
                last = e
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pebble not ready after {timeout}s: {last}\n" + self.log_text())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def log_text(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    # -- management interface --

    def _get(self, url):
        with urllib.request.urlopen(url, context=self.ctx, timeout=5) as r:
            return r.read().decode()

    def root_pem(self, n=0):
        return self._get(f"{self.management}/roots/{n}")

    def intermediate_pem(self, n=0):
        return self._get(f"{self.management}/intermediates/{n}")

    def cert_status(self, serial_hex):
        """{"Status": "Valid"|"Revoked", "Reason": ..., ...} of a certificate."""
        return json.loads(self._get(f"{self.management}/cert-status-by-serial/{serial_hex}"))


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeDNS:
    """pebble-challtestsrv as a DNS server only, answering 127.0.0.1 for
    every A query (and nothing for AAAA), so that Pebble's VA reaches
    http-01 tokens on loopback. Pass .address as Pebble(dns_server=...)."""

    def __init__(self, tmpdir):
        self.dir = os.path.join(tmpdir, "challtestsrv")
        self.proc = None

    def __enter__(self):
        os.makedirs(self.dir, exist_ok=True)
        port = free_udp_port()
        self.address = f"127.0.0.1:{port}"
        self.log = open(os.path.join(self.dir, "challtestsrv.log"), "w")
        self.proc = subprocess.Popen(
            [shutil.which("pebble-challtestsrv") or "/usr/bin/pebble-challtestsrv",
             "-dns01", self.address, "-http01", "", "-https01", "", "-tlsalpn01", "",
             "-management", f"127.0.0.1:{free_port()}", "-defaultIPv4", "127.0.0.1",
             "-defaultIPv6", ""],
            stdout=self.log, stderr=subprocess.STDOUT)
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise RuntimeError("pebble-challtestsrv exited")
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return False
