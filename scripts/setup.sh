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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# prometheus is here for promtool (the metrics file's check); its
# server is not wanted running on a build machine.
