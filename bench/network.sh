#!/usr/bin/env bash
# The network's figures, from one run of bench/scenarios/udp-bench.yaml (Release build):
#
#   bench/network.sh [--no-build]
#
#   - frames per second through Dom0's bridge, host wall clock: the frames in the run's network.pcap over the run
#     time `--stats` measured (everything a frame costs: the guests' UDP/IP stacks and drivers, the virtio queues,
#     the bridge, the capture);
#   - the UDP round-trip time in virtual time (ticks; one tick is one nanosecond in the capture), as the client
#     measured it over 1000 echoes: min, average, max; and the bridge's one-way latency, which is part of it;
#   - instructions per round trip (both VMs together).
#
# One run, not a loop: on a shared machine rerun it to see the spread. See bench/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=1
while (($#)); do
    case "$1" in
        --no-build) build=0 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "network.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

source bench/lib.sh
release_vbase network.sh "$build" "$work"

scenario=bench/scenarios/udp-bench.yaml
echo "running: vbase run --stats $scenario"
vbase run --stats "$scenario" --out "$work/out" > "$work/console" 2>&1 || { cat "$work/console" >&2; echo "network.sh: the run failed" >&2; exit 1; }
grep -q 'udp-echo-client: 1000 of 1000 echoes' "$work/console" || { cat "$work/console" >&2; echo "network.sh: not every echo came back" >&2; exit 1; }

run_secs=$(grep -oE 'instructions in [0-9.]+ s' "$work/console" | tail -n1 | grep -oE '[0-9.]+')
insns=$(grep -oE '"instructions": *[0-9]+' "$work/out/summary.json" | head -n1 | grep -oE '[0-9]+$')
# Every frame of the run has the same size, so the records are the file (after its 24-byte header) over 16 bytes of
# record header plus the first record's length (at offset 32): no Wireshark needed.
pcap=$work/out/network.pcap
size=$(stat -c %s "$pcap")
first=$(od -An -tu4 -j32 -N4 "$pcap" | tr -d ' ')
(( (size - 24) % (16 + first) == 0 )) || { echo "network.sh: the capture's frames are not all $first bytes" >&2; exit 1; }
frames=$(( (size - 24) / (16 + first) ))
read -r rmin ravg rmax < <(grep -oE 'rtt min [0-9]+ avg [0-9]+ max [0-9]+' "$work/console" | awk '{ print $3, $5, $7 }')
latency=$(grep -oE 'latency: [0-9_]+' "$scenario" | grep -oE '[0-9_]+' | tr -d _ || true)
latency=${latency:-10000}

printf '%-40s %s\n' "frames through the bridge" "$frames"
printf '%-40s %s\n' "run seconds (--stats)" "$run_secs"
printf '%-40s %s\n' "frames per second (host wall)" "$(calc "$frames / $run_secs" 0)"
printf '%-40s %s\n' "UDP round trip, virtual ticks (min)" "$rmin"
printf '%-40s %s\n' "UDP round trip, virtual ticks (avg)" "$ravg"
printf '%-40s %s\n' "UDP round trip, virtual ticks (max)" "$rmax"
printf '%-40s %s\n' "bridge latency, ticks one way" "$latency"
printf '%-40s %s\n' "instructions per round trip (both VMs)" "$(calc "$insns / 1000" 0)"
