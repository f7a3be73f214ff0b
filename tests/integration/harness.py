"""Shared pieces of the integration scenarios: start the simulators on
loopback, write an lbcert configuration, run the binary, look at what a
TLS client is served. Python 3 standard library only.

Each scenario file is a plain program: it builds a Lab, runs lbcert and
calls check(); the first failed expectation raises and the test fails.
"""
import contextlib
import json
import os
import signal
import ssl
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SRC = os.environ.get("LBCERT_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("LBCERT_BIN") or os.path.join(SRC, "build", "lbcert")
SIM = os.path.join(SRC, "sim")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class Failed(AssertionError):
    pass


def check(cond, msg, *detail):
    if not cond:
        extra = "\n".join(str(d) for d in detail)
        raise Failed(msg + ("\n" + extra if extra else ""))
    print("ok -", msg, flush=True)


def yaml_dump(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (strings JSON-quoted,
    which is valid YAML)."""
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:")
                out.append(yaml_dump(v, indent + 1))
            else:
                out.append(f"{pad}{k}: {scalar(v)}")
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, dict) and v:
                first, *rest = yaml_dump(v, indent + 1).split("\n")
                out.append(f"{pad}- {first.strip()}")
                out.extend(rest)
            else:
                out.append(f"{pad}- {scalar(v)}")
    return "\n".join(out)


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if v is None:
        return "null"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return json.dumps(str(v))


class Sim:
    """A simulator process (sim/<name>.py) with its ready.json."""

    def __init__(self, name, workdir, *args, subdir=None):
        self.dir = os.path.join(workdir, subdir or name)
        os.makedirs(self.dir, exist_ok=True)
        self.log = open(os.path.join(self.dir, "sim.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SIM, name + ".py"), "--dir", self.dir, *args],
            stdout=self.log, stderr=subprocess.STDOUT)
        ready = os.path.join(self.dir, "ready.json")
        deadline = time.time() + 60
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise Failed(f"simulator {name} exited: " + open(self.log.name).read()[-2000:])
            if time.time() > deadline:
                self.stop()
                raise Failed(f"simulator {name} not ready after 60 s")
            time.sleep(0.05)
        with open(ready) as f:
            self.ready = json.load(f)
        self.units = self.ready["units"]

    def url(self, unit=0):
        return self.units[unit]["url"]

    def ctl(self, path, body=None, unit=0):
        """GET (or POST body) a /_sim/ control endpoint."""
        u = self.units[unit]
        base = u["url"].split("/", 3)
        url = base[0] + "//" + base[2] + path
        ctx = ssl.create_default_context(cafile=u["ca_file"])
        ctx.check_hostname = False
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def requests(self, since=0, unit=0):
        """The simulator's request log (GET /_sim/requests), from entry since."""
        return self.ctl("/_sim/requests", unit=unit)[since:]

    def clear_requests(self, unit=0):
        self.ctl("/_sim/requests/clear", {}, unit=unit)

    def api(self, method, path, body=None, unit=0):
        """The product API itself (not /_sim/), as an administrator would
        call it by hand: (status, parsed JSON body or None)."""
        u = self.units[unit]
        base = u["url"].split("/", 3)
        ctx = ssl.create_default_context(cafile=u["ca_file"])
        ctx.check_hostname = False
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base[0] + "//" + base[2] + path, data=data, method=method,
                                     headers=dict(self.auth_headers(),
                                                  **{"Content-Type": "application/json"}))
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as ex:
            status, raw = ex.code, ex.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def auth_headers(self):
        return {}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def writes(reqs):
    """The requests of a simulator's log that it marks as changing the device."""
    return [r for r in reqs if r.get("write")]


def config_writes(reqs):
    """writes() less those that only open or close a session (NITRO login and
    logout, iControl REST token login): what changed the configuration."""
    return [r for r in writes(reqs)
            if not r["path"].split("?")[0].endswith(("/login", "/logout"))
            and "/authz/tokens/" not in r["path"] and "/authn/login" not in r["path"]]


def free_port():
    """A loopback port that nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def stopping(*procs):
    """Calls stop() on each of procs (simulators, Pebble, helper processes)
    when the block ends, however it ends."""
    try:
        yield
    finally:
        for p in procs:
            p.stop()


def served_cert(port, sni=None, host="127.0.0.1"):
    """DER of the leaf a TLS client is served at host:port, or None when
    the handshake fails (nothing bound)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname=sni) as t:
                return t.getpeercert(binary_form=True)
    except (ssl.SSLError, OSError):
        return None


# What a client that accepts only one key type offers: signature
# algorithms (TLS 1.3 and 1.2) and, for TLS 1.2, the cipher suites.
KEY_OFFER = {
    "rsa": ("RSA-PSS+SHA256:RSA-PSS+SHA384:RSA+SHA256:RSA+SHA384",
            "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"),
    "ecdsa": ("ECDSA+SHA256:ECDSA+SHA384",
              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"),
}


def served_for(port, key, sni=None, tls12=False, host="127.0.0.1"):
    """DER of the leaf served to an openssl client offering only key's
    ("rsa" or "ecdsa") signature algorithms (and, with tls12, only its
    cipher suites, over TLS 1.2); None when the handshake fails."""
    sigalgs, ciphers = KEY_OFFER[key]
    cmd = ["openssl", "s_client", "-connect", "%s:%d" % (host, port), "-sigalgs", sigalgs]
    cmd += ["-tls1_2", "-cipher", ciphers] if tls12 else ["-tls1_3"]
    cmd += ["-servername", sni] if sni else ["-noservername"]
    p = subprocess.run(cmd, input=b"", capture_output=True, timeout=20)
    out = p.stdout.decode(errors="replace")
    b, e = out.find("-----BEGIN CERTIFICATE-----"), out.find("-----END CERTIFICATE-----")
    if p.returncode != 0 or b < 0 or e < 0:
        return None
    return ssl.PEM_cert_to_DER_cert(out[b:e + len("-----END CERTIFICATE-----")] + "\n")


def key_type_of(cert):
    """"rsa" or "ecdsa": the public key type of a certificate."""
    text = cert_field(cert, "-text")
    return "ecdsa" if "id-ecPublicKey" in text else "rsa"


def cert_field(der_or_pem, *args):
    """openssl x509 output for a certificate (DER bytes or PEM str)."""
    if isinstance(der_or_pem, bytes):
        p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", *args],
                           input=der_or_pem, capture_output=True, check=True)
    else:
        p = subprocess.run(["openssl", "x509", "-noout", *args],
                           input=der_or_pem.encode(), capture_output=True, check=True)
    return p.stdout.decode().strip()


def serial_of(cert):
    """Lower-case hex serial without leading zeros, as lbcert prints it."""
    s = cert_field(cert, "-serial").split("=", 1)[1].lower().lstrip("0")
    return s or "0"


class Lab:
    """A config dir + state dir, and runs of the lbcert binary."""

    def __init__(self, workdir):
        self.work = workdir
        self.conf = os.path.join(workdir, "etc")
        self.state = os.path.join(workdir, "state")
        os.makedirs(os.path.join(self.conf, "profiles"), exist_ok=True)
        self.devices, self.cas, self.creds, self.defaults = {}, {}, {}, {}
        # Top-level keys of lbcert.yaml. A replaced certificate's objects are
        # retired at once unless a test asks for the keep time (rollback):
        # the tests that count what a renewal leaves on a device (the sweeps
        # among them) expect the replaced objects gone.
        self.main = {"keep_previous_hours": 0}

    def add_citrix(self, name, sim, peers=True, **extra):
        urls = [u["url"] for u in sim.units]
        d = {"type": "citrix-adc", "url": urls[0], "credentials": name,
             "tls": {"ca_file": sim.units[0]["ca_file"]}, "timeout_s": 10}
        if peers and len(urls) > 1:
            d["peers"] = urls[1:]
        d.update(extra)
        self.devices[name] = d
        self.creds[name] = {"username": sim.user, "password": sim.password}

    def add_bigip(self, name, sim, peers=True, **extra):
        urls = [u["url"] for u in sim.units]
        d = {"type": "f5-bigip", "url": urls[0], "credentials": name,
             "tls": {"ca_file": sim.units[0]["ca_file"]}, "timeout_s": 10,
             "partition": "Common"}
        if peers and len(urls) > 1:
            d["peers"] = urls[1:]
            d["sync_group"] = sim.ready["device_group"]
        d.update(extra)
        self.devices[name] = d
        self.creds[name] = {"username": sim.user, "password": sim.password}

    def add_scm(self, name, sim, **extra):
        c = {"type": "sectigo-scm", "url": sim.url(), "customer_uri": sim.customer_uri,
             "credentials": name, "org_id": sim.org_id, "cert_type": 224, "term": 365,
             "poll": {"interval_s": 1, "timeout_s": 10}, "ca_file": sim.units[0]["ca_file"]}
        c.update(extra)
        self.cas[name] = c
        self.creds[name] = {"login": sim.login, "password": sim.password}

    def add_acme(self, name, pebble, eab=None, **extra):
        """eab: (kid, hmac_key_b64url) or None."""
        c = {"type": "acme", "directory": pebble.directory, "credentials": name,
             "contact": ["mailto:pki@example.com"], "challenge": "none",
             "ca_file": pebble.ca_file}
        c.update(extra)
        self.cas[name] = c
        self.creds[name] = {"eab_kid": eab[0], "eab_hmac_key": eab[1]} if eab else {}

    def profile(self, name, **p):
        self.write(os.path.join("profiles", name + ".yaml"), yaml_dump(p))

    def write(self, rel, text, mode=0o644):
        path = os.path.join(self.conf, rel)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, mode)
        return path

    def write_config(self):
        main = dict(self.main)
        if self.defaults:
            main["defaults"] = self.defaults
        main["devices"] = self.devices
        main["cas"] = self.cas
        self.write("lbcert.yaml", yaml_dump(main))
        self.write("credentials.yaml", yaml_dump(self.creds) or "{}", mode=0o600)

    def run(self, *args, env=None, level="debug", timeout=300):
        e = dict(os.environ)
        e.update(env or {})
        cmd = [BIN, "-c", self.conf, "--state-dir", self.state, "-l", level, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=timeout)
        with open(os.path.join(self.work, "lbcert.log"), "a") as f:
            f.write(f"$ {' '.join(cmd)}\n[rc {p.returncode}]\n{p.stdout}{p.stderr}\n")
        return p

    def start(self, *args, level="debug"):
        """lbcert in the background (for kill tests)."""
        cmd = [BIN, "-c", self.conf, "--state-dir", self.state, "-l", level, *args]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def status(self):
        p = self.run("status", "--json")
        check(p.returncode == 0, "status --json exits 0", p.stderr)
        return {o["profile"]: o for o in json.loads(p.stdout)}

    def job_row(self, profile):
        """(step, key_ref, order_ref) of the profile's journaled job, or None
        (no job yet, no database yet, or the database busy)."""
        path = os.path.join(self.state, "lbcert.db")
        if not os.path.exists(path):
            return None
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05)
            try:
                return db.execute("SELECT step, key_ref, order_ref FROM jobs WHERE profile=?",
                                  (profile,)).fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            return None


def workdir(name):
    d = tempfile.mkdtemp(prefix=f"lbcert-{name}-")
    return d


def main(scenario):
    """Runs scenario(workdir) and turns a failure into exit status 1."""
    w = workdir(scenario.__name__)
    try:
        scenario(w)
    except Failed as e:
        print("FAILED:", e, file=sys.stderr)
        log = os.path.join(w, "lbcert.log")
        if os.path.exists(log):
            print(open(log).read()[-8000:], file=sys.stderr)
        sys.exit(1)
    print("passed", scenario.__name__)


class CitrixSim(Sim):
    def __init__(self, workdir, vservers=("vs1", "vs2"), ha=True, http_vservers=(),
                 password="nsroot-Pa55", subdir=None, http_ports=None, extra=()):
        self.user, self.password = "nsroot", password
        args = ["--user", self.user, "--password", password, *extra]
        if ha:
            args.append("--ha")
        for v in vservers:
            args += ["--vserver", v]
        for v in http_vservers:
            args += ["--http-vserver", v]
        for v, port in (http_ports or {}).items():
            args += ["--http-port", f"{v}={port}"]
        super().__init__("citrix_adc", workdir, *args, subdir=subdir)

    def port(self, vserver):
        return self.ready["vservers"][vserver]

    def auth_headers(self):
        return {"X-NITRO-USER": self.user, "X-NITRO-PASS": self.password}


def check_citrix_settled(adc):
    """The end state every Citrix run must leave: the running configuration
    saved, the HA secondary holding every SSL file of the primary, no
    propagated certkey command that lacked its files there, and no moment
    where an SSL vserver that served a certificate served none."""
    st = adc.ctl("/_sim/state")
    check(not st["unsaved"], "ADC: running configuration saved")
    check(st["files_in_sync"], "ADC: HA secondary has the primary's SSL files",
          st["files_missing_on_secondary"])
    check(not st["propagation_failures"], "ADC: no certkey command lacked its files on the "
          "secondary", st["propagation_failures"])
    check(not st["gaps"], "ADC: no vserver was left without a certificate", st["gaps"])


class BigipSim(Sim):
    def __init__(self, workdir, virtuals=("vs1", "vs2"), pair=True, http_virtuals=(),
                 password="admin-Pa55", device_group=None, partition=None, http_ports=None,
                 allow_bash=False, extra=(), subdir=None):
        self.user, self.password = "admin", password
        args = ["--user", self.user, "--password", password, *extra]
        if allow_bash:
            args.append("--allow-bash")
        if pair:
            args.append("--pair")
        for v in virtuals:
            args += ["--virtual", v]
        for v in http_virtuals:
            args += ["--http-virtual", v]
        for v, port in (http_ports or {}).items():
            args += ["--http-port", f"{v}={port}"]
        if partition:
            args += ["--partition", partition]
        if device_group:
            args += ["--device-group", device_group]
        super().__init__("bigip", workdir, *args, subdir=subdir)

    def port(self, virtual):
        return self.ready["vservers"][virtual]

    def auth_headers(self):
        import base64
        tok = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": "Basic " + tok}

    def check_settled(self, unit=0):
        """The end state every run that changed the unit must leave: running
        configuration saved, the pair In Sync, no CSR copy in the bulk
        directory, and no moment where a serving virtual served nothing."""
        st = self.ctl("/_sim/state", unit=unit)
        check(not st["unsaved"], "the running configuration is saved")
        check(st["sync_status"] in ("In Sync", "Standalone"), "the pair is in sync",
              st["sync_status"])
        check(not any(st["bulk"]), "no file is left in the bulk directory", st["bulk"])
        check(st["gaps"] == [], "no virtual was left without a certificate", st["gaps"])
        return st


class ScmSim(Sim):
    def __init__(self, workdir, pending=0, refuse_domain=None, password="scm-Pa55", extra=()):
        self.customer_uri, self.login, self.password = "example", "api-user", password
        self.org_id = 1234
        args = ["--customer-uri", self.customer_uri, "--login", self.login,
                "--password", password, "--org-id", str(self.org_id), "--pending", str(pending)]
        if refuse_domain:
            args += ["--refuse-domain", refuse_domain]
        args += list(extra)  # tenant options: --custom-field, --dcv-required, ...
        super().__init__("sectigo_scm", workdir, *args)
