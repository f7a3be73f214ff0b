"""BIG-IP partitions: with `partition: Web` every object lbcert makes (key,
CSR, certificates, client-ssl profile) lives in /Web, virtuals are found as
/Web/<name>, the parent profile still comes from /Common, and the served
certificate is the new one."""
from harness import BigipSim, Lab, ScmSim, check, main, serial_of, served_cert, stopping


def scenario(w):
    big = BigipSim(w, virtuals=("vs1",), pair=False, partition="Web")
    scm = ScmSim(w)
    with stopping(big, scm):
        lab = Lab(w)
        lab.add_bigip("big", big, partition="Web")
        lab.add_scm("scm", scm)
        lab.write_config()
        lab.profile("shop", device="big", ca="scm", common_name="shop.example.com",
                    subject={"organization": "Example", "state": "Yorks", "country": "GB"},
                    vservers=[{"name": "vs1"}])
        p = lab.run("run")
        check(p.returncode == 0 and "1 enrolled" in p.stdout, "enrolled in partition Web",
              p.stdout, p.stderr[-2000:])
        st = big.ctl("/_sim/state")
        ours = [fp for typ in ("key", "cert", "csr", "clientssl") for fp in st.get(typ, {})
                if "shop" in fp]
        check(ours and all(fp.startswith("/Web/") for fp in ours),
              "every object lbcert made is in /Web", ours)
        check("/Web/shop_clientssl" in st["clientssl"], "the profile is /Web/shop_clientssl")
        check(st["clientssl"]["/Web/shop_clientssl"].get("defaultsFrom") == "/Common/clientssl",
              "its parent is /Common/clientssl", st["clientssl"]["/Web/shop_clientssl"])
        check(serial_of(served_cert(big.port("vs1"))) == lab.status()["shop"]["serial"],
              "vs1 serves the new certificate")
        p = lab.run("run", "--force")
        check(p.returncode == 0 and "1 renewed" in p.stdout, "a renewal in the partition works",
              p.stdout, p.stderr[-2000:])
        check(serial_of(served_cert(big.port("vs1"))) == lab.status()["shop"]["serial"],
              "vs1 serves the renewed certificate")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
