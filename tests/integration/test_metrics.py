"""metrics_file: after each run (not --dry-run) a Prometheus textfile with
every profile's expiry, last change, last result and due state, and the
run's duration, profiles by result and errors by class; replaced whole by
rename (an old link keeps the old content, no temporary file is left);
checked with promtool when it is installed."""
from harness import CitrixSim, Lab, ScmSim, check, main, stopping, check_citrix_settled
import os
import re
import shutil
import stat
import subprocess

SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
CLASSES = ("unreachable", "auth", "device", "ca", "verify", "local", "hook", "hook_timeout")
SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')


def parse(path):
    """{(name, frozenset(labels)): value}, and the HELP/TYPE names."""
    samples, typed, helped = {}, set(), set()
    with open(path) as f:
        for line in f.read().splitlines():
            if line.startswith("# TYPE "):
                typed.add(line.split()[2])
                continue
            if line.startswith("# HELP "):
                helped.add(line.split()[2])
                continue
            m = SAMPLE.match(line)
            check(m is not None, "every line is a sample or a comment", line)
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            samples[(m.group(1), labels)] = float(m.group(3))
    for name, _ in samples:
        check(name in typed and name in helped, f"{name} has HELP and TYPE")
    return samples


def get(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def promtool(path):
    tool = shutil.which("promtool")
    if tool is None:
        print("skip: promtool not installed (Debian package prometheus)")
        return
    with open(path) as f:
        p = subprocess.run([tool, "check", "metrics"], stdin=f, capture_output=True, text=True)
    check(p.returncode == 0 and p.stdout.strip() == "" and p.stderr.strip() == "",
          "promtool check metrics finds nothing to say", p.stdout, p.stderr)


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www", "vs_shop"))
    scm = ScmSim(w)
    mdir = os.path.join(w, "textfile")
    os.makedirs(mdir)
    prom = os.path.join(mdir, "lbcert.prom")
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        with open(os.path.join(lab.conf, "lbcert.yaml"), "a") as f:
            f.write("metrics_file: ../textfile/lbcert.prom\n")
        lab.defaults = {"renew_before_days": 30}
        for name in ("www", "shop"):
            lab.profile(name, device="adc1", ca="scm", common_name=f"{name}.example.com",
                        subject=SUBJECT, vservers=[{"name": f"vs_{name}"}])

        p = lab.run("run", "--dry-run")
        check(p.returncode == 0 and not os.path.exists(prom), "run --dry-run writes no metrics",
              p.stderr)
        p = lab.run("plan")
        check(p.returncode == 0 and not os.path.exists(prom), "plan writes no metrics")

        adc.ctl("/_sim/requests/clear", {})
        scm.ctl("/_sim/requests/clear", {})
        p = lab.run("run")
        check(p.returncode == 0, "run exits 0", p.stdout, p.stderr)
        n_adc, n_scm = len(adc.ctl("/_sim/requests")), len(scm.ctl("/_sim/requests"))
        check(os.path.exists(prom), "the metrics file is written, relative to the config dir")
        check(stat.S_IMODE(os.stat(prom).st_mode) == 0o644, "it is world-readable (no secrets)")
        check(os.listdir(mdir) == ["lbcert.prom"], "no temporary file is left", os.listdir(mdir))
        promtool(prom)
        m = parse(prom)
        st = lab.status()
        import datetime
        for name in ("www", "shop"):
            lbl = {"profile": name, "device": "adc1", "ca": "scm"}
            na = datetime.datetime.strptime(st[name]["not_after"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            check(get(m, "lbcert_certificate_expiry_timestamp_seconds", **lbl) == na,
                  f"{name}: expiry is the certificate's notAfter", m)
            check(get(m, "lbcert_certificate_last_change_timestamp_seconds", **lbl) > 0,
                  f"{name}: last change recorded")
            check(get(m, "lbcert_profile_last_result", result="enrolled", **lbl) == 1 and
                  get(m, "lbcert_profile_last_result", result="failed", **lbl) == 0,
                  f"{name}: last result enrolled")
            check(get(m, "lbcert_profile_due", **lbl) == 0, f"{name}: not due after enrollment")
        check(get(m, "lbcert_run_profiles", result="enrolled") == 2 and
              get(m, "lbcert_run_profiles", result="failed") == 0, "run: two enrolled")
        check(get(m, "lbcert_run_duration_seconds") > 0, "run: duration")
        check(all(get(m, "lbcert_run_errors", **{"class": c}) == 0 for c in CLASSES),
              "run: no errors, every class present", m)
        # counted by the simulators for this run alone (the dry run and plan sent some too)
        check(get(m, "lbcert_run_requests", peer="adc1") == n_adc and n_adc > 5 and
              get(m, "lbcert_run_requests", peer="scm") == n_scm and n_scm >= 4,
              "run: requests per device and CA, as the peers counted them",
              n_adc, n_scm, get(m, "lbcert_run_requests", peer="adc1"))

        # replaced by rename: a link to the old file keeps the old content
        old = os.path.join(w, "old.prom")
        os.link(prom, old)
        before = open(old).read()
        lab.profile("gone", device="adc1", ca="scm", common_name="gone.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_gone"}])
        p = lab.run("run", "gone")
        check(p.returncode == 1, "the run of a broken profile fails", p.stdout, p.stderr)
        check(open(old).read() == before, "the file was replaced, not rewritten in place")
        promtool(prom)
        m = parse(prom)
        gone = {"profile": "gone", "device": "adc1", "ca": "scm"}
        check(get(m, "lbcert_profile_due", **gone) == 1 and
              get(m, "lbcert_profile_last_result", result="failed", **gone) == 1,
              "the failed profile is due, its last result failed", m)
        check(get(m, "lbcert_certificate_expiry_timestamp_seconds", **gone) is None,
              "no expiry for a profile without a certificate")
        check(get(m, "lbcert_certificate_expiry_timestamp_seconds", profile="www", device="adc1",
                  ca="scm") is not None, "a run of one profile keeps the others' series")
        check({c: get(m, "lbcert_run_errors", **{"class": c}) for c in CLASSES} ==
              {c: int(c == "device") for c in CLASSES},
              "the missing virtual server is counted as a device error, nothing else", m)
        check(get(m, "lbcert_run_profiles", result="failed") == 1 and
              get(m, "lbcert_run_profiles", result="enrolled") == 0,
              "this run's figures count the failure", m)

        os.chmod(mdir, 0o500)
        p = lab.run("run", "www")
        os.chmod(mdir, 0o700)
        if os.geteuid() != 0:
            check(p.returncode == 0 and "metrics_file:" in p.stderr,
                  "an unwritable metrics directory is logged, the run still succeeds", p.stderr)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
