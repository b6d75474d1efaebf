#!/usr/bin/env bash
# Builds store_self.S with the guest runtime and runs it under QEMU and vbase; both must exit 0.
#   fuzz/qemu/run.sh            (needs riscv64-unknown-elf-gcc and qemu-system-riscv64)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
arch="-march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany"
g="$root/guest"
riscv64-unknown-elf-gcc $arch -O2 -ffreestanding -nostdlib -nostartfiles -static -I"$g/runtime/include" \
  -T "$g/link.ld" -Wl,--no-warn-rwx-segments \
  "$g/runtime/crt0.S" "$g/runtime/uart.c" "$g/runtime/exit.c" "$g/runtime/string.c" "$here/store_self.S" \
  -o "$out/store_self.elf"
set +e
timeout 60 qemu-system-riscv64 -machine virt -bios none -nographic -kernel "$out/store_self.elf" </dev/null
qemu=$?
dotnet run --project "$root/src/Vbase.Cli" -c Release -- exec "$out/store_self.elf"
vbase=$?
set -e
echo "qemu exit $qemu, vbase exit $vbase"
[ "$qemu" = 0 ] && [ "$vbase" = 0 ]
