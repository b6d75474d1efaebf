#!/usr/bin/env bash
# The adversarial soak (docs/adversarial.md): the hypercall fuzzer, then the random-code fuzzer, each over every
# architecture, for a set wall time, in a Release build; prints the counts and exits non-zero if anything failed.
#
#   fuzz/soak.sh [SECONDS]        total wall time (default 1800): a third for hypercalls, the rest for code
#
# Environment: SEED (first seed, default 1), ARCH (default all), OUT (log folder, default a fresh one under /tmp),
# HYPERCALL_SIZE (hypercalls per case, default 20000), CODE_SIZE (instructions per engine per case, default 2000000).
set -euo pipefail
total=${1:-1800}
seed=${SEED:-1}
arch=${ARCH:-all}
hsize=${HYPERCALL_SIZE:-20000}
csize=${CODE_SIZE:-2000000}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$(mktemp -d /tmp/vbase-soak.XXXXXX)}
mkdir -p "$out"
hseconds=$(( total / 3 > 0 ? total / 3 : 1 ))
cseconds=$(( total - hseconds > 0 ? total - hseconds : 1 ))

dotnet build "$root/src/Vbase.Cli" -c Release -v quiet -nologo >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
vbase="$root/src/Vbase.Cli/bin/Release/net10.0/vbase"

echo "soak: ${total}s (hypercalls ${hseconds}s, code ${cseconds}s), seeds from $seed, arch $arch, logs in $out"
status=0
"$vbase" fuzz hypercalls --seconds "$hseconds" --seed "$seed" --arch "$arch" --size "$hsize" 2>"$out/hypercalls.progress" | tee "$out/hypercalls.txt" || status=1
"$vbase" fuzz code --seconds "$cseconds" --seed "$seed" --arch "$arch" --size "$csize" 2>"$out/code.progress" | tee "$out/code.txt" || status=1
echo "soak: $( [ $status = 0 ] && echo ok || echo FAILED ) (logs in $out)"
exit $status
