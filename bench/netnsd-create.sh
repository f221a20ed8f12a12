#!/usr/bin/env bash
# Cell setup cost: cellos-netnsd CreateCell -> ReadCounters -> DestroyCell, next to
# the same work done by standard tools, measured side by side in one run.
#
#   bench/netnsd-create.sh [ITERATIONS] [PATH_TO_cellos-netnsd]
#
# Every row runs one whole process per iteration, so each includes a process start:
#   unshare -n true                       new netns only
#   bwrap --unshare-net true              new netns (bubblewrap)
#   unshare -n + ip link set lo up + nft  the shell baseline of what CreateCell does
#   cellos-netnsd ctl create              CreateCell (netns, lo up, nft table via
#                                         libnftables, DNS UDP+TCP listeners) +
#                                         ReadCounters + DestroyCell over IPCWire,
#                                         including the ctl client's own start
#   cellos-netnsd --print-capabilities    that process start alone, to subtract
#   cellos-netnsd ctl run /bin/true       CreateCell -> SpawnWorkload -> StartWorkload
#                                         -> WorkloadExited -> DestroyCell (client start
#                                         included)
# Needs root.
# Prints mean milliseconds per iteration and the ratio to `unshare -n true`.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-200}
netnsd=${2:-$(bash scripts/build-release.sh --product cellos-netnsd | tail -1)/cellos-netnsd}
[ -x "$netnsd" ] || { echo "$netnsd missing" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "bwrap missing: apt-get install -y bubblewrap" >&2; exit 1; }

work=$(mktemp -d)
socket=$work/netnsd.sock
daemon=
cleanup() { [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The same policy for the shell baseline and the daemon: one allow rule.
"$netnsd" --socket "$socket" --state-dir "$work/netnsd-state" --allow-uid 0 2>"$work/netnsd.log" &
daemon=$!
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.05; done
# The daemon's own ruleset, captured from a live cell, feeds the shell baseline.
exec 9< <(sleep 3)
"$netnsd" ctl create --socket "$socket" --id bench-capture --allow 1,tcp,192.0.2.0/24,443 <&9 >"$work/ctl.out" &
capture=$!
for _ in $(seq 100); do grep -q "netns:" "$work/ctl.out" 2>/dev/null && break; sleep 0.02; done
nsenter --net="$(awk '/netns:/ {print $2}' "$work/ctl.out")" nft list ruleset >"$work/ruleset.nft"
wait "$capture"
exec 9<&-

measure() { # name, command...
    local name=$1; shift
    local start end
    start=$(date +%s%N)
    for _ in $(seq "$iterations"); do "$@" >/dev/null; done
    end=$(date +%s%N)
    echo "$name $(( (end - start) / iterations ))"
}

results=$(
    measure "unshare -n true" unshare -n true
    measure "bwrap --unshare-net true" bwrap --unshare-net --ro-bind / / true
    measure "unshare -n + ip link set lo up + nft -f" unshare -n sh -c "ip link set lo up && nft -f $work/ruleset.nft"
    measure "cellos-netnsd --print-capabilities (process start)" "$netnsd" --print-capabilities
    measure "cellos-netnsd ctl create+counters+destroy" "$netnsd" ctl create --socket "$socket" --id bench --allow 1,tcp,192.0.2.0/24,443 </dev/null
    measure "cellos-netnsd ctl run /bin/true (create..exited..destroy)" "$netnsd" ctl run --socket "$socket" --id bench --quiet -- /bin/true
)
base=$(echo "$results" | awk 'NR==1 {print $NF}')
echo "iterations: $iterations"
echo "$results" | awk -v base="$base" '{ns=$NF; $NF=""; printf "%-60s %8.2f ms  %5.2fx\n", $0, ns/1e6, ns/base}'
