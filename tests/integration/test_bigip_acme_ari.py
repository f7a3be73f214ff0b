"""F5 BIG-IP + Pebble 2.7.0: ACME renewal information (window from the CA,
Retry-After kept, a revoked certificate renewed with replaces, replaces
refused) and ACME profiles, with certificates that have no common name
(ari_lab.py). Skipped (exit 77) when Pebble 2.7.0 is absent."""
from ari_lab import run_scenario
from harness import BigipSim, main


def scenario(w):
    big = BigipSim(w, virtuals=("vs1", "vs2"), pair=True)
    try:
        def add_device(lab):
            lab.add_bigip("dev", big)
            return {"www": (big.port("vs1"), "www.lbcert.test"),
                    "short": (big.port("vs2"), "short.lbcert.test")}

        def extra(name):
            vs, default = ("vs1", True) if name == "www" else ("vs2", True)
            return {"vservers": [{"name": vs}],
                    "client_ssl": {"parent": "/Common/clientssl", "sni_default": default,
                                   "server_name": f"{name}.lbcert.test"}}

        run_scenario(w, "bigip", add_device, extra)
    finally:
        big.stop()


if __name__ == "__main__":
    main(scenario)
