"""Logging options of SPEC §3: `--log-format json` writes one JSON object
per stderr line with time, level and msg (at every level down to trace,
HTTP traces included); `-l error` prints errors and nothing else, in text
and in JSON; an unknown level or format is a usage error (exit 2) that
contacts nothing; `--version` and `--help` exit 0 on stdout."""
import json
import re
import subprocess

from harness import (check_citrix_settled, BIN, CitrixSim, Lab, ScmSim, check, main, free_port,
                     stopping)

LEVELS = ("error", "warn", "info", "debug", "trace")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
TEXT_LINE = re.compile(r"^\S+ lbcert (error|warn|info|debug|trace): ")


def json_lines(stderr, what):
    """Parses every stderr line as a log object; fails on the first that is
    not one."""
    out = []
    lines = stderr.splitlines()
    for ln in lines:
        try:
            o = json.loads(ln)
        except ValueError:
            check(False, f"{what}: every stderr line is JSON", repr(ln))
        if not (isinstance(o, dict) and isinstance(o.get("time"), str) and
                o.get("level") in LEVELS and isinstance(o.get("msg"), str) and
                RFC3339.match(o["time"])):
            check(False, f"{what}: every line has time (RFC 3339), level and msg", ln)
        out.append(o)
    check(lines != [], f"{what}: {len(lines)} stderr lines, each one JSON object "
          "with time, level, msg")
    return out


def bare(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www",), ha=False)
    scm = ScmSim(w)
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        subject = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject=subject, vservers=["vs_www"])

        # --- JSON lines at trace level (HTTP traces included) ---
        p = lab.run("--log-format", "json", "run", level="trace")
        check(p.returncode == 0 and p.stdout.strip().splitlines()[-1] ==
              "1 enrolled, 0 renewed, 0 unchanged, 0 failed",
              "run with --log-format json enrolls", p.stdout, p.stderr[-3000:])
        objs = json_lines(p.stderr, "run -l trace --log-format json")
        seen = {o["level"] for o in objs}
        check({"info", "debug", "trace"} <= seen, "info, debug and trace lines all came", seen)
        check(adc.password not in p.stderr and scm.password not in p.stderr,
              "no password in the JSON trace")
        p = lab.run("--log-format", "json", "check", level="debug")
        check(p.returncode == 0, "check with json logs exits 0", p.stdout, p.stderr)
        json_lines(p.stderr, "check --log-format json")
        check(all(not ln.startswith("{") for ln in p.stdout.splitlines()),
              "stdout keeps the report, not log objects", p.stdout)
        p = lab.run("--log-format", "text", "plan", level="debug")
        lines = p.stderr.splitlines()
        check(p.returncode == 0 and lines and all(TEXT_LINE.match(ln) for ln in lines),
              "--log-format text: 'TIME lbcert LEVEL: msg' lines", p.stderr)

        # --- a failing profile: -l error shows only the error ---
        lab.devices["adc2"] = dict(lab.devices["adc1"], url=f"https://127.0.0.1:{free_port()}",
                                   credentials="adc1")
        lab.write_config()
        lab.profile("api", device="adc2", ca="scm", common_name="api.example.com",
                    subject=subject, vservers=["vs_api"])
        p = lab.run("run", level="error")
        check(p.returncode == 4 and p.stdout.strip().splitlines()[-1] ==
              "0 enrolled, 0 renewed, 1 unchanged, 1 failed",
              "a run with one unreachable device: exit 4 and the summary", p.stdout, p.stderr)
        lines = p.stderr.splitlines()
        check(lines != [] and all(re.match(r"^\S+ lbcert error: ", ln) for ln in lines),
              "-l error: stderr holds error lines only", p.stderr)
        check(any("api" in ln for ln in lines), "the error names the failed profile", p.stderr)
        p = lab.run("--log-format", "json", "run", level="error")
        objs = json_lines(p.stderr, "run -l error --log-format json")
        check({o["level"] for o in objs} == {"error"}, "-l error in JSON: only level error",
              p.stderr)
        # the control: the same runs log info lines at -l info, so the two
        # checks below see a filter at work, not a quiet command
        p = lab.run("run", "www", level="info")
        check(p.returncode == 0 and re.search(r"^\S+ lbcert info: ", p.stderr, re.M),
              "control: run www logs info lines at -l info", p.stderr)
        p = lab.run("run", "www", level="error")
        check(p.returncode == 0 and p.stderr == "",
              "-l error and nothing wrong: stderr stays empty", p.stderr)
        p = lab.run("run", level="info")
        check(p.returncode == 4 and re.search(r"^\S+ lbcert info: ", p.stderr, re.M),
              "control: the failing run logs info lines at -l info", p.stderr)
        p = lab.run("run", level="warn")
        lines = p.stderr.splitlines()
        check(p.returncode == 4 and lines and all(" warn: " in ln or " error: " in ln
                                                  for ln in lines),
              "-l warn: the error, and no info or debug lines", p.stderr)

        # --- usage errors: exit 2, nothing contacted ---
        adc.clear_requests()
        for bad in ("verbose", "ERROR", ""):
            p = lab.run("check", level=bad)
            check(p.returncode == 2 and "log level" in p.stderr and p.stdout == "",
                  f"-l {bad!r}: exit 2 with a message", p.returncode, p.stderr)
        p = lab.run("--log-format", "xml", "check")
        check(p.returncode == 2 and "log-format" in p.stderr, "--log-format xml: exit 2", p.stderr)
        check(adc.requests() == [], "a usage error contacts no device")

        # --- --version and --help ---
        p = bare("--version")
        check(p.returncode == 0 and re.match(r"^lbcert \d+\.\d+", p.stdout) and p.stderr == "",
              "--version: exit 0, 'lbcert X.Y' on stdout", p.stdout, p.stderr)
        p = bare("--help")
        check(p.returncode == 0 and p.stdout.startswith("usage: lbcert") and p.stderr == "",
              "--help: exit 0, usage on stdout", p.stdout, p.stderr)
        for cmd in ("run", "plan", "status", "inventory", "revoke", "check"):
            check(re.search(r"^\s+" + cmd + r"\b", p.stdout, re.M), f"--help lists {cmd}")
        check("exit codes" in p.stdout, "--help lists the exit codes")
        p = bare("-c", "/nonexistent", "--help")
        check(p.returncode == 0, "--help needs no configuration")
        p = bare()
        check(p.returncode == 2 and "usage" in p.stderr, "no command: exit 2 with the usage")

        # A configuration error follows --log-format like every other line.
        lab.write("lbcert.yaml", "devices: {x: 1}")
        p = lab.run("--log-format", "json", "check")
        check(p.returncode == 2 and "lbcert.yaml:1:" in p.stderr,
              "a config error in json mode still exits 2 with FILE:LINE:COL", p.stderr)
        line = json.loads(p.stderr.splitlines()[0])
        check(line["level"] == "error" and "lbcert.yaml:1:" in line["msg"],
              "in json mode the configuration error is a JSON line too", line)
        p = lab.run("check")
        check(p.stderr.splitlines()[0].startswith(lab.conf + "/lbcert.yaml:1:"),
              "in text mode it is the bare FILE:LINE:COL: message", p.stderr)
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
