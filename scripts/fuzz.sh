#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs
# every target for SECONDS (default 60) from its seed corpus in
# tests/fuzz/corpus/<target>/. Prints executions and crashes per target;
# a crash leaves its input in build-fuzz/artifacts/. Exits non-zero when a
# target failed. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
        -Db_lundef=false >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
fi
ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { tail -50 "$dir.ninja.log"; exit 1; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        t=${f##*/fuzz_}
        targets+=("${t%.c}")
    done
fi

export FUZZ_ARTIFACTS=$PWD/$dir/artifacts
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
mkdir -p "$dir/logs"
failed=0
printf '%-10s %12s %10s %8s %s\n' target executions exec/s crashes result
for t in "${targets[@]}"; do
    log=$dir/logs/fuzz_$t.log
    sh tests/fuzz/run.sh "$dir/tests/fuzz/fuzz_$t" "tests/fuzz/corpus/$t" "$secs" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    crashes=$(grep -c '^==[0-9]*==ERROR\|^SUMMARY: UndefinedBehaviorSanitizer\|property failed' "$log")
    if [ $rc -eq 0 ]; then res=ok; else res="FAILED (see $log)"; failed=1; fi
    printf '%-10s %12s %10s %8s %s\n' "$t" "${runs:-?}" "${rate:-?}" "$crashes" "$res"
done
exit $failed
