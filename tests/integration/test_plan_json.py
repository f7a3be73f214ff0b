"""plan --json: the table's fields (profile, device, key, action, why) and a
reason code per profile, for each kind of decision; options after names;
the exit status as for the table."""
from harness import CitrixSim, Lab, ScmSim, check, main, free_port, stopping, check_citrix_settled
import json

SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


def plan(lab, *args):
    p = lab.run("plan", *args)
    try:
        rows = json.loads(p.stdout)
    except ValueError:
        check(False, "plan --json prints JSON", p.stdout, p.stderr)
    for r in rows:
        check(sorted(r) == ["action", "device", "key", "profile", "reason", "why"], "plan row fields", r)
    return p.returncode, {r["profile"]: r for r in rows}


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www", "vs_shop"))
    scm = ScmSim(w)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        for name in ("www", "shop"):
            lab.profile(name, device="adc1", ca="scm", common_name=f"{name}.example.com",
                        subject=SUBJECT, vservers=[{"name": f"vs_{name}"}])
        rc, rows = plan(lab, "--json")
        check(rc == 0 and rows["www"]["action"] == "change" and
              rows["www"]["reason"] == "no_certificate" and rows["www"]["device"] == "adc1" and
              rows["www"]["why"].startswith("enroll: no certificate") and
              rows["www"]["key"] == "rsa:2048", "a new profile", rows)
        table = lab.run("plan").stdout
        check(rows["www"]["why"] in table, "why is the table's text", table)

        p = lab.run("run")
        check(p.returncode == 0, "run enrolls", p.stdout, p.stderr)
        rc, rows = plan(lab, "www", "--json")
        check(rc == 0 and list(rows) == ["www"] and rows["www"]["action"] == "nothing" and
              rows["www"]["reason"] == "valid", "after the run: nothing, valid", rows)

        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_www"}], key={"type": "ecdsa"})
        lab.profile("shop", device="adc1", ca="scm", common_name="shop.example.com",
                    subject_alt_names=["shop.example.com", "cart.example.com"],
                    subject=SUBJECT, vservers=[{"name": "vs_shop"}])
        rc, rows = plan(lab, "--json")
        check(rows["www"]["reason"] == "key_changed" and rows["shop"]["reason"] == "names_changed"
              and rows["shop"]["action"] == "change", "key and names changes", rows)
        lab.profile("shop", device="adc1", ca="scm", common_name="shop.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_shop"}], renew_before_days=3650)
        rc, rows = plan(lab, "--json", "shop")
        check(rows["shop"]["reason"] == "expiring", "inside the window: expiring", rows)

        lab.devices["dead"] = dict(lab.devices["adc1"], url=f"https://127.0.0.1:{free_port()}",
                                   credentials="adc1", timeout_s=2)
        lab.devices["dead"].pop("peers", None)
        lab.write_config()
        lab.profile("lost", device="dead", ca="scm", common_name="lost.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_lost"}])
        rc, rows = plan(lab, "--json", "lost")
        check(rc == 4 and rows["lost"]["action"] == "error" and
              rows["lost"]["reason"] == "unreachable" and rows["lost"]["why"] != "",
              "an unreachable device: error, unreachable, exit 4", rc, rows)
        p = lab.run("plan", "--jsn")
        check(p.returncode == 2 and "usage: lbcert plan [--json]" in p.stderr, "a bad option: usage",
              p.stderr)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
