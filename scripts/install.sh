#!/usr/bin/env bash
# Installs cellos on this host, or stages the same tree under --destdir without
# touching the host (no users, no systemctl; what the tests use).
#
#   scripts/install.sh [--prefix /usr/local] [--destdir DIR] [--binaries DIR]
#
# --binaries DIR takes the four executables from an existing build directory
# (e.g. `swift build --show-bin-path`) instead of running scripts/build-release.sh,
# which takes minutes. A debug build links the Swift runtime dynamically and so
# needs the toolchain at run time; the release build does not (a warning says so).
#
# Idempotent: files are replaced, configuration under /etc/cellos is installed
# only when absent, and the list of what was installed goes to
# PREFIX/share/cellos/install-manifest, which scripts/uninstall.sh reads.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-layout.sh

usage() { sed -n '5p' "$0" | sed 's/^#   /usage: /'; }
prefix=/usr/local destdir="" binaries=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
        --binaries) binaries=${2:?--binaries needs a directory}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
layout "$prefix"
[ -z "$destdir" ] || destdir=$(mkdir -p "$destdir" && cd "$destdir" && pwd)

if [ -z "$binaries" ]; then
    echo "install: building the release binaries (scripts/build-release.sh; takes minutes)"
    binaries=$(scripts/build-release.sh | tail -1)
fi
for executable in "${executables[@]}"; do
    [ -x "$binaries/$executable" ] || { echo "install: --binaries: $binaries/$executable is missing or not executable" >&2; exit 1; }
done
if ldd "$binaries/cellos-broker" | grep -q 'libswiftCore'; then
    echo "install: warning: $binaries links the Swift runtime dynamically: it needs the toolchain at run time (use scripts/build-release.sh for a host)" >&2
fi

manifest=$(mktemp) staging=$(mktemp -d)
trap 'rm -rf "$manifest" "$staging"' EXIT
# Directories an earlier run created are still this installation's.
if [ -f "$destdir$manifestpath" ]; then grep '^dir ' "$destdir$manifestpath" > "$manifest" || true; fi

# Records every directory it creates, so uninstall removes exactly those.
make_dir() {
    local dir=$1 missing=()
    while [ ! -d "$destdir$dir" ]; do missing=("$dir" "${missing[@]}"); dir=$(dirname "$dir"); done
    for dir in "${missing[@]}"; do mkdir -m 0755 "$destdir$dir"; echo "dir $dir" >> "$manifest"; done
}
# put MODE SOURCE TARGET: a file the next install replaces.
put() {
    make_dir "$(dirname "$3")"
    install -m "$1" "$2" "$destdir$3"
    echo "file $3" >> "$manifest"
}
# An operator's file: installed when absent, removed by uninstall only if unchanged.
put_config() {
    make_dir "$(dirname "$3")"
    [ -e "$destdir$3" ] || install -m "$1" "$2" "$destdir$3"
    echo "config $3 $(sha256sum < "$2" | cut -d' ' -f1)" >> "$manifest"
}
# Templates name the installed paths.
substitute() {
    sed -e "s|@BINDIR@|$bindir|g" -e "s|@LIBEXECDIR@|$libexecdir|g" "$1" > "$staging/$(basename "$1" .in)"
    echo "$staging/$(basename "$1" .in)"
}

put 0755 "$binaries/cellos-broker" "$bindir/cellos-broker"
for helper in cellos-netnsd cellos-dnsproxy cellos-flowlog cellos-egressproxy; do
    put 0755 "$binaries/$helper" "$libexecdir/$helper"
done
# netnsd on root's PATH too (ctl, --print-capabilities); the real file stays in
# libexec so `cellos-broker audit` finds all three helpers together.
make_dir "$sbindir"
ln -sfn "$(realpath -m --relative-to="$sbindir" "$libexecdir/cellos-netnsd")" "$destdir$sbindir/cellos-netnsd"
echo "file $sbindir/cellos-netnsd" >> "$manifest"

for unit in deploy/systemd/*; do
    source_file=$unit
    case "$unit" in *.in) source_file=$(substitute "$unit") ;; esac
    put 0644 "$source_file" "$unitdir/$(basename "$source_file")"
done
put 0644 deploy/sysusers.d/cellos.conf "$sysusersdir/cellos.conf"
put 0644 deploy/tmpfiles.d/cellos.conf "$tmpfilesdir/cellos.conf"
put 0644 deploy/cellos/cells/example.json "$datadir/examples/example.json"
for config in deploy/cellos/*.conf; do
    if [ -e "$config" ]; then put_config 0644 "$config" "$sysconfdir/cellos/$(basename "$config")"; fi
done
make_dir "$sysconfdir/cellos/cells"

scripts/manpages.sh "$binaries" "$staging/man"
for page in "$staging"/man/*.1; do put 0644 "$page" "$mandir/$(basename "$page")"; done
for executable in cellos-broker cellos-netnsd; do
    "$binaries/$executable" --generate-completion-script bash > "$staging/$executable.bash"
    "$binaries/$executable" --generate-completion-script zsh > "$staging/_$executable"
    "$binaries/$executable" --generate-completion-script fish > "$staging/$executable.fish"
    put 0644 "$staging/$executable.bash" "$bashcompletiondir/$executable"
    put 0644 "$staging/_$executable" "$zshcompletiondir/_$executable"
    put 0644 "$staging/$executable.fish" "$fishcompletiondir/$executable.fish"
done

make_dir "$(dirname "$manifestpath")"
echo "file $manifestpath" >> "$manifest"
sort -u "$manifest" > "$destdir$manifestpath"

if [ -n "$destdir" ]; then
    echo "install: staged under $destdir (the host is untouched)"
    exit 0
fi
# The host: accounts, /run directories, systemd's view of the units.
if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "$sysusersdir/cellos.conf"
else
    getent group cellos >/dev/null || addgroup --system cellos
    getent passwd cellos-broker >/dev/null || adduser --system --ingroup cellos --no-create-home \
        --home /nonexistent --shell /usr/sbin/nologin --gecos "cellos broker and helpers" cellos-broker
fi
if command -v systemd-tmpfiles >/dev/null; then systemd-tmpfiles --create "$tmpfilesdir/cellos.conf"; else mkdir -p /run/cellos; fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "install: done. Start with: systemctl enable --now cellos-netnsd.socket; then systemctl start cellos-cell@NAME for /etc/cellos/cells/NAME.json"
