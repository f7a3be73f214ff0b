"""Secrets (passwords, tokens, BIG-IP key passphrases) live in lbcert's
memory, so the process never leaves a core file: its core size limit is 0
whatever it inherited. Checked on a run that is waiting on a device that
accepts the connection and never answers."""
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
        silent.close()


if __name__ == "__main__":
    main(scenario)
