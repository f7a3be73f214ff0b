"""`openssl` with a key passphrase passed by environment, never on the
command line."""

import hashlib
import os
import re
import ssl
import subprocess
import tempfile


class OsslError(Exception):
    pass


def openssl(args, secret=None, input=None):
    env = dict(os.environ)
    if secret is not None:
        env["LBSIM_PASS"] = secret
    p = subprocess.run(["openssl"] + [str(a) for a in args], input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if p.returncode != 0:
        raise OsslError(p.stderr.decode(errors="replace").strip())
    return p.stdout


def passin(secret):
    return ["-passin", "env:LBSIM_PASS" if secret is not None else "pass:"]


def fingerprint(path):
    with open(path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def write_atomic(path, text):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


PEM_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\s*", re.S)
