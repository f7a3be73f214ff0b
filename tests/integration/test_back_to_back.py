"""Renewals run back to back (an enrollment, then --force four times) on
both appliances: each makes a key and objects under new names (the
appliances never overwrite an object; the engine adds a random suffix to
the time so that even two runs within one second differ), puts a new
certificate in service and retires the previous key."""
from harness import (check_citrix_settled, BigipSim, CitrixSim, Lab, ScmSim, check, main,
                     serial_of, served_cert, stopping)

SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",), pair=False)
    adc = CitrixSim(w, vservers=("vs1",), ha=False)
    scm = ScmSim(w)
    with stopping(big, adc, scm):
        lab = Lab(w)
        lab.add_bigip("big", big)
        lab.add_citrix("adc", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("b", device="big", ca="scm", common_name="b.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1"}])
        lab.profile("c", device="adc", ca="scm", common_name="c.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1"}])
        serials = set()
        for i in range(5):
            p = lab.run("run", *(["--force"] if i else []), level="info")
            check(p.returncode == 0 and p.stdout.strip().endswith(
                "0 failed"), f"run {i} succeeds", p.stdout, p.stderr[-2000:])
            st = lab.status()
            serials.add(st["b"]["serial"])
            serials.add(st["c"]["serial"])
        check(len(serials) == 10, "every run put two new certificates in service", serials)
        check(serial_of(served_cert(big.port("vs1"))) == lab.status()["b"]["serial"],
              "the BIG-IP serves the last one")
        check(serial_of(served_cert(adc.port("vs1"))) == lab.status()["c"]["serial"],
              "the ADC serves the last one")
        keys = [k for k in big.ctl("/_sim/state")["key"] if k.startswith("/Common/b_")]
        check(len(keys) == 1, "old BIG-IP keys were retired", keys)
        check_citrix_settled(adc)
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
