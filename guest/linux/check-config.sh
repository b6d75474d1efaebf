#!/usr/bin/env bash
# check-config.sh FRAGMENT CONFIG: every CONFIG_X=v line of FRAGMENT is in
# CONFIG, and every "# CONFIG_X is not set" line is not set there, so that a
# symbol Kconfig dropped or forced fails the build instead of silently
# changing the guest.
set -euo pipefail
bad=0
while IFS= read -r line; do
    if [[ $line =~ ^#\ (CONFIG_[A-Z0-9_]+)\ is\ not\ set$ ]]; then
        if grep -q "^${BASH_REMATCH[1]}=" "$2"; then
            echo "check-config: ${BASH_REMATCH[1]} should be off in $2" >&2
            bad=1
        fi
        continue
    fi
    [[ $line =~ ^CONFIG_ ]] || continue
    sym=${line%%=*}
    if ! grep -qxF "$line" "$2"; then
        echo "check-config: $line is not in $2 (got: $(grep "^$sym=" "$2" || echo unset))" >&2
        bad=1
    fi
done < "$1"
exit $bad
