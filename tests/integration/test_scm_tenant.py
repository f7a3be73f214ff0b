"""Sectigo SCM tenants as configured.

- The tenant has a mandatory custom field and no DCV pre-validation: a
  profile without a value for the field is refused before any key is made
  (check, plan and run say which field and which profile; the ADC gets no
  key, SCM no enroll). With custom_fields (CA default, overridden by the
  profile) and dcv_mode, the enroll carries customFields and dcvMode and
  the certificate is issued.
- A term the certificate type does not offer (cert_type numeric) is refused
  before any key, listing the allowed terms.
- The tenant binds revoke's reasonCode as a string: lbcert's integer is
  refused with -1002, and the string form revokes."""
from harness import (CitrixSim, Lab, check_citrix_settled, ScmSim, check, main, serial_of,
                     served_cert, stopping)

SUBJECT = {"organization": "Example", "state": "Yorks", "country": "GB"}


def keys_made(adc):
    return [r for r in adc.requests()
            if r.get("write") and "sslrsakey" in r["path"] or "sslecdsakey" in r["path"]]


def scenario(w):
    adc = CitrixSim(w, vservers=("vs1",), ha=False)
    scm = ScmSim(w, extra=["--custom-field", "Cost Center:mandatory", "--custom-field", "Note",
                           "--dcv-required", "--revoke-reason", "string"])
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm, dcv_mode="CNAME")
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1"}])

        # -- a mandatory field without a value -----------------------------
        p = lab.run("check")
        check(p.returncode == 1 and "profile www: FAILED" in p.stdout
              and '"Cost Center"' in p.stdout, "check names the field and the profile",
              p.stdout, p.stderr)
        p = lab.run("plan")
        check(p.returncode == 1 and '"Cost Center"' in p.stdout and "www" in p.stdout,
              "plan says it too", p.stdout, p.stderr)
        p = lab.run("run")
        check(p.returncode == 1 and '"Cost Center"' in p.stdout, "run refuses the profile",
              p.stdout, p.stderr)
        check(keys_made(adc) == [], "no key was made on the ADC", adc.requests())
        check(scm.ctl("/_sim/state")["enrolls"] == 0, "nothing was enrolled")

        # -- the CA's default, the profile's own value on top ----------------
        lab.cas["scm"]["custom_fields"] = {"Cost Center": "0000", "Note": "from the CA"}
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1"}],
                    custom_fields={"Cost Center": 4711})
        p = lab.run("check")
        check(p.returncode == 0, "check passes with the field set", p.stdout, p.stderr)
        p = lab.run("run")
        check(p.returncode == 0 and "1 enrolled" in p.stdout, "run enrolls", p.stdout,
              p.stderr[-3000:])
        st = scm.ctl("/_sim/state")
        check(st["enrolls"] == 1, "one enroll", st)
        cert = list(st["certs"].values())[0]
        check(sorted((f["name"], f["value"]) for f in cert["customFields"]) ==
              [("Cost Center", "4711"), ("Note", "from the CA")],
              "customFields: the profile's value over the CA's, the CA's default", cert)
        check(cert["dcvMode"] == "CNAME", "dcvMode from the CA", cert)
        check(serial_of(served_cert(adc.port("vs1"))) == lab.status()["www"]["serial"],
              "vs1 serves the certificate")
        enroll = [r for r in scm.requests() if r["path"].endswith("/enroll")]
        check(len(enroll) == 1 and enroll[0]["status"] == 200, "the enroll was taken", enroll)

        # -- revoke: reasonCode as the tenant binds it ----------------------
        scm.clear_requests()
        p = lab.run("revoke", "www", "--reason", "superseded")
        check(p.returncode == 0, "revoke succeeds", p.stdout, p.stderr[-3000:])
        rv = [r for r in scm.requests() if "/revoke/" in r["path"]]
        check([r["status"] for r in rv] == [400, 204],
              "the integer was refused, the string taken", rv)
        check(scm.ctl("/_sim/state")["revoked"][0]["reasonCode"] == 4, "reason superseded")

        # -- a term the type does not offer, cert_type numeric -------------
        lab.cas["scm"]["term"] = 397
        lab.write_config()
        lab.profile("api", device="adc1", ca="scm", common_name="api.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs1", "sni": True}])
        adc.clear_requests()
        p = lab.run("run", "api")
        check(p.returncode == 1 and "term 397" in p.stdout and "365, 730" in p.stdout,
              "the term is refused, listing the allowed ones", p.stdout, p.stderr[-2000:])
        check(keys_made(adc) == [], "no key was made for it", adc.requests())
        check(scm.ctl("/_sim/state")["enrolls"] == 1, "and nothing enrolled")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
