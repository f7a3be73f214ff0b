#!/bin/sh
# run.sh FUZZER CORPUS SECONDS: runs one libFuzzer target for SECONDS from
# its seed corpus (every seed and regression input runs first). New inputs
# go to a scratch directory, never into the corpus; a crash leaves its
# input as fuzz-<target>-crash-* in $FUZZ_ARTIFACTS (default: the current
# directory) and fails.
set -u
exe=$1 corpus=$2 secs=$3
name=$(basename "$exe")
art=${FUZZ_ARTIFACTS:-$PWD}
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
dict=$(dirname "$(dirname "$corpus")")/${name#fuzz_}.dict
mkdir -p "$art"
set --
[ -f "$dict" ] && set -- -dict="$dict"
# libFuzzer exits 77 on a crash by default, which the test runner counts as
# "skipped": a crash must fail.
"$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 -artifact_prefix="$art/$name-" "$@" "$work" "$corpus"
