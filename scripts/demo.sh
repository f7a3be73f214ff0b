#!/usr/bin/env bash
# Installs what is missing, builds lbcert, and runs the demo: Pebble (ACME
# with EAB) and the simulated Citrix ADC pair, BIG-IP pair and Sectigo SCM
# on loopback, a real enrollment of every example profile, then status.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec python3 scripts/demo.py "$@"
