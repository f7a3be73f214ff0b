"""Hooks: on_change after an enrollment with the profile's facts in its
environment and its argv passed as written (no shell); a hook that hangs
is killed with what it started, a failing one is logged (redacted) and
counted, and neither undoes the change nor fails a run of its own;
on_failure after a failed profile; config errors name file:line:col."""
from harness import CitrixSim, Lab, ScmSim, check, main, stopping, check_citrix_settled
import json
import os
import stat
import time

RECORDER = """#!/usr/bin/python3
import json, os, sys
fds = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        fds[fd] = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        pass
rec = {"argv": sys.argv, "env": {k: v for k, v in os.environ.items() if k.startswith("LBCERT_")},
       "fds": fds, "stdin": sys.stdin.read()}
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(rec) + "\\n")
print("recorded " + os.environ["LBCERT_PROFILE"])
print("line with \\x1b[31m escape and secret " + os.environ.get("HOOK_SECRET", ""))
sys.exit(int(os.environ.get("HOOK_EXIT", "0")) if len(sys.argv) < 4 else int(sys.argv[3]))
"""

HANG = """#!/bin/sh
echo "hanging $LBCERT_PROFILE"
sleep 60 &
echo $! > "$1"
sleep 60
"""


SUBJECT = {"organization": "Example Ltd", "state": "West Yorkshire", "country": "GB"}


DAEMON = """#!/bin/sh
sleep 30 &
echo $! > "$1"
echo "left a daemon"
"""


def script(w, name, text):
    path = os.path.join(w, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, stat.S_IRWXU)
    return path


def records(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def config_errors(w, lab, adc):
    bad = [({"on_change": ["reload.sh"]}, "hooks.on_change[0]: the program must be an absolute path"),
           ({"on_failure": "/bin/true"}, "hooks.on_failure must be a list"),
           ({"timeout_s": 0}, "hooks.timeout_s must be between 1 and 86400"),
           ({"on_fail": ["/bin/true"]}, "on_fail")]
    for hooks, msg in bad:
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    vservers=[{"name": "vs_www"}], hooks=hooks)
        p = lab.run("plan")
        check(p.returncode == 2 and msg in p.stderr and "profiles/www.yaml:" in p.stderr,
              f"profile hooks {hooks} refused with file:line:col", p.stderr)
    lab.defaults = {"hooks": {"on_change": ["bin/reload"]}}
    lab.write_config()
    p = lab.run("plan")
    check(p.returncode == 2 and "lbcert.yaml:" in p.stderr and
          "defaults.hooks.on_change[0]: the program must be an absolute path" in p.stderr,
          "a relative defaults hook is refused with its position", p.stderr)


def scenario(w):
    adc = CitrixSim(w, vservers=("vs_www", "vs_shop"))
    scm = ScmSim(w)
    rec = os.path.join(w, "hooks.jsonl")
    recorder = script(w, "record.py", RECORDER)
    hang = script(w, "hang.sh", HANG)
    bgpid = os.path.join(w, "bg.pid")
    with stopping(adc, scm):
        lab = Lab(w)
        lab.add_citrix("adc1", adc)
        lab.add_scm("scm", scm)
        lab.write_config()
        config_errors(w, lab, adc)

        lab.defaults = {"hooks": {"on_change": [recorder, rec, "two words; $(touch x)"],
                                  "on_failure": [recorder, rec, "failure", "3"],
                                  "timeout_s": 20}}
        lab.write_config()
        lab.profile("www", device="adc1", ca="scm", common_name="www.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_www"}])
        lab.profile("shop", device="adc1", ca="scm", common_name="shop.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_shop"}],
                    hooks={"on_change": [hang, bgpid], "timeout_s": 2})

        p = lab.run("plan")
        check(p.returncode == 0 and not records(rec), "plan runs no hook", p.stdout, p.stderr)
        p = lab.run("run", "--dry-run")
        check(p.returncode == 0 and not records(rec), "run --dry-run runs no hook", p.stderr)

        t0 = time.monotonic()
        p = lab.run("run", env={"LBCERT_STALE": "from-the-caller", "HOOK_SECRET": adc.password})
        took = time.monotonic() - t0
        check(p.returncode == 0, "a timed-out hook alone does not fail the run", p.stdout, p.stderr)
        lines = p.stdout.strip().splitlines()
        check(lines[-1] == "2 enrolled, 0 renewed, 0 unchanged, 0 failed" and
              lines[-2] == "hooks: 2 ran, 0 failed, 1 timed out",
              "the summary counts the hooks", p.stdout)
        check(took < 30, f"the hanging hook was cut at its timeout ({took:.1f}s)")
        st = lab.status()
        check(st["shop"]["last_result"] == "enrolled" and st["www"]["last_result"] == "enrolled",
              "the change behind a timed-out hook stands", st)
        check("shop: hook on_change: killed after 2 s" in p.stderr, "the timeout is logged", p.stderr)
        check("shop: hook on_change: hanging shop" in p.stderr, "a hook's output is logged", p.stderr)
        with open(bgpid) as f:
            pid = int(f.read())
        time.sleep(0.2)
        check(not alive(pid), "what the hung hook started was killed with it")

        r = records(rec)
        check(len(r) == 1, "on_change ran once, for www", r)
        r = r[0]
        check(r["argv"][1:] == [rec, "two words; $(touch x)"], "argv passed as written", r["argv"])
        check(not os.path.exists(os.path.join(w, "x")), "no shell saw the arguments")
        env = r["env"]
        check(env["LBCERT_PROFILE"] == "www" and env["LBCERT_DEVICE"] == "adc1" and
              env["LBCERT_CA"] == "scm" and env["LBCERT_RESULT"] == "enrolled" and
              env["LBCERT_ERROR"] == "" and env["LBCERT_SERIAL"] == st["www"]["serial"],
              "the hook's environment describes the change", env, st["www"])
        check(env["LBCERT_NOT_AFTER"] == st["www"]["not_after"], "LBCERT_NOT_AFTER is the new expiry",
              env, st["www"])
        check("LBCERT_STALE" not in env, "no LBCERT_* of the caller reaches the hook", env)
        check(r["stdin"] == "", "the hook's stdin is empty")
        leaked = [t for t in r["fds"].values() if "lbcert.lock" in t or "lbcert.db" in t]
        check(not leaked, "the hook inherits neither the lock nor the database", r["fds"])
        check("www: hook on_change: recorded www" in p.stderr, "the hook's stdout is logged", p.stderr)
        check(adc.password not in p.stderr and
              "line with \\x1b[31m escape and secret [REDACTED]" in p.stderr,
              "hook output is redacted and escaped", p.stderr)

        # a failing on_change: counted, logged, the renewal stands, exit 0
        open(rec, "w").close()
        t0 = time.monotonic()
        p = lab.run("run", "--force", "www", env={"HOOK_EXIT": "5"})
        took = time.monotonic() - t0
        check(took < 10, f"a hook that exits at once costs no wait (timeout_s 20; took {took:.1f}s)")
        check(p.returncode == 0 and "hooks: 1 ran, 1 failed, 0 timed out" in p.stdout,
              "a failing hook is counted and leaves the exit code alone", p.stdout, p.stderr)
        check("www: hook on_change: exited with status 5" in p.stderr, "its status is logged", p.stderr)
        new = lab.status()["www"]
        check(new["last_result"] == "renewed" and new["serial"] != st["www"]["serial"],
              "the renewal behind a failed hook stands", new)
        check(records(rec)[0]["env"]["LBCERT_RESULT"] == "renewed", "LBCERT_RESULT=renewed")

        # on_failure: a profile whose vserver does not exist
        open(rec, "w").close()
        lab.profile("gone", device="adc1", ca="scm", common_name="gone.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_gone"}])
        p = lab.run("run", "gone")
        check(p.returncode == 1, "the failed profile fails the run", p.stdout, p.stderr)
        check("hooks: 1 ran, 1 failed, 0 timed out" in p.stdout, "its failing on_failure is counted",
              p.stdout)
        r = records(rec)
        check(len(r) == 1 and r[0]["argv"][2:] == ["failure", "3"], "on_failure ran once", r)
        env = r[0]["env"]
        check(env["LBCERT_RESULT"] == "failed" and "vs_gone" in env["LBCERT_ERROR"] and
              env["LBCERT_SERIAL"] == "" and env["LBCERT_NOT_AFTER"] == "",
              "on_failure is told the error", env)
        p = lab.run("run", "www")
        check(p.returncode == 0 and "hooks:" not in p.stdout, "an unchanged profile runs no hook",
              p.stdout)

        # a hook that leaves a process holding its output open: its own
        # exit ends the wait
        daemon = script(w, "daemon.sh", DAEMON)
        dpid = os.path.join(w, "daemon.pid")
        lab.profile("shop", device="adc1", ca="scm", common_name="shop.example.com",
                    subject=SUBJECT, vservers=[{"name": "vs_shop"}],
                    hooks={"on_change": [daemon, dpid], "timeout_s": 20})
        t0 = time.monotonic()
        p = lab.run("run", "--force", "shop")
        took = time.monotonic() - t0
        with open(dpid) as f:
            os.kill(int(f.read()), 9)
        check(p.returncode == 0 and "hooks: 1 ran, 0 failed, 0 timed out" in p.stdout and
              "shop: hook on_change: left a daemon" in p.stderr,
              "the hook counts as ran, its output logged", p.stdout, p.stderr)
        check(took < 10, f"the run did not wait for the hook's daemon ({took:.1f}s)")
        check_citrix_settled(adc)


if __name__ == "__main__":
    main(scenario)
