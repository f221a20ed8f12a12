#!/usr/bin/env bash
# Man pages for the four executables, generated from their own --help (help2man)
# so a page cannot drift from the parser: each subcommand's --help is appended as
# a section of its executable's page.
#
#   scripts/manpages.sh BINDIR OUTDIR     writes OUTDIR/cellos-*.1
set -euo pipefail
bin=${1:?usage: manpages.sh BINDIR OUTDIR}
out=${2:?usage: manpages.sh BINDIR OUTDIR}
command -v help2man >/dev/null || { echo "manpages: help2man is missing (scripts/deps.sh deploy)" >&2; exit 1; }
mkdir -p "$out"

# roff-safe preformatted text: backslashes escaped, no line read as a request.
preformatted() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }

# NAME: "SUBCOMMAND..." pairs appended as one section of preformatted help each.
subcommand_sections() {
    local executable=$1 heading=$2; shift 2
    echo "[$heading]"
    for sub in "$@"; do
        echo ".SS \"$executable $sub\""
        echo ".nf"
        # shellcheck disable=SC2086 # $sub may be "ctl run": two words on purpose.
        "$bin/$executable" $sub --help | preformatted
        echo ".fi"
    done
}

page() {
    local executable=$1 name=$2 include=()
    shift 2
    if [ $# -gt 0 ]; then
        subcommand_sections "$executable" "$@" > "$out/$executable.include"
        include=(--include "$out/$executable.include")
    fi
    help2man --no-info --section 1 --name "$name" \
        --version-string "$("$bin/$executable" --version)" \
        "${include[@]}" --output "$out/$executable.1" "$bin/$executable"
    rm -f "$out/$executable.include"
}

page cellos-broker "unprivileged orchestrator of a cellos execution cell" \
    SUBCOMMANDS run summary spec stamp keygen verify audit self-check
page cellos-netnsd "privileged helper: cell network namespaces and their sockets" \
    "DEBUGGING CLIENT" ctl "ctl create" "ctl run" "ctl destroy"
page cellos-dnsproxy "capability-free DNS policy proxy of a cellos cell"
page cellos-flowlog "capability-free NFLOG flow listener of a cellos cell"
