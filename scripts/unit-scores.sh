#!/usr/bin/env bash
# systemd-analyze security --offline=yes for cellos's units next to Debian's
# units of comparable daemons (docs/deployment.md quotes the output).
#
#   scripts/unit-scores.sh [DESTDIR]   DESTDIR: a tree staged by install.sh --destdir
#                                      (default: stage one in a temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh scores
root=${1:-}
if [ -z "$root" ]; then
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    scripts/install.sh --destdir "$root" --binaries "${CELLOS_BINARIES:-$(swift build --show-bin-path)}" >/dev/null 2>&1
fi
score() { systemd-analyze security --offline=yes "$@" 2>&1 | sed -n 's/.*Overall exposure level for \(.*\): \([0-9.]*\) \(.*\)/\2 \3/p'; }
printf '%-32s %s\n' unit exposure
for unit in cellos-netnsd.service cellos-cell@example.service; do
    printf '%-32s %s\n' "$unit" "$(score --root="$root" "$root/usr/local/lib/systemd/system/${unit/@example/@}")"
done
for unit in dnsdist knot systemd-timesyncd systemd-networkd; do
    file=/lib/systemd/system/$unit.service
    if [ -f "$file" ]; then printf '%-32s %s\n' "$unit.service" "$(score "$file")"; else printf '%-32s %s\n' "$unit.service" "not installed"; fi
done
