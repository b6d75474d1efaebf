#!/usr/bin/env bash
# Hypervisor and architecture costs, measured in one run (Release build):
#
#   bench/domains.sh [--no-build] [--repeat N]
#
#   1. the CPU benchmark bare-metal (`vbase exec guest/bin/cpubench.elf`) against the same benchmark as a
#      process under the guest kernel in a guest domain (bench/scenarios/cpubench-domain.yaml), and in a
#      guest domain under vbase with a protected page it never touches (bench/scenarios/cpubench-vbase.yaml),
#      and the same ELF under qemu-system-riscv64 (installed with apt if missing);
#   2. the vault application (guest/apps/vault.c) under the `none` and the `vbase` architectures
#      (bench/scenarios/vault-*.yaml).
#
# Wall seconds include .NET start-up; run seconds are what `--stats` measured (the run itself, for domains
# from loading the images, kernel boot included). Each row is the best of N runs (default 3): on a shared
# machine the minimum is the least disturbed measurement. QEMU has only wall time. See bench/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=1
repeat=3
while (($#)); do
    case "$1" in
        --no-build) build=0 ;;
        --repeat) shift; repeat=${1:-}; [[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "domains.sh: --repeat needs a positive number" >&2; exit 2; } ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "domains.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

source bench/lib.sh
release_vbase domains.sh "$build" "$work"

min() { awk "BEGIN { print ($1 < $2) ? $1 : $2 }"; }

# The run time that `--stats` printed: "vbase: N instructions in X s, M MIPS" (without .NET start-up).
stats_secs() { grep -oE 'instructions in [0-9.]+ s' "$1" | tail -n1 | grep -oE '[0-9.]+'; }

# Runs a scenario $repeat times; sets secs and run_secs (the best wall and run times) and insns (summary.json).
run_scenario() {
    local t0 t1 i out=$work/$(basename "$1" .yaml)
    secs="" run_secs=""
    for ((i = 0; i < repeat; i++)); do
        t0=$(now)
        vbase run --stats "$1" --out "$out" > "$out.console" 2>&1 || { cat "$out.console" >&2; echo "domains.sh: $1 failed" >&2; exit 1; }
        t1=$(now)
        secs=$([[ -z "$secs" ]] && calc "$t1 - $t0" || min "$secs" "$(calc "$t1 - $t0")")
        run_secs=$([[ -z "$run_secs" ]] && stats_secs "$out.console" || min "$run_secs" "$(stats_secs "$out.console")")
    done
    insns=$(grep -oE '"instructions": *[0-9]+' "$out/summary.json" | head -n1 | grep -oE '[0-9]+$')
}

echo "running: vbase exec --stats guest/bin/cpubench.elf (best of $repeat)"
bare_secs="" bare_run_secs=""
for ((i = 0; i < repeat; i++)); do
    t0=$(now)
    vbase exec --stats guest/bin/cpubench.elf > /dev/null 2> "$work/bare.err"
    t1=$(now)
    bare_secs=$([[ -z "$bare_secs" ]] && calc "$t1 - $t0" || min "$bare_secs" "$(calc "$t1 - $t0")")
    bare_run_secs=$([[ -z "$bare_run_secs" ]] && stats_secs "$work/bare.err" || min "$bare_run_secs" "$(stats_secs "$work/bare.err")")
done
bare_insns=$(grep -oE '[0-9][0-9,_]* instructions' "$work/bare.err" | head -n1 | tr -d ',_' | grep -oE '^[0-9]+')

echo "running: vbase run bench/scenarios/cpubench-domain.yaml"
run_scenario bench/scenarios/cpubench-domain.yaml
dom_secs=$secs dom_run_secs=$run_secs dom_insns=$insns
echo "running: vbase run bench/scenarios/cpubench-vbase.yaml"
run_scenario bench/scenarios/cpubench-vbase.yaml
sec_secs=$secs sec_run_secs=$run_secs sec_insns=$insns
echo "running: vbase run bench/scenarios/vault-none.yaml"
run_scenario bench/scenarios/vault-none.yaml
none_secs=$secs none_run_secs=$run_secs none_insns=$insns
echo "running: vbase run bench/scenarios/vault-vbase.yaml"
run_scenario bench/scenarios/vault-vbase.yaml
vb_secs=$secs vb_run_secs=$run_secs vb_insns=$insns

if ! command -v qemu-system-riscv64 >/dev/null; then
    echo "domains.sh: installing qemu-system-misc" >&2
    sudo_=""
    [[ $(id -u) -eq 0 ]] || sudo_=sudo
    $sudo_ apt-get install -y qemu-system-misc >/dev/null 2>&1 ||
        { $sudo_ apt-get update >/dev/null && $sudo_ apt-get install -y qemu-system-misc >/dev/null; } || true
fi
qemu_secs=""
if command -v qemu-system-riscv64 >/dev/null; then
    echo "running: qemu-system-riscv64 -machine virt -bios none -nographic -kernel guest/bin/cpubench.elf (best of $repeat)"
    for ((i = 0; i < repeat; i++)); do
        t0=$(now)
        timeout 600 qemu-system-riscv64 -machine virt -bios none -nographic -kernel guest/bin/cpubench.elf < /dev/null > /dev/null 2>&1 || true
        t1=$(now)
        qemu_secs=$([[ -z "$qemu_secs" ]] && calc "$t1 - $t0" || min "$qemu_secs" "$(calc "$t1 - $t0")")
    done
fi

echo
# wall: the whole process, .NET start-up included; run: what --stats measured (the run itself); MIPS from run.
printf '%-34s %14s %8s %8s %8s\n' "" "instructions" "wall s" "run s" "MIPS"
row() { printf '%-34s %14s %8s %8s %8s\n' "$1" "$2" "$3" "$4" "$(calc "$2 / $4 / 1e6" 1)"; }
row "cpubench, bare metal (exec)" "$bare_insns" "$bare_secs" "$bare_run_secs"
row "cpubench, guest domain (run)" "$dom_insns" "$dom_secs" "$dom_run_secs"
row "cpubench, guest domain, vbase" "$sec_insns" "$sec_secs" "$sec_run_secs"
[[ -n "$qemu_secs" ]] && row "cpubench, QEMU (same ELF as exec)" "$bare_insns" "$qemu_secs" "$qemu_secs"
row "vault, arch none" "$none_insns" "$none_secs" "$none_run_secs"
row "vault, arch vbase" "$vb_insns" "$vb_secs" "$vb_run_secs"
echo
echo "                                 wall    run"
ratio() { echo "$(printf '%-32s' "$1") $(calc "$2 / $3" 3)  $(calc "$4 / $5" 3)"; }
ratio "guest domain / bare metal:" "$dom_secs" "$bare_secs" "$dom_run_secs" "$bare_run_secs"
ratio "domain with vbase / bare metal:" "$sec_secs" "$bare_secs" "$sec_run_secs" "$bare_run_secs"
[[ -n "$qemu_secs" ]] && ratio "bare metal / QEMU:" "$bare_secs" "$qemu_secs" "$bare_run_secs" "$qemu_secs"
ratio "vault vbase / none:" "$vb_secs" "$none_secs" "$vb_run_secs" "$none_run_secs"
