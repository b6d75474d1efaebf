#!/usr/bin/env bash
# Verifies that the committed guest images (every file under guest/bin:
# bin/*.elf, bin/apps/*.elf, ...) are exactly what the sources build:
# rebuilds guest/ in a scratch directory and compares byte for byte.
# Exits 1 naming every image that differs, is missing from git, or is
# committed but no longer built.
#
# Needs the cross toolchain (gcc-riscv64-unknown-elf).  Building in another
# directory on purpose also checks that the build does not depend on where
# the tree lives.
set -euo pipefail

guest=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# A copy of the sources without build products.
mkdir -p "$scratch/guest"
tar -C "$guest" --exclude=./build --exclude=./bin -cf - . | tar -C "$scratch/guest" -xf -

if ! make -C "$scratch/guest" -j"$(nproc 2>/dev/null || echo 2)" > "$scratch/build.log" 2>&1; then
    cat "$scratch/build.log" >&2
    echo "check-images: the guest build failed" >&2
    exit 1
fi

# Every file under bin/, as paths relative to guest/ (bin/x.elf, bin/apps/y.elf).
images() {
    (cd "$1" && find bin -type f | LC_ALL=C sort)
}

bad=()
while IFS= read -r name; do
    if [[ ! -f "$guest/$name" ]]; then
        bad+=("$name (built but not committed)")
    elif ! cmp -s "$scratch/guest/$name" "$guest/$name"; then
        bad+=("$name (differs from a fresh build)")
    fi
done < <(images "$scratch/guest")
while IFS= read -r name; do
    [[ -f "$scratch/guest/$name" ]] || bad+=("$name (committed but no longer built)")
done < <(images "$guest")

if ((${#bad[@]})); then
    echo "check-images: stale guest images - run 'make -C guest' and commit guest/bin:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
count=$(images "$guest" | wc -l)
echo "check-images: all $count guest images match a fresh build"
