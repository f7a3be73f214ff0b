#!/usr/bin/env bash
# Installs what is missing, builds lbcert twice (plain, and with
# AddressSanitizer + UBSan), runs the whole suite on the sanitizer build,
# then builds the libFuzzer targets with clang (build-fuzz/) and runs each
# for a few seconds from its corpus (FUZZ_SECONDS, default 5), and ends
# with one line "N passed, N failed" over both.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1

build() { # dir, extra meson options...
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    fi
    ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { tail -50 "$dir.ninja.log"; return 1; }
}

build build -Dtests=true || { echo "0 passed, 1 failed"; exit 1; }
build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dtests=true \
    || { echo "0 passed, 1 failed"; exit 1; }

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
meson test -C build-asan --print-errorlogs --num-processes 2 "$@"
status=$?

# The fuzz smoke: every seed and regression input, then a short run. Not
# when the caller picked tests by name.
logs=(build-asan/meson-logs/testlog.json)
fuzz_failed=0
if [ $# -eq 0 ]; then
    rm -f build-fuzz/meson-logs/testlog.json
    if CC=clang build build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
        -Db_lundef=false; then
        meson configure build-fuzz -Dfuzz_seconds="${FUZZ_SECONDS:-5}" >/dev/null
        meson test -C build-fuzz --print-errorlogs --num-processes 2 --suite fuzz \
            || status=1
        logs+=(build-fuzz/meson-logs/testlog.json)
    else
        echo "test: the fuzz targets do not build" >&2
        fuzz_failed=1
        status=1
    fi
fi

python3 - "$fuzz_failed" "${logs[@]}" <<'PY'
import json, sys
passed = skipped = 0
failed = int(sys.argv[1])
for log in sys.argv[2:]:
    for line in open(log):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
