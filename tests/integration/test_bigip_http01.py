"""BIG-IP + ACME http-01 validated for real: Pebble without
PEBBLE_VA_ALWAYS_VALID, pebble-challtestsrv as its DNS (every name at
127.0.0.1), the simulator's HTTP virtual vs_http on Pebble's httpPort. The
BIG-IP answers with an iRule and a data-group attached to vs_http next to
the rule it already has; afterwards no data-group or ACME rule is left and
vs_http keeps exactly its own rule. A profile whose challenge_vserver is
not the virtual Pebble reaches fails with Pebble's problem detail, and its
objects are removed too."""
from harness import BigipSim, Lab, check, main, serial_of, served_cert, free_port, stopping
from pebble import FakeDNS, Pebble

EAB = ("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
KEEP = "/Common/keep_redirect"


def leftovers(big):
    st = big.ctl("/_sim/state")
    return {"datagroup": list(st.get("datagroup", {})),
            "rule": [r for r in st.get("rule", {}) if r != KEEP]}


def rules_of(big, vs):
    return big.ctl("/_sim/state")["virtual"]["/Common/" + vs].get("rules", [])


def scenario(w):
    http_port = free_port()
    big = BigipSim(w, virtuals=("vs_www", "vs_bad"), http_virtuals=("vs_http", "vs_http_other"),
                   http_ports={"vs_http": http_port})
    with stopping(big):
        # The HTTP virtuals already carry a rule of their own.
        rc, body = big.api("POST", "/mgmt/tm/ltm/rule", {
            "name": "keep_redirect", "partition": "Common",
            "apiAnonymous": "when HTTP_REQUEST {\n    HTTP::redirect https://[HTTP::host][HTTP::uri]\n}\n"})
        check(rc == 200, "an unrelated iRule is created through the API", body)
        for vs in ("vs_http", "vs_http_other"):
            rc, body = big.api("PATCH", "/mgmt/tm/ltm/virtual/~Common~" + vs, {"rules": [KEEP]})
            check(rc == 200, f"and attached to {vs}", body)

        with FakeDNS(w) as dns, Pebble(w, eab={EAB[0]: EAB[1]}, always_valid=False,
                                       http_port=http_port, dns_server=dns.address) as pebble:
            lab = Lab(w)
            lab.add_bigip("big1", big)
            lab.add_acme("pebble", pebble, eab=EAB, challenge="http-01")
            lab.write_config()
            lab.profile("www", device="big1", ca="pebble", common_name="www.lbcert.test",
                        subject_alt_names=["www.lbcert.test", "static.lbcert.test"],
                        key={"type": "ecdsa", "curve": "P-256"}, challenge_vserver="vs_http",
                        vservers=[{"name": "vs_www",
                                   "check": f"127.0.0.1:{big.port('vs_www')}"}])
            lab.profile("bad", device="big1", ca="pebble", common_name="bad.lbcert.test",
                        key={"type": "ecdsa", "curve": "P-256"},
                        challenge_vserver="vs_http_other", vservers=[{"name": "vs_bad"}])

            p = lab.run("run", "www")
            check(p.returncode == 0, "www: http-01 answered by vs_http validates", p.stdout,
                  p.stderr[-4000:])
            www = lab.status()["www"]
            der = served_cert(big.port("vs_www"), "www.lbcert.test")
            check(der is not None and serial_of(der) == www["serial"],
                  "vs_www serves the certificate")
            patches = [r for r in big.requests() if r.get("write") and
                       r["method"] == "PATCH" and r["path"].endswith("~vs_http")]
            check(len(patches) >= 2, "the rule was attached to vs_http and detached again",
                  patches)
            check(leftovers(big) == {"datagroup": [], "rule": []},
                  "no data-group or ACME iRule is left", leftovers(big))
            check(rules_of(big, "vs_http") == [KEEP], "vs_http keeps exactly its own rule",
                  rules_of(big, "vs_http"))

            big.clear_requests()
            p = lab.run("run", "bad")
            check(p.returncode == 1, "bad: a challenge Pebble cannot reach fails the run",
                  p.stdout, p.stderr[-3000:])
            check("urn:ietf:params:acme:error:unauthorized" in p.stdout and
                  "bad.lbcert.test" in p.stdout, "the failure carries Pebble's problem detail",
                  p.stdout)
            made = [r for r in big.requests() if r.get("write") and
                    r["method"] == "POST" and "data-group" in r["path"]]
            check(made, "bad: the challenge data-group was made")
            check(leftovers(big) == {"datagroup": [], "rule": []},
                  "bad: no data-group or ACME iRule left after the failure", leftovers(big))
            check(rules_of(big, "vs_http_other") == [KEEP],
                  "vs_http_other keeps exactly its own rule", rules_of(big, "vs_http_other"))
            check(lab.status()["bad"]["last_result"] == "failed", "status shows the failure")
        big.check_settled()


if __name__ == "__main__":
    main(scenario)
