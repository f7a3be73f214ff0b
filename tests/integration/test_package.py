"""The Debian package: scripts/package.sh builds lbcert_<version>_amd64.deb
(skipped when the build tools or build dependencies are missing); its
contents, modes and conffiles; installed into a throw-away root by dpkg
(maintainer scripts included: user, state directory, credentials hand-over,
reinstall, purge) without touching this machine; lintian without errors; the
service unit's systemd-analyze exposure at most 2.0."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import check, main

SRC = os.environ.get("LBCERT_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SKIP = 77  # meson: skipped


def skip(why):
    print("skip:", why)
    sys.exit(SKIP)


def version():
    with open(os.path.join(SRC, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def passwd_entry(path, name):
    try:
        with open(path) as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if fields[0] == name:
                    return fields
    except FileNotFoundError:
        pass
    return None


def host_units():
    d = "/var/lib/systemd/deb-systemd-helper-enabled"
    return sorted(n for n in (os.listdir(d) if os.path.isdir(d) else []) if "lbcert" in n)


def install_in_root(w, deb):
    """dpkg installs the package into an empty root with its maintainer
    scripts run from here (DPKG_ROOT): what a first install, a reinstall and
    a purge do, checked in that root, and nothing done to this machine."""
    if os.geteuid() != 0:
        print("skip: not root: the package is not installed into a throw-away root")
        return
    root = os.path.join(w, "installed")
    for d in ("info", "updates", "triggers"):
        os.makedirs(os.path.join(root, "var/lib/dpkg", d))
    for f in ("status", "available"):
        open(os.path.join(root, "var/lib/dpkg", f), "w").close()
    dpkg = ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
            "--log=/dev/null"]
    host_user, units = passwd_entry("/etc/passwd", "lbcert"), host_units()

    p = run(*dpkg, "-i", deb)
    check(p.returncode == 0, "dpkg installs the package into a throw-away root", p.stdout, p.stderr)
    p = run(*dpkg, "-s", "lbcert")
    check("Status: install ok installed" in p.stdout, "and records it installed", p.stdout)
    user = passwd_entry(os.path.join(root, "etc/passwd"), "lbcert")
    check(user is not None and int(user[2]) < 1000 and user[6].endswith("nologin"),
          "the system user lbcert exists there, without a login shell", user)
    uid = int(user[2])
    st = os.stat(os.path.join(root, "var/lib/lbcert"))
    check(st.st_uid == uid and st.st_mode & 0o777 == 0o700,
          "/var/lib/lbcert is lbcert's, 0700", st)
    cred = os.path.join(root, "etc/lbcert/credentials.yaml")
    st = os.stat(cred)
    check(st.st_uid == uid and st.st_mode & 0o777 == 0o600,
          "credentials.yaml is handed over to lbcert on first install, 0600", st)
    check(passwd_entry("/etc/passwd", "lbcert") == host_user and host_units() == units,
          "this machine's users and unit state are untouched", host_units())

    os.chown(cred, 0, 0)  # the administrator's choice
    p = run(*dpkg, "-i", deb)
    check(p.returncode == 0 and os.stat(cred).st_uid == 0,
          "a reinstall leaves the administrator's owner of credentials.yaml alone",
          p.stdout, p.stderr)

    p = run(*dpkg, "--purge", "lbcert")
    check(p.returncode == 0, "dpkg purges it", p.stdout, p.stderr)
    gone = [f for f in ("usr/bin/lbcert", "etc/lbcert/lbcert.yaml", "etc/lbcert/credentials.yaml",
                        "lib/systemd/system/lbcert.service")
            if os.path.exists(os.path.join(root, f))]
    check(gone == [], "the purge removes the program and its conffiles", gone)
    check(host_units() == units, "and leaves this machine's unit state alone", host_units())


def scenario(w):
    for tool in ("dpkg-buildpackage", "dh", "dpkg-deb"):
        if shutil.which(tool) is None:
            skip(f"{tool} not installed (debhelper, dpkg-dev: scripts/setup.sh)")
    p = run("dpkg-checkbuilddeps", cwd=SRC)
    if p.returncode != 0:
        skip("build dependencies missing: " + p.stderr.strip())

    out = os.path.join(w, "dist")
    p = run("bash", os.path.join(SRC, "scripts", "package.sh"), out, timeout=600)
    check(p.returncode == 0, "scripts/package.sh builds the package", p.stdout, p.stderr)
    arch = run("dpkg", "--print-architecture").stdout.strip()
    deb = os.path.join(out, f"lbcert_{version()}_{arch}.deb")
    check(p.stdout.strip().splitlines() == [deb] and os.path.exists(deb),
          "it prints the one lbcert_<version>_<arch>.deb it made", p.stdout, os.listdir(out))

    listing = run("dpkg-deb", "-c", deb).stdout
    entries = {}
    for line in listing.splitlines():
        f = line.split()
        entries[f[-1].lstrip(".")] = (f[0], f[1])
    for path in ("/usr/bin/lbcert", "/usr/share/man/man1/lbcert.1.gz",
                 "/usr/share/man/man5/lbcert.yaml.5.gz", "/lib/systemd/system/lbcert.service",
                 "/lib/systemd/system/lbcert.timer", "/usr/lib/sysusers.d/lbcert.conf",
                 "/usr/lib/tmpfiles.d/lbcert.conf", "/etc/lbcert/lbcert.yaml",
                 "/etc/lbcert/credentials.yaml", "/etc/lbcert/profiles/"):
        check(path in entries, f"the package holds {path}", listing)
    check(entries["/etc/lbcert/credentials.yaml"][0] == "-rw-------",
          "credentials.yaml is 0600", entries["/etc/lbcert/credentials.yaml"])
    check(entries["/usr/bin/lbcert"][0] == "-rwxr-xr-x", "the binary is 0755")
    check(all(owner == "root/root" for _, owner in entries.values()), "every file is root's")

    ctl = os.path.join(w, "control")
    run("dpkg-deb", "-e", deb, ctl)
    with open(os.path.join(ctl, "conffiles")) as f:
        conf = f.read().split()
    check("/etc/lbcert/lbcert.yaml" in conf and "/etc/lbcert/credentials.yaml" in conf,
          "the configuration files are conffiles", conf)
    check(run("dpkg-deb", "-f", deb, "Version").stdout.strip() == version(),
          "the package version is the project's")
    with open(os.path.join(ctl, "postinst")) as f:
        post = f.read()
    check(post.index("systemd-sysusers") < post.index("systemd-tmpfiles") <
          post.index("credentials.yaml\""),
          "postinst makes the user before its directory and the credentials hand-over", post)

    root = os.path.join(w, "root")
    run("dpkg-deb", "-x", deb, root)
    with open(os.path.join(root, "usr/lib/sysusers.d/lbcert.conf")) as f:
        check(re.search(r"^u lbcert ", f.read(), re.M), "sysusers.d makes the user lbcert")
    with open(os.path.join(root, "usr/lib/tmpfiles.d/lbcert.conf")) as f:
        check("d /var/lib/lbcert 0700 lbcert lbcert" in f.read(), "/var/lib/lbcert is lbcert's, 0700")
    p = run(os.path.join(root, "usr/bin/lbcert"), "--version")
    check(p.returncode == 0 and version() in p.stdout + p.stderr, "the packaged binary runs",
          p.stdout, p.stderr)
    p = run(os.path.join(root, "usr/bin/lbcert"), "-c", os.path.join(root, "etc/lbcert"),
            "--state-dir", os.path.join(w, "state"), "plan")
    check(p.returncode == 0, "the packaged /etc/lbcert skeleton loads", p.stdout, p.stderr)

    install_in_root(w, deb)

    unit = os.path.join(root, "lib/systemd/system/lbcert.service")
    with open(unit) as f:
        text = f.read()
    for want in ("User=lbcert", "ExecStart=/usr/bin/lbcert run", "CapabilityBoundingSet=\n",
                 "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                 "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "LimitCORE=0"):
        check(want in text, f"the unit sets {want.strip()}", text)

    if shutil.which("systemd-analyze") is None:
        print("skip: systemd-analyze not installed: exposure not rated")
    else:
        p = run("systemd-analyze", "security", "--offline=true", "--no-pager", unit)
        m = re.search(r"Overall exposure level for lbcert.service: ([0-9.]+)", p.stdout)
        check(m is not None and float(m.group(1)) <= 2.0,
              "systemd-analyze rates the unit's exposure at most 2.0", p.stdout[-3000:], p.stderr)
        print("exposure", m.group(1))

    if shutil.which("lintian") is None:
        print("skip: lintian not installed")
    else:
        p = run("lintian", "--no-tag-display-limit", deb, timeout=300)
        errors = [l for l in p.stdout.splitlines() if l.startswith("E:")]
        check(not errors, "lintian reports no error", p.stdout)
        print(p.stdout.strip() or "lintian: clean")


if __name__ == "__main__":
    main(scenario)
