"""Citrix ADC + Pebble 2.7.0: ACME renewal information (window from the CA,
Retry-After kept, a revoked certificate renewed with replaces, replaces
refused) and ACME profiles, with certificates that have no common name
(ari_lab.py). Skipped (exit 77) when Pebble 2.7.0 is absent."""
from ari_lab import run_scenario
from harness import CitrixSim, check_citrix_settled, main


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www", "vs_short"))
    try:
        def add_device(lab):
            lab.add_citrix("dev", adc)
            return {"www": (adc.port("vs_www"), "www.lbcert.test"),
                    "short": (adc.port("vs_short"), "short.lbcert.test")}

        def extra(name):
            return {"vservers": [{"name": f"vs_{name}"}]}

        run_scenario(w, "citrix", add_device, extra)
        check_citrix_settled(adc)
    finally:
        adc.stop()


if __name__ == "__main__":
    main(scenario)
