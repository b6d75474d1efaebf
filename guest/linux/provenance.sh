#!/usr/bin/env bash
# Prints guest/linux/PROVENANCE (make provenance): the Debian packages the
# images were built from, the hashes of the recipe's inputs and of the final
# configurations, and the hashes of the committed images.  check.sh reads it.
# Run from guest/linux after a build (LINUX_OBJ/BB_OBJ: the build's folders).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
: "${LINUX_OBJ:?}" "${BB_OBJ:?}"

echo "# The Vbase Linux guest's provenance: written by 'make -C guest/linux provenance', checked by check.sh."
echo "# package NAME VERSION: installed Debian packages; source NAME VERSION: a Debian source package;"
echo "# input FILE SHA256: the recipe; config WHAT SHA256: a final .config; output FILE SHA256: a committed image."
for p in $(./packages.sh binary); do
    echo "package $p $(dpkg-query -W -f='${Version}' "$p")"
done
for p in $(./packages.sh source); do
    echo "source $p $(./packages.sh version-of-source "$p")"
done
for f in $(./packages.sh inputs); do
    echo "input $f $(sha256sum "$f" | cut -d' ' -f1)"
done
echo "config linux $(sha256sum "$LINUX_OBJ/.config" | cut -d' ' -f1)"
echo "config busybox $(sha256sum "$BB_OBJ/.config" | cut -d' ' -f1)"
for f in Image initramfs.cpio; do
    echo "output $f $(sha256sum "$f" | cut -d' ' -f1)"
done
