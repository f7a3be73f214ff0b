#!/usr/bin/env bash
# Builds the Debian package: lbcert_<version>_<arch>.deb in OUTDIR (default
# dist/). The tracked files are copied to a scratch directory first, so
# that dpkg-buildpackage leaves neither the work tree nor its parent
# directory changed.
#   scripts/package.sh [OUTDIR]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

mkdir "$scratch/lbcert"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked and new (not ignored) files: what a commit of this tree holds
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            [ -e "$src/$f" ] && printf '%s\0' "$f"   # not a deletion yet to commit
        done | (cd "$src" && xargs -0 -r cp --parents -t "$scratch/lbcert")
else
    tar -C "$src" --exclude='./build*' --exclude=./dist -cf - . | tar -C "$scratch/lbcert" -xf -
fi
chmod +x "$scratch/lbcert/debian/rules"

cd "$scratch/lbcert"
DEB_BUILD_OPTIONS="nocheck parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b >"$scratch/build.log" 2>&1 || {
    tail -n 40 "$scratch/build.log" >&2
    echo "package: dpkg-buildpackage failed" >&2
    exit 1
}
debs=("$scratch"/lbcert_*.deb)
cp "${debs[@]}" "$out/"
for d in "${debs[@]}"; do
    echo "$out/$(basename "$d")"
done
