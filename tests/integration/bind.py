"""BIND 9 (Debian `bind9`) on loopback for dns-01 tests.

    from bind import Bind
    with Bind(tmpdir, zones={"lbcert.test": ZONE_TEXT}) as ns:
        ns.address       # "127.0.0.1:PORT", for Pebble(dns_server=...)
        ns.port, ns.key_name, ns.secret, ns.algorithm
        ns.txt("_acme-challenge.lbcert.test")   # the TXT strings it serves
        ns.updates()     # update lines from named's log

named runs in the foreground (-g) as the test user on a free port of
127.0.0.1, primary for each zone, which takes RFC 2136 updates signed with
the one TSIG key (allow-update { key ...; }) and nothing else. A zone's
text may use {ns} for the server's address; the default zone has one NS,
ns1 → 127.0.0.1. Python 3 standard library + named and dig only.
"""
import base64
import os
import shutil
import subprocess
import time

from pebble import free_udp_port

NAMED = shutil.which("named") or "/usr/sbin/named"
DIG = shutil.which("dig") or "/usr/bin/dig"

DEFAULT_ZONE = """$TTL 60
@       IN SOA ns1 hostmaster 1 60 60 600 60
@       IN NS  ns1
ns1     IN A   127.0.0.1
"""


class Bind:
    def __init__(self, tmpdir, zones=None, key_name="lbcert-key", algorithm="hmac-sha256"):
        self.dir = os.path.join(tmpdir, "bind")
        self.zones = dict(zones or {"lbcert.test": DEFAULT_ZONE})
        self.key_name = key_name
        self.algorithm = algorithm
        self.secret = base64.b64encode(os.urandom(32)).decode()
        self.proc = None
        self.log = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_udp_port()
        self.address = f"127.0.0.1:{self.port}"
        zones = ""
        for name, text in self.zones.items():
            path = os.path.join(self.dir, name + ".zone")
            with open(path, "w") as f:
                f.write(text)
            zones += (f'zone "{name}" {{ type primary; file "{path}"; '
                      f'allow-update {{ key "{self.key_name}"; }}; }};\n')
        conf = f"""options {{
    directory "{self.dir}";
    pid-file "{self.dir}/named.pid";
    session-keyfile "{self.dir}/session.key";
    managed-keys-directory "{self.dir}";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    allow-query {{ any; }};
    notify no;
}};
controls {{ }};
logging {{
    channel main {{ stderr; severity info; print-time yes; }};
    category default {{ main; }};
}};
key "{self.key_name}" {{ algorithm {self.algorithm}; secret "{self.secret}"; }};
{zones}"""
        self.conf = os.path.join(self.dir, "named.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.out = open(os.path.join(self.dir, "named.out"), "w")
        self.proc = subprocess.Popen([NAMED, "-g", "-c", self.conf], cwd=self.dir,
                                     stdout=self.out, stderr=subprocess.STDOUT)
        end = time.time() + 20
        zone = next(iter(self.zones))
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"named exited with {self.proc.returncode}:\n"
                                   + self.output())
            if self._dig(zone, "SOA"):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("named not ready after 20 s:\n" + self.output())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.out is not None:
            self.out.close()
            self.out = None

    def output(self):
        text = ""
        try:
            with open(os.path.join(self.dir, "named.out")) as f:
                text = f.read()
        except OSError:
            pass
        return text

    def _dig(self, name, rtype):
        p = subprocess.run([DIG, "@127.0.0.1", "-p", str(self.port), "+norecurse", "+short",
                            "+time=1", "+tries=1", name, rtype],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            return []
        return [line for line in p.stdout.splitlines() if line and not line.startswith(";")]

    def txt(self, name):
        """The TXT strings named serves for name (quotes removed)."""
        return sorted(v.strip('"') for v in self._dig(name, "TXT"))

    def updates(self):
        """named's lines about updates (signer approved, adding, deleting, denied);
        with -g named logs to its standard output, whatever named.conf says."""
        return [line for line in self.output().splitlines()
                if "updat" in line or "signer" in line or "TSIG" in line or "tsig" in line]
