#!/usr/bin/env bash
# Compares Vbase with QEMU on the same guest image (default: cpubench).
#
#   bench/run.sh [--qemu-only] [--no-build] [ELF]
#
# VBASE=/path/to/vbase overrides the binary found under src/Vbase.Cli/bin.
#
# Builds the vbase CLI in Release, runs `vbase exec --stats ELF` and
# `qemu-system-riscv64 -machine virt -bios none -nographic -kernel ELF`,
# checks that both printed the same thing and prints a table of times and
# MIPS.  QEMU's MIPS is estimated from Vbase's retired-instruction count
# (the two execute the same instructions), or from guest/README.md's count
# for cpubench when Vbase is not run.  See bench/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

qemu_only=0
build=1
elf=guest/bin/cpubench.elf
for arg in "$@"; do
    case "$arg" in
        --qemu-only) qemu_only=1 ;;
        --no-build) build=0 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
        *) elf=$arg ;;
    esac
done
[[ -f "$elf" ]] || { echo "run.sh: no such image: $elf" >&2; exit 2; }

# Instructions cpubench.elf retires, measured under QEMU with
# -icount shift=0 and minstret (guest/README.md); used for QEMU's MIPS
# when Vbase is not run.
CPUBENCH_INSNS=1201800000

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
# awk does the floating point: bash has none and bc is not always there.
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

# ---- QEMU ------------------------------------------------------------------

if ! command -v qemu-system-riscv64 >/dev/null; then
    echo "run.sh: installing qemu-system-misc" >&2
    sudo_=""
    [[ $(id -u) -eq 0 ]] || sudo_=sudo
    $sudo_ apt-get install -y qemu-system-misc >/dev/null 2>&1 ||
        { $sudo_ apt-get update >/dev/null && $sudo_ apt-get install -y qemu-system-misc >/dev/null; }
fi

run_qemu() {
    local t0 t1 rc=0
    t0=$(now)
    timeout 600 qemu-system-riscv64 -machine virt -bios none -nographic -kernel "$elf" \
        < /dev/null > "$work/qemu.out" 2> "$work/qemu.err" || rc=$?
    t1=$(now)
    qemu_rc=$rc
    qemu_s=$(calc "$t1 - $t0")
}

# ---- Vbase -----------------------------------------------------------------

find_vbase() {
    local dir=src/Vbase.Cli/bin/Release candidate
    if [[ -n "${VBASE:-}" ]]; then # an explicit binary (or wrapper script)
        vbase_cmd=("$VBASE")
        return
    fi
    # The apphost (no extension) if the SDK made one, else the dll.
    candidate=$(find "$dir" -type f -name vbase -perm -u+x 2>/dev/null | sort | head -n1)
    if [[ -n "$candidate" ]]; then
        vbase_cmd=("$candidate")
        return
    fi
    candidate=$(find "$dir" -type f -name vbase.dll 2>/dev/null | sort | head -n1)
    if [[ -n "$candidate" ]]; then
        vbase_cmd=(dotnet "$candidate")
        return
    fi
    echo "run.sh: no vbase binary under $dir (did the build succeed?)" >&2
    exit 1
}

# First number on a line of the stats that matches the pattern's context:
# "1,234,567 instructions", "2.5 s", "480.2 MIPS"; commas/underscores allowed.
stat_before() {
    grep -oiE "[0-9][0-9,_]*(\.[0-9]+)?[[:space:]]*$1" "$work/vbase.err" | head -n1 |
        grep -oE '^[0-9][0-9,_]*(\.[0-9]+)?' | tr -d ',_' || true
}

run_vbase() {
    local t0 t1 rc=0
    t0=$(now)
    "${vbase_cmd[@]}" exec --stats "$elf" < /dev/null > "$work/vbase.out" 2> "$work/vbase.err" || rc=$?
    t1=$(now)
    vbase_rc=$rc
    vbase_wall=$(calc "$t1 - $t0")
    vbase_insns=$(stat_before 'instructions?\b')
    vbase_s=$(stat_before '(s|sec|secs|seconds)\b')
    vbase_mips=$(stat_before 'MIPS')
    # Fall back to what we can measure if the format changed.
    [[ -n "$vbase_s" ]] || vbase_s=$vbase_wall
    if [[ -z "$vbase_mips" && -n "$vbase_insns" ]]; then
        vbase_mips=$(calc "$vbase_insns / $vbase_s / 1e6" 1)
    fi
}

# ---- run -------------------------------------------------------------------

echo "image: $elf"
if ((!qemu_only)); then
    if ((build)); then
        echo "building src/Vbase.Cli (Release)..."
        dotnet build -c Release src/Vbase.Cli > "$work/build.log" 2>&1 ||
            { cat "$work/build.log" >&2; echo "run.sh: build failed" >&2; exit 1; }
    fi
    find_vbase
    echo "running: ${vbase_cmd[*]} exec --stats $elf"
    run_vbase
fi
echo "running: qemu-system-riscv64 -machine virt -bios none -nographic -kernel $elf"
run_qemu

# QEMU may turn LF into CRLF on a terminal; compare text, not line ends.
tr -d '\r' < "$work/qemu.out" > "$work/qemu.txt"
status=0
if ((!qemu_only)); then
    tr -d '\r' < "$work/vbase.out" > "$work/vbase.txt"
    if cmp -s "$work/qemu.txt" "$work/vbase.txt" && [[ $qemu_rc -eq $vbase_rc ]]; then
        echo "output: identical (exit code $qemu_rc)"
    else
        echo "output: DIFFERENT (exit codes: vbase $vbase_rc, qemu $qemu_rc)"
        diff "$work/vbase.txt" "$work/qemu.txt" | sed 's/^/  /' | head -n 20 || true
        [[ -s "$work/vbase.err" ]] && { echo "vbase stderr:"; sed 's/^/  /' "$work/vbase.err" | head -n 20; }
        status=1
    fi
    insns=${vbase_insns:-}
else
    sed 's/^/  /' "$work/qemu.txt"
    echo "qemu exit code: $qemu_rc"
    insns=""
    [[ "$(basename "$elf")" == cpubench.elf ]] && insns=$CPUBENCH_INSNS
fi

echo
printf '%-24s %12s\n' "" "value"
if ((!qemu_only)); then
    printf '%-24s %12s\n' "Vbase instructions" "${vbase_insns:-?}"
    printf '%-24s %12s\n' "Vbase seconds" "$vbase_s"
    printf '%-24s %12s\n' "Vbase wall seconds" "$vbase_wall"
    printf '%-24s %12s\n' "Vbase MIPS" "${vbase_mips:-?}"
fi
printf '%-24s %12s\n' "QEMU seconds" "$qemu_s"
if [[ -n "$insns" ]]; then
    printf '%-24s %12s\n' "QEMU MIPS (estimate)" "$(calc "$insns / $qemu_s / 1e6" 1)"
else
    printf '%-24s %12s\n' "QEMU MIPS (estimate)" "?"
fi
if ((!qemu_only)); then
    printf '%-24s %12s\n' "Vbase / QEMU time" "$(calc "$vbase_s / $qemu_s" 2)"
fi
exit $status
