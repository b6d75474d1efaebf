#!/usr/bin/env bash
# Protected work at the DRAM boundary, measured in one run (Release build):
#
#   bench/boundary.sh [--no-build] [--repeat N] [--archs LIST] [--sweep SIZES] [--code]
#
#   1. speed: guest/apps/workset.c (a U-mode program doing real work on a 384 KiB working set, about 850 M
#      instructions) unprotected (workset-plain.elf) and with the whole set one protected region (workset.elf) under
#      every architecture, default 1 MiB 16-way last-level cache: MIPS and the ratio to unprotected; with --code also
#      with the work's code inside the region (workset-code.elf: every instruction fetched through the boundary);
#   2. cost: the first 200 M instructions of the same protected run under every architecture with the cache swept
#      (default 64K 128K 256K 512K 1M): data and metadata lines moved, the cost model's cycles and the estimated
#      slowdown against none at that size.
#
# MIPS come from `--stats` (the run itself); each speed row is the best of N runs (default 3). The cost figures are
# deterministic (virtual time, counted lines): one run each. Scenarios are written to a scratch folder. See
# bench/README.md and docs/architectures.md ("what protection costs").
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=1
repeat=3
code=0
archs="none vbase xom aegis sgx-mee sev sev-snp bmt pmp"
sweep="64K 128K 256K 512K 1M"
while (($#)); do
    case "$1" in
        --no-build) build=0 ;;
        --repeat) shift; repeat=${1:-}; [[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "boundary.sh: --repeat needs a positive number" >&2; exit 2; } ;;
        --archs) shift; archs=${1//,/ } ;;
        --sweep) shift; sweep=${1//,/ } ;;
        --code) code=1 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "boundary.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

source bench/lib.sh
release_vbase boundary.sh "$build" "$work"

scenario() { # name arch program
    cat > "$work/$1.yaml" <<YAML
name: $1
arch: $2
seed: 1
domains:
  - name: app
    memory: 16M
    kernel: $repo/guest/bin/kernel.elf
    programs:
      - $repo/guest/bin/apps/$3
YAML
    echo "$work/$1.yaml"
}

# The best MIPS of $repeat runs of a scenario (extra arguments go to vbase run).
best_mips() {
    local file=$1 best=0 i mips
    shift
    for ((i = 0; i < repeat; i++)); do
        vbase run --stats "$file" "$@" > "$work/out.txt" 2>&1 || { cat "$work/out.txt" >&2; echo "boundary.sh: $file failed" >&2; exit 1; }
        mips=$(grep -oE '[0-9.,]+ MIPS' "$work/out.txt" | tail -n1 | tr -d ', MIPS')
        best=$(awk "BEGIN { print ($mips > $best) ? $mips : $best }")
    done
    echo "$best"
}

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo
echo "1. speed: 384 KiB working set, whole set protected, 1 MiB 16-way cache (best of $repeat; ratio to unprotected)"
plain=$(best_mips "$(scenario plain none workset-plain.elf)")
printf '   %-10s %9s MIPS\n' "unprotected" "$plain"
for a in $archs; do
    m=$(best_mips "$(scenario "ws-$a" "$a" workset.elf)")
    if ((code)); then
        c=$(best_mips "$(scenario "wc-$a" "$a" workset-code.elf)")
        printf '   %-10s %9s MIPS   %s x   code protected too: %9s MIPS   %s x\n' "$a" "$m" "$(calc "$m / $plain" 2)" "$c" "$(calc "$c / $plain" 2)"
    else
        printf '   %-10s %9s MIPS   %s x\n' "$a" "$m" "$(calc "$m / $plain" 2)"
    fi
done

echo
echo "2. cost against none, cache swept (lines = data + metadata lines to and from DRAM; slowdown = est. cycles / none's)"
printf '   %-8s' "cache"
for a in $archs; do printf ' %18s' "$a"; done
echo
for size in $sweep; do
    printf '   %-8s' "$size"
    cost() { # arch → "cycles lines" at this size
        local out=$work/cost-$1-$size
        # The first 200 M instructions (exit code 124: the limit): misses under a small cache cost host time.
        local rc=0
        vbase run "$(scenario "cost-$1" "$1" workset.elf)" --llc-size "$size" --max-instructions 200_000_000 --out "$out" > /dev/null 2>&1 || rc=$?
        ((rc == 0 || rc == 124)) || { echo "boundary.sh: $1 at $size failed (exit $rc)" >&2; exit 1; }
        json "$out/summary.json" "'%d %d' % (d['dram']['cycles'], d['dram']['data_reads']+d['dram']['data_writes']+d['dram']['metadata_reads']+d['dram']['metadata_writes'])"
    }
    read -r base _ <<< "$(cost none)"
    for a in $archs; do
        read -r cycles lines <<< "$(cost "$a")"
        printf ' %9s %7sx' "$lines" "$(calc "$cycles / $base" 3)"
    done
    echo
done
