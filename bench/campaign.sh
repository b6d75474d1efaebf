#!/usr/bin/env bash
# Campaign throughput, for sizing a cluster (Release build):
#
#   bench/campaign.sh [--no-build] [--repeat N] [--shards N] [--app NAME]
#
#   1. the default campaign (every architecture x every attack, app vault, seed 1) with --jobs 1 and with
#      --jobs <processors>: wall seconds, cells per minute, and cells per minute per core;
#   2. the same campaign as N shards (default 4) run one after another with --jobs 1, merged: what a shard's own
#      process costs beyond its cells (.NET start-up, the plan, the part), and a check that the merge gives the
#      unsharded JSON byte for byte.
#
# Wall times include .NET start-up; each row is the best of N runs (default 3), since on a shared machine the
# minimum is the least disturbed figure. The campaign with the Linux App VM is not measured: that VM does not
# exist yet. See bench/README.md and docs/campaigns.md ("How long a campaign takes").
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=1
repeat=3
shards=4
app=vault
while (($#)); do
    case "$1" in
        --no-build) build=0 ;;
        --repeat) shift; repeat=${1:-}; [[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "campaign.sh: --repeat needs a positive number" >&2; exit 2; } ;;
        --shards) shift; shards=${1:-}; [[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "campaign.sh: --shards needs a positive number" >&2; exit 2; } ;;
        --app) shift; app=${1:-} ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "campaign.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
now() { date +%s.%N; }

source bench/lib.sh
release_vbase campaign.sh "$build" "$work"
cores=$(nproc)

# Best wall seconds of $repeat runs of "$@" (each writes its JSON to $work/best.json).
best() {
    local fastest="" start end took
    for ((i = 0; i < repeat; i++)); do
        start=$(now)
        "$@" > "$work/run.log" 2>&1 || { cat "$work/run.log" >&2; echo "campaign.sh: run failed: $*" >&2; exit 1; }
        end=$(now)
        took=$(calc "$end - $start" 3)
        if [[ -z "$fastest" ]] || awk "BEGIN { exit !($took < $fastest) }"; then fastest=$took; fi
    done
    echo "$fastest"
}

one=$(best vbase campaign --app "$app" --jobs 1 --json "$work/one.json")
# Each cell has an "attack" field; the summary's objects do not.
cells=$(grep -c '^      "attack": ' "$work/one.json")
echo "default campaign: $cells cells, app $app, $cores processors, best of $repeat"
echo
printf '%-34s %8s %10s %16s\n' "" "wall s" "cells/min" "cells/min/core"
printf '%-34s %8s %10s %16s\n' "--jobs 1" "$one" "$(calc "$cells * 60 / $one")" "$(calc "$cells * 60 / $one")"
all=$(best vbase campaign --app "$app" --jobs "$cores" --json "$work/all.json")
printf '%-34s %8s %10s %16s\n' "--jobs $cores" "$all" "$(calc "$cells * 60 / $all")" "$(calc "$cells * 60 / $all / $cores")"

# The shards one after another, as $shards tasks of one core each would run them.
sharded() {
    for ((k = 1; k <= shards; k++)); do
        vbase campaign --app "$app" --jobs 1 --shard "$k/$shards" --json "$work/part-$k.json" || return 1
    done
}
split=$(best sharded)
parts=()
for ((k = 1; k <= shards; k++)); do parts+=("$work/part-$k.json"); done
vbase campaign merge "${parts[@]}" --json "$work/merged.json" > /dev/null
if cmp -s "$work/one.json" "$work/merged.json"; then same="identical to the unsharded JSON"; else same="DIFFERENT from the unsharded JSON"; fi
printf '%-34s %8s %10s %16s\n' "$shards shards one after another" "$split" "$(calc "$cells * 60 / $split")" "$(calc "$cells * 60 / $split")"
echo
echo "per shard beyond its cells: $(calc "($split - $one) / $shards" 2) s (process start-up, plan, part)"
echo "merged JSON of the $shards parts: $same"
echo "with the Linux App VM: not measured (that VM does not exist yet)"
[[ "$same" == identical* ]]
