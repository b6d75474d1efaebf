#!/usr/bin/env bash
# Linux boot under Vbase (Release build): the committed guest/linux Image and initramfs in a 64 MiB, one-vCPU
# domain (scenarios/linux.yaml without its shell command), one run:
#
#   bench/linux-boot.sh [--no-build] [--repeat N]
#
#   wall to init   seconds from starting `vbase run` (the .NET start included) to the console line
#                  "vbase-linux: init" (/init's first line)
#   wall total     seconds to the end of the run (init powers off at once)
#   instructions   retired by the domain up to its poweroff (summary.json); the marker comes a few thousand before
#   MIPS           --stats' figure for the whole run
#
# The issue's target: Linux to its init in <= 15 s wall on a 2-core machine. --repeat N: the best of N runs.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=1
repeat=1
while (($#)); do
    case "$1" in
        --no-build) build=0 ;;
        --repeat) shift; repeat=${1:-}; [[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "linux-boot.sh: --repeat needs a positive number" >&2; exit 2; } ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "linux-boot.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

source bench/lib.sh
release_vbase linux-boot.sh "$build" "$work"

cat > "$work/linux.yaml" <<YAML
name: linux-boot
seed: 1
limits:
  max_instructions: 1_000_000_000
domains:
  - name: linux
    memory: 64M
    kernel: $repo/guest/linux/Image
    initrd: $repo/guest/linux/initramfs.cpio
    bootargs: console=hvc0 earlycon=sbi panic=-1
YAML

best_init="" best_total=""
for ((i = 1; i <= repeat; i++)); do
    start=$(date +%s.%N)
    marker=""
    while IFS= read -r line; do
        if [[ -z $marker && $line == "[linux] vbase-linux: init" ]]; then
            marker=$(date +%s.%N)
        fi
    done < <(vbase run "$work/linux.yaml" --out "$work/out" --stats 2> "$work/stderr")
    end=$(date +%s.%N)
    [[ -n $marker ]] || { cat "$work/stderr" >&2; echo "linux-boot.sh: no init marker on the console" >&2; exit 1; }
    to_init=$(awk "BEGIN { printf \"%.2f\", $marker - $start }")
    total=$(awk "BEGIN { printf \"%.2f\", $end - $start }")
    if [[ -z $best_init ]] || awk "BEGIN { exit !($to_init < $best_init) }"; then best_init=$to_init; fi
    if [[ -z $best_total ]] || awk "BEGIN { exit !($total < $best_total) }"; then best_total=$total; fi
done
instructions=$(sed -n 's/^  "instructions": \([0-9]*\),$/\1/p' "$work/out/summary.json" | head -n1)
mips=$(grep -o '[0-9.]* MIPS' "$work/stderr" | head -n1 || true)
printf '%-16s %s s\n' "wall to init" "$best_init"
printf '%-16s %s s\n' "wall total" "$best_total"
printf '%-16s %s\n' "instructions" "$instructions"
printf '%-16s %s\n' "MIPS" "${mips:-?}"
