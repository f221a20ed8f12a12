#!/usr/bin/env bash
# Flood benchmark: cellos-flowlog against ulogd2 (NFLOG → BASE → IFINDEX → IP2STR → JSON)
# on the same logged UDP flood in a throwaway network namespace.
#
#   bench/flowlog.sh [PACKETS]        (default 200000; needs root, nft, ulogd2, python3)
#
# For each listener: packets it logged, logged packets per second (from the start of
# the flood to the last line written), CPU seconds per 100k packets (utime+stime of
# the listener), and packets lost (sent minus logged; for cellos-flowlog also its
# ENOBUFS count). Both use the same kernel batching (qthreshold 64, timeout 20 ms,
# 8 MiB socket buffer). Set FLOWLOG_BIN to pick the binary (default: a release build
# in .build-flowlog or .build).
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-200000}
group=7
bin=${FLOWLOG_BIN:-}
[ -n "$bin" ] || bin=$(bash scripts/build-release.sh --product cellos-flowlog | tail -1)/cellos-flowlog
[ -x "$bin" ] || { echo "$bin missing" >&2; exit 1; }
bin=$(realpath "$bin")

ns=flbench$$
work=$(mktemp -d)
listener=
cleanup() {
    [ -n "$listener" ] && kill -KILL "$listener" 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 10.99.0.1/32 dev lo
ip netns exec "$ns" nft -f - <<NFT
table inet bench {
    chain out {
        type filter hook output priority 0; policy accept;
        udp dport 9999 log group $group prefix "cellos-flow drop r1" drop
    }
}
NFT

cpu_seconds() { # utime + stime of a pid, in seconds
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}
# Waits until FILE stops growing for a second; prints "lines seconds_since_START".
settle() {
    local file=$1 start=$2 last=-1 now lines stamp=$2
    while true; do
        lines=$(wc -l < "$file" 2>/dev/null || echo 0)
        now=$(date +%s.%N)
        if [ "$lines" -ne "$last" ]; then last=$lines; stamp=$now
        elif awk -v a="$now" -v b="$stamp" 'BEGIN { exit !(a - b > 1.0) }'; then break; fi
        sleep 0.1
    done
    echo "$last $(awk -v a="$stamp" -v b="$start" 'BEGIN { printf "%.3f", a - b }')"
}
report() { # name logged seconds cpu extra
    awk -v n="$1" -v logged="$2" -v s="$3" -v cpu="$4" -v sent="$packets" -v extra="$5" 'BEGIN {
        printf "%-15s logged %8d/%d  %10.0f packets/s  %6.3f CPU s per 100k  lost %d%s\n",
            n, logged, sent, logged / s, cpu * 100000 / (logged ? logged : 1), sent - logged, extra }'
}

# cellos-flowlog (standalone mode: it binds the group inside the namespace itself).
"$bin" --group "$group" --netns "/run/netns/$ns" --cell-id bench --events "$work/flowlog.jsonl" &
listener=$!
sleep 0.5
start=$(date +%s.%N)
ip netns exec "$ns" python3 bench/flowlog-flood.py "$packets" 10.99.0.1 9999
read -r lines seconds < <(settle "$work/flowlog.jsonl" "$start")
cpu=$(cpu_seconds "$listener")
kill -TERM "$listener"; wait "$listener" || true; listener=
stats=$(grep '"type":"flowlog_stats"' "$work/flowlog.jsonl" | tail -n1)
drops=$(sed 's/.*"kernel_drops":\([0-9]*\).*/\1/' <<< "$stats")
lost=$(sed 's/.*"sequence_lost":\([0-9]*\).*/\1/' <<< "$stats")
report cellos-flowlog "$lines" "$seconds" "$cpu" "  (ENOBUFS episodes: $drops, lost by NFULA_SEQ: $lost)"

# ulogd2 with JSON output.
cat > "$work/ulogd.conf" <<CONF
[global]
logfile="$work/ulogd.log"
loglevel=3
plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_inppkt_NFLOG.so"
plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_raw2packet_BASE.so"
plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_filter_IFINDEX.so"
plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_filter_IP2STR.so"
plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_output_JSON.so"
stack=log1:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,json1:JSON
[log1]
group=$group
netlink_qtimeout=2
netlink_qthreshold=64
netlink_socket_buffer_size=8388608
netlink_socket_buffer_maxsize=8388608
[json1]
file="$work/ulogd.json"
sync=0
CONF
ip netns exec "$ns" ulogd -c "$work/ulogd.conf" &
listener=$!
sleep 0.5
start=$(date +%s.%N)
ip netns exec "$ns" python3 bench/flowlog-flood.py "$packets" 10.99.0.1 9999
read -r lines seconds < <(settle "$work/ulogd.json" "$start")
cpu=$(cpu_seconds "$listener")
# SIGTERM makes ulogd flush its last buffered lines (sync=0 is its fast setting).
kill -TERM "$listener"; wait "$listener" 2>/dev/null || true; listener=
lines=$(wc -l < "$work/ulogd.json")
# ulogd logs each ENOBUFS it sees ("losing netlink events" / "increasing buffer size").
enobufs=$(grep -ciE "losing|ENOBUFS|No buffer space" "$work/ulogd.log" || true)
report ulogd2-json "$lines" "$seconds" "$cpu" "  (ENOBUFS log lines: $enobufs)"
