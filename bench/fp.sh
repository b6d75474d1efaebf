#!/usr/bin/env bash
# The FP benchmark: Vbase (translator and interpreter) against QEMU on the
# same images, in the same run, with the ratio.
#
#   bench/fp.sh [--no-build] [--full]
#
# fpbench.elf (mandelbrot, a force loop with sqrt/divide, single-precision
# fused multiply-adds) and, with --full, fpdiff-full.elf: 100,000 random
# cases per F/D instruction (1.8e9 instructions), whose output must match
# QEMU's byte for byte.  VBASE=/path/to/vbase overrides the binary.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=1 full=0
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        --full) full=1 ;;
        *) echo "fp.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
if ((build)); then
    dotnet build -c Release src/Vbase.Cli > /dev/null
fi
vbase=${VBASE:-src/Vbase.Cli/bin/Release/net10.0/vbase}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
images=(guest/bin/fpbench.elf)
((full)) && images+=(guest/bin/fpdiff-full.elf)
status=0
for elf in "${images[@]}"; do
    t0=$(now); qemu-system-riscv64 -machine virt -bios none -nographic -kernel "$elf" < /dev/null > "$work/qemu.out"; t1=$(now)
    "$vbase" exec --stats "$elf" < /dev/null > "$work/tr.out" 2> "$work/tr.err"; t2=$(now)
    "$vbase" exec --stats --engine interpreter "$elf" < /dev/null > "$work/in.out" 2> "$work/in.err"; t3=$(now)
    q=$(calc "$t1 - $t0"); tr=$(calc "$t2 - $t1"); in=$(calc "$t3 - $t2")
    same=identical
    cmp -s "$work/qemu.out" "$work/tr.out" && cmp -s "$work/qemu.out" "$work/in.out" || { same=DIFFERENT; status=1; }
    echo "$(basename "$elf"): output $same; $(sed 's/^vbase: //' "$work/tr.err")"
    echo "  wall s: qemu $q, vbase translator $tr (x$(calc "$tr / $q") qemu), interpreter $in (x$(calc "$in / $q") qemu)"
done
exit $status
