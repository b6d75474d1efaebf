#!/usr/bin/env bash
# What a hostile guest can make the host keep, measured (Release build):
#
#   bench/hostile.sh [--no-build] [--instructions N] [--region-instructions N]
#
# Runs each hostile guest kernel of guest/hostile/ (bench/hostile/*.yaml) with `vbase run --out` for a fixed
# instruction budget under /usr/bin/time, and prints per run: the outcome, max RSS, wall seconds, the size of
# events.jsonl and of the console log, and how many events the flood limiter folded (log.suppressed). The
# region loop runs once per architecture with a smaller budget: every turn re-encrypts 2 MiB (and, for the
# MACed designs, re-tags 32,768 lines), so a turn costs the host 0.2-100 ms. Bounds: docs/robustness.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=1
instructions=2000000000
region_instructions=8000
while (($#)); do
    case "$1" in
        --no-build) build=0 ;;
        --instructions) shift; instructions=${1:-} ;;
        --region-instructions) shift; region_instructions=${1:-} ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "hostile.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[[ "$instructions" =~ ^[1-9][0-9]*$ && "$region_instructions" =~ ^[1-9][0-9]*$ ]] \
    || { echo "hostile.sh: budgets are positive numbers" >&2; exit 2; }
if [[ ! -x /usr/bin/time ]]; then
    apt-get install -y -q time >/dev/null
fi
if ((build)); then
    dotnet build -c Release src/Vbase.Cli -v q -nologo >/dev/null
fi
vbase=(dotnet src/Vbase.Cli/bin/Release/net10.0/vbase.dll)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

printf '%-22s %12s %9s %9s %14s %14s %14s %11s\n' run instructions outcome "RSS MiB" "wall s" "events bytes" "console bytes" suppressed
one() {
    local name=$1 budget=$2 dir="$out/$1"
    local status=0
    /usr/bin/time -f '%M %e' -o "$out/$name.time" "${vbase[@]}" run "bench/hostile/$name.yaml" --out "$dir" \
        --max-instructions "$budget" >/dev/null 2>"$out/$name.err" || status=$?
    read -r rss wall < <(tail -1 "$out/$name.time")
    local outcome
    outcome=$(sed -n 's/.*"outcome": "\([a-z_]*\)".*/\1/p' "$dir/summary.json" 2>/dev/null || echo "exit $status")
    local events console suppressed
    events=$(stat -c %s "$dir/events.jsonl")
    console=$(cat "$dir"/console-*.log | wc -c)
    suppressed=$(grep -o '"kind":"log.suppressed"[^}]*suppressed=[0-9]*' "$dir/events.jsonl" | sed 's/.*suppressed=//' | paste -sd+ | bc 2>/dev/null || echo 0)
    printf '%-22s %12s %9s %9.1f %14s %14s %14s %11s\n' "$name" "$budget" "$outcome" "$(echo "$rss / 1024" | bc -l)" "$wall" "$events" "$console" "${suppressed:-0}"
}
for name in console ro-stores time; do
    one "$name" "$instructions"
done
for arch in none vbase xom aegis bmt sev sev-snp sgx-mee pmp; do
    one "regions-$arch" "$region_instructions"
done
