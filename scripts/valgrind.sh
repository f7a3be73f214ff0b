#!/usr/bin/env bash
# Runs the integration scenarios with lbcert (and the devctl / cactl test
# tools) under valgrind memcheck, then prints per scenario: its result,
# the processes checked, memcheck errors and definitely lost bytes. A
# process with an error or a definite leak exits 99, which fails its
# scenario too. Logs: build/valgrind/<scenario>/. Slow (memcheck runs
# lbcert some 20-50 times slower): not part of scripts/test.sh.
# Usage: scripts/valgrind.sh [SCENARIO...]   (names as in tests/integration/test_NAME.py)
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1
if [ ! -f build/build.ninja ]; then
    meson setup build -Dtests=true >build.setup.log 2>&1 || { cat build.setup.log; exit 1; }
fi
ninja -C build >build.ninja.log 2>&1 || { tail -50 build.ninja.log; exit 1; }

out=$PWD/build/valgrind
rm -rf "$out"
mkdir -p "$out/bin"
for tool in lbcert devctl cactl; do
    cat >"$out/bin/$tool" <<WRAP
#!/bin/sh
exec valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \\
    --errors-for-leak-kinds=definite --track-origins=yes --num-callers=30 \\
    --log-file="\$VG_LOGDIR/$tool.%p.log" "$PWD/build/$tool" "\$@"
WRAP
    chmod +x "$out/bin/$tool"
done

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in tests/integration/test_*.py; do
        n=${f##*/test_}
        names+=("${n%.py}")
    done
fi

total_err=0 total_lost=0 failed=0
printf '%-32s %-6s %6s %7s %12s\n' scenario result procs errors "def. lost"
for n in "${names[@]}"; do
    logdir=$out/$n
    mkdir -p "$logdir"
    VG_LOGDIR=$logdir LBCERT_BIN=$out/bin/lbcert LBCERT_DEVCTL=$out/bin/devctl \
        LBCERT_CACTL=$out/bin/cactl LBCERT_TEST_ACME=$PWD/build/test_acme LBCERT_SRC=$PWD \
        timeout 3600 python3 "tests/integration/test_$n.py" >"$logdir/scenario.log" 2>&1
    rc=$?
    read -r procs errs lost < <(python3 - "$logdir" <<'PY'
import glob, re, sys
procs = errs = lost = 0
for f in glob.glob(sys.argv[1] + "/*.*.log"):
    t = open(f, errors="replace").read()
    procs += 1
    m = re.findall(r"ERROR SUMMARY: ([\d,]+) errors", t)
    if m:
        errs += int(m[-1].replace(",", ""))
    m = re.findall(r"definitely lost: ([\d,]+) bytes", t)
    if m:
        lost += int(m[-1].replace(",", ""))
print(procs, errs, lost)
PY
)
    res=ok
    [ $rc -eq 0 ] || { res=FAIL; failed=$((failed + 1)); }
    total_err=$((total_err + errs))
    total_lost=$((total_lost + lost))
    printf '%-32s %-6s %6s %7s %12s\n' "$n" "$res" "$procs" "$errs" "$lost"
done
echo "total: ${#names[@]} scenarios, $failed failed, $total_err memcheck errors, $total_lost bytes definitely lost"
[ $failed -eq 0 ] && [ $total_err -eq 0 ] && [ $total_lost -eq 0 ]
