"""Secrets (passwords, tokens, BIG-IP key passphrases) live in lbcert's
memory, so the process never leaves a core file: its core size limit is 0
whatever it inherited, and it is not dumpable (no other process of its
user may read its memory). Checked on runs that are waiting on a device
that accepts the connection and never answers."""
import os
import resource
import socket
import subprocess

from harness import BIN, Lab, check, main


def scenario(w):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    lab = Lab(w)
    lab.devices["adc1"] = {"type": "citrix-adc", "url": f"https://127.0.0.1:{silent.getsockname()[1]}",
                           "credentials": "adc1", "tls": {"insecure": True}, "timeout_s": 20}
    lab.creds["adc1"] = {"username": "nsroot", "password": "core-Pa55"}
    lab.cas["scm"] = {"type": "sectigo-scm", "url": "https://127.0.0.1:1", "customer_uri": "x",
                      "credentials": "scm", "org_id": 1, "cert_type": 224, "term": 365}
    lab.creds["scm"] = {"login": "api", "password": "scm-Pa55"}
    lab.write_config()
    lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                vservers=[{"name": "vs1"}])

    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    inherit = hard if hard != resource.RLIM_INFINITY else 1 << 30
    check(inherit > 0, "the test can hand lbcert a non-zero core limit")
    env = dict(os.environ)
    # AddressSanitizer would otherwise set the limit itself
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":disable_coredump=0").lstrip(":")
    proc = subprocess.Popen(
        [BIN, "-c", lab.conf, "--state-dir", lab.state, "run"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (inherit, hard)))
    try:
        silent.settimeout(15)
        conn, _ = silent.accept()
        with open(f"/proc/{proc.pid}/limits") as f:
            line = next(l for l in f if l.startswith("Max core file size"))
        check(line.split()[4:6] == ["0", "0"], "lbcert runs with a core size limit of 0", line)
        conn.close()
    finally:
        proc.kill()
        proc.wait()

    # Not dumpable either: the kernel then gives /proc/PID/environ, mem, ...
    # to root instead of the process's user, so that another process of that
    # user cannot read its memory. Seen from a run as an unprivileged user
    # (root only).
    try:
        if os.geteuid() != 0:
            print("skip: not root: the not-dumpable check needs a run as another user")
            return
        nobody = 65534
        for root, dirs, files in os.walk(w):
            for n in dirs + files:
                os.chown(os.path.join(root, n), nobody, nobody)
        os.chown(w, nobody, nobody)
        os.chmod(w, 0o755)

        def drop():
            os.setgid(nobody)
            os.setuid(nobody)
        proc = subprocess.Popen([BIN, "-c", lab.conf, "--state-dir", lab.state, "run"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                preexec_fn=drop)
        try:
            conn, _ = silent.accept()
            st = os.stat(f"/proc/{proc.pid}/environ")
            status = open(f"/proc/{proc.pid}/status").read()
            uid = next(l for l in status.splitlines() if l.startswith("Uid:")).split()[1]
            check(uid == str(nobody), "lbcert runs as the unprivileged user", status)
            check(st.st_uid == 0, "and is not dumpable: /proc/PID/environ belongs to root, "
                  "not to its user", st.st_uid)
            conn.close()
        finally:
            proc.kill()
            _, err = proc.communicate()
    finally:
        silent.close()


if __name__ == "__main__":
    main(scenario)
