#!/usr/bin/env bash
# Checks the committed Linux guest (Image, initramfs.cpio) against PROVENANCE.
#
# - The recorded inputs still hold (the Debian packages' versions, the BusyBox
#   source version apt would fetch, the recipe files' hashes): the images are
#   only verified against their recorded hashes (seconds).
# - An input changed: the images are rebuilt from scratch in a temporary
#   folder (about 10 minutes on 2 cores) and compared byte for byte with the
#   committed ones; PROVENANCE must then be rewritten (make provenance).
#
# Exits 1 naming what differs.  Needs the packages .ci/run installs (and
# deb-src for apt-get source busybox) only when it rebuilds.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
prov=PROVENANCE
fail() { echo "check-linux: $*" >&2; exit 1; }
[[ -f $prov ]] || fail "no $prov"

changed=()
while read -r kind name value; do
    case "$kind" in
        package) got=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null || echo "not installed") ;;
        source) got=$(./packages.sh version-of-source "$name"); got=${got:-unknown} ;;
        input) got=$(sha256sum "$name" 2>/dev/null | cut -d' ' -f1 || echo missing) ;;
        *) continue ;;
    esac
    [[ $got == "$value" ]] || changed+=("$kind $name: recorded $value, now $got")
done < "$prov"
# Every input and package named by packages.sh must be recorded (a new input is a change too).
for f in $(./packages.sh inputs); do grep -q "^input $f " "$prov" || changed+=("input $f: not recorded"); done
for p in $(./packages.sh binary); do grep -q "^package $p " "$prov" || changed+=("package $p: not recorded"); done

verify_outputs() {
    local dir=$1 bad=0
    while read -r kind name value; do
        [[ $kind == output ]] || continue
        got=$(sha256sum "$dir/$name" | cut -d' ' -f1)
        if [[ $got != "$value" ]]; then
            echo "check-linux: $name: sha256 $got, PROVENANCE records $value" >&2
            bad=1
        fi
    done < "$prov"
    return $bad
}

if ((${#changed[@]} == 0)); then
    verify_outputs "$here" || fail "the committed images differ from PROVENANCE (rebuild: make -C guest/linux && make -C guest/linux provenance)"
    echo "check-linux: inputs unchanged; Image and initramfs.cpio match PROVENANCE"
    exit 0
fi

echo "check-linux: inputs changed, rebuilding:"
printf '  %s\n' "${changed[@]}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/linux"
# Each input at its place relative to guest/linux (../apps/x.c lands in $scratch/apps).
for f in $(./packages.sh inputs) packages.sh provenance.sh; do
    mkdir -p "$scratch/linux/$(dirname "$f")" && cp -p "$f" "$scratch/linux/$f"
done
if ! make -C "$scratch/linux" BUILD="$scratch/build" JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}" > "$scratch/build.log" 2>&1; then
    tail -50 "$scratch/build.log" >&2
    fail "the Linux guest build failed"
fi
bad=()
for f in Image initramfs.cpio; do
    cmp -s "$scratch/linux/$f" "$here/$f" || bad+=("$f")
done
((${#bad[@]} == 0)) || fail "a fresh build differs from the committed ${bad[*]}: run 'make -C guest/linux && make -C guest/linux provenance' and commit"
fail "a fresh build matches the committed images, but PROVENANCE is stale: run 'make -C guest/linux provenance' and commit"
