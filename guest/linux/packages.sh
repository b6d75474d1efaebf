#!/usr/bin/env bash
# The lists provenance.sh and check.sh share (one definition):
#   packages.sh binary              Debian packages whose version the images depend on
#   packages.sh source              Debian source packages unpacked by the build
#   packages.sh version-of-source P the version apt would fetch for source package P
#   packages.sh inputs              the recipe's files, relative to guest/linux (the apps' sources and the
#                                   generated ABI header are outside it)
set -euo pipefail
case "$1" in
    binary) echo linux-source-6.1 gcc-riscv64-linux-gnu gcc-12-riscv64-linux-gnu binutils-riscv64-linux-gnu \
                 libc6-dev-riscv64-cross linux-libc-dev-riscv64-cross ;;
    source) echo busybox ;;
    version-of-source) apt-cache showsrc --only-source "$2" 2>/dev/null | awk '/^Version:/ { print $2; exit }' ;;
    inputs) echo Makefile kernel.config busybox.config init check-config.sh \
                   vbase/Kbuild vbase/vbase.c vbase/vbase-ioctl.h vbase/shim/stdint.h apps/vbase.h apps/vbase-linux.c apps/vbase-check.c \
                   ../apps/secure-app.c ../apps/vault.c ../include/vbase/abi.h ;;
    *) echo "packages.sh: binary, source, version-of-source P or inputs" >&2; exit 2 ;;
esac
