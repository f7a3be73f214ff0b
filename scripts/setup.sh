#!/usr/bin/env bash
# Installs the Debian packages lbcert needs to build, test and run its demo.
# Does nothing when they are all present. Needs root to install.
set -euo pipefail

pkgs=(build-essential pkg-config meson ninja-build
      libcurl4-openssl-dev libssl-dev libyaml-dev libjansson-dev
      libsqlite3-dev libcmocka-dev libldns-dev
      pebble python3 openssl curl sqlite3 lego time
      bind9 bind9-utils bind9-dnsutils
      clang libclang-rt-14-dev valgrind
      prometheus
      debhelper dpkg-dev fakeroot lintian)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# bind9 is here for the dns-01 tests (which start their own named on
# 127.0.0.1) and prometheus for promtool (the metrics file's check): their
# daemons are not wanted on a build machine. policy-rc.d keeps the packages
# from starting them, and they are not started at boot either.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ -d /run/systemd/system ]; then
    systemctl disable --now named.service prometheus.service >/dev/null 2>&1 || true
fi
