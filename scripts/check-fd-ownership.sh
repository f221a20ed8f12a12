#!/usr/bin/env bash
# Every descriptor the Swift sources own is an OwnedFD (or lives in a DescriptorSet or
# an Epoll): close(2) is called only by those owning types. Fails naming each other
# file:line that calls close( or Glibc.close( directly (a method `.close()` on an
# owner is the named operation and fine). Comments are ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

# The owning types: the only places allowed to call close(2).
owners=(
    Sources/IPCWire/OwnedFD.swift
    Sources/IPCWire/DescriptorSet.swift
)
# Files still holding raw descriptors while they are converted (none now): add a
# line only for a change in flight, and remove it when the file holds an OwnedFD.
pending=(
)

allowed() {
    local file=$1 entry
    for entry in "${owners[@]}" "${pending[@]}"; do [ "$file" = "$entry" ] && return 0; done
    return 1
}

status=0
while IFS= read -r file; do
    allowed "$file" && continue
    # Drop // comments, then look for a call of the free function close(.
    if hits=$(sed -E 's#//.*$##' "$file" | grep -nE '(^|[^A-Za-z0-9_.])close\(|Glibc\.close\(' | grep -vE 'func close\('); then
        while IFS= read -r hit; do
            echo "$file:${hit%%:*}: close( outside an owning type (use OwnedFD): ${hit#*:}" >&2
            status=1
        done <<<"$hits"
    fi
done < <(find Sources -name '*.swift' | sort)
[ "$status" -eq 0 ] && echo "check-fd-ownership: close( only in ${owners[*]}"
exit "$status"
