"""The demo: simulators + Pebble on loopback, the example configuration
filled in, `lbcert run`, then `lbcert status` and what a TLS client sees.
Everything it starts is stopped at the end; its files are in demo-run/."""
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("LBCERT_SRC", ROOT)
os.environ.setdefault("LBCERT_BIN", os.path.join(ROOT, "build", "lbcert"))

from harness import BIN, BigipSim, CitrixSim, ScmSim, serial_of, served_cert  # noqa: E402
from pebble import Pebble  # noqa: E402

EAB_KID, EAB_HMAC = "demo-kid", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"


def render(src, dst, values):
    text = open(src).read()
    for k, v in values.items():
        text = text.replace("@" + k + "@", str(v))
    with open(dst, "w") as f:
        f.write(text)


def lbcert(conf, state, *args):
    cmd = [BIN, "-c", conf, "--state-dir", state, *args]
    print("\n$ lbcert " + " ".join(args), flush=True)
    return subprocess.run(cmd).returncode


def main():
    work = os.path.join(ROOT, "demo-run")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    conf, state = os.path.join(work, "etc"), os.path.join(work, "state")
    os.makedirs(os.path.join(conf, "profiles"))
    print("starting Pebble, the simulated ADC pair, BIG-IP pair and SCM in", work, flush=True)
    adc = CitrixSim(work, vservers=("vs_www", "vs_shop", "vs_api"))
    big = BigipSim(work, virtuals=("vs_portal", "vs_login", "vs_intranet"))
    scm = ScmSim(work)
    try:
        with Pebble(work, eab={EAB_KID: EAB_HMAC}) as peb:
            ports = dict(adc.ready["vservers"], **big.ready["vservers"])
            values = {
                "ADC_URL": adc.url(0), "ADC_PEER": adc.url(1), "ADC_CA": adc.units[0]["ca_file"],
                "BIGIP_URL": big.url(0), "BIGIP_PEER": big.url(1),
                "BIGIP_CA": big.units[0]["ca_file"],
                "SCM_URL": scm.url(), "SCM_CA": scm.units[0]["ca_file"],
                "ACME_DIRECTORY": peb.directory, "ACME_CA": peb.ca_file,
                "ADC_PASSWORD": adc.password, "BIGIP_PASSWORD": big.password,
                "SCM_PASSWORD": scm.password, "EAB_KID": EAB_KID, "EAB_HMAC": EAB_HMAC,
            }
            values.update({"CHECK_" + k: f"127.0.0.1:{v}" for k, v in ports.items()})
            ex = os.path.join(ROOT, "examples")
            render(os.path.join(ex, "lbcert.yaml"), os.path.join(conf, "lbcert.yaml"), values)
            render(os.path.join(ex, "credentials.yaml"), os.path.join(conf, "credentials.yaml"),
                   values)
            os.chmod(os.path.join(conf, "credentials.yaml"), 0o600)
            for p in sorted(os.listdir(os.path.join(ex, "profiles"))):
                render(os.path.join(ex, "profiles", p), os.path.join(conf, "profiles", p), values)

            rc = lbcert(conf, state, "check")
            rc = lbcert(conf, state, "plan") or rc
            rc = lbcert(conf, state, "run") or rc
            lbcert(conf, state, "status")
            print("\nwhat a TLS client is served now (SNI = the profile's common name):")
            out = subprocess.run([BIN, "-c", conf, "--state-dir", state, "-l", "error",
                                  "status", "--json"], capture_output=True, text=True).stdout
            for st in json.loads(out):
                cn = [l.split(":", 1)[1].strip() for l in open(os.path.join(
                    conf, "profiles", st["profile"] + ".yaml")) if l.startswith("common_name:")][0]
                for vs in st["vservers"]:
                    der = served_cert(ports[vs], cn)
                    got = serial_of(der) if der else "(no certificate)"
                    print(f"  {st['profile']:9} {vs:12} 127.0.0.1:{ports[vs]:<6} {cn:22} "
                          f"serial {got}{'' if got == st['serial'] else '  (another profile)'}")
            print("\nconfiguration in", conf, "- state in", state)
            return rc
    finally:
        adc.stop()
        big.stop()
        scm.stop()


if __name__ == "__main__":
    sys.exit(main())
