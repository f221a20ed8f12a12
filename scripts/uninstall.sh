#!/usr/bin/env bash
# Removes what scripts/install.sh installed, as its manifest lists it: files,
# then the directories it created (if empty). Configuration under /etc/cellos is
# removed only when unchanged since install. The system users stay (like a
# Debian package's: files they own may remain; `deluser cellos-broker` and
# `delgroup cellos` remove them).
#
#   scripts/uninstall.sh [--prefix /usr/local] [--destdir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-layout.sh

usage() { sed -n '8p' "$0" | sed 's/^#   /usage: /'; }
prefix=/usr/local destdir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "uninstall: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
layout "$prefix"
manifest=$destdir$manifestpath
[ -f "$manifest" ] || { echo "uninstall: no manifest at $manifest (installed with another --prefix?)" >&2; exit 1; }

if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
    systemctl disable --now cellos-netnsd.socket cellos-netnsd.service 2>/dev/null || true
fi
entries=$(cat "$manifest")
while read -r kind path checksum; do
    case "$kind" in
        file) rm -f "$destdir$path" ;;
        config)
            if [ -f "$destdir$path" ] && [ "$(sha256sum < "$destdir$path" | cut -d' ' -f1)" != "$checksum" ]; then
                echo "uninstall: keeping $path (changed since install)"
            else
                rm -f "$destdir$path"
            fi ;;
    esac
done <<< "$entries"
# Deepest first, so a parent is empty once its children are gone.
grep '^dir ' <<< "$entries" | cut -d' ' -f2- | sort -r | while read -r dir; do
    rmdir "$destdir$dir" 2>/dev/null || true
done
if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "uninstall: done"
