#!/usr/bin/env bash
# The README's first command: builds cellos and runs one cell end to end with the
# embedded demo spec (`cellos-broker spec` prints it), offline, as root.
#
# The lab (scripts/lab.sh, removed on every exit path by the trap): a "host"
# netns running cellos-netnsd, which gives the cell a veth uplink (pool
# 10.200.0.0/24) with NAT into an "internet" netns with dnsmasq and TCP sinks on
# 192.0.2.80 ports 8080 and 9090; a directory in the machine's cgroup v2
# hierarchy as netnsd's --cgroup-root, so the demo spec's limits (memory 64M,
# pids 32, cpu 50%) really apply (on a hybrid host netnsd puts them in cgroup v1
# leaves beneath its own cgroup).
# Nothing touches the machine's own network namespace. The event log stays in
# $CELLOS_DEMO_EVENTS (default /tmp/cellos-demo-events.jsonl) for reading.
#
# CELLOS_BIN=DIR uses already built executables instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (namespaces, nftables)" >&2; exit 1; }
bash scripts/deps.sh

if [ -z "${CELLOS_BIN:-}" ]; then
    echo "demo: building (swift build)"
    swift build >/dev/null
    CELLOS_BIN=$(swift build --show-bin-path)
fi
events=${CELLOS_DEMO_EVENTS:-/tmp/cellos-demo-events.jsonl}
work=$(mktemp -d /tmp/cellos-demo.XXXXXX)
source scripts/lab.sh

cleanup() {
    local status=$?
    lab_teardown
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_up "cdemo$$" "$work"
lab_start_netnsd "$CELLOS_BIN" "$work/netnsd.sock" "$work/netnsd.log" --state-dir "$work/netnsd-state" --uplink-pool 10.200.0.0/24
# Where the spec's limits go (and a warning for any controller that has no place).
grep -E "cgroup limits:|warning:" "$work/netnsd.log" | sed 's/^/demo: /' || true

echo "demo: running the demo cell (cellos-broker run, embedded spec)"
echo "----- workload output -----"
: > "$events"
set +e
ip netns exec "$lab_host" "$CELLOS_BIN/cellos-broker" run --netnsd-socket "$work/netnsd.sock" --events "$events" 2>"$work/broker.err"
status=$?
set -e
echo "----- summary -----"
"$CELLOS_BIN/cellos-broker" summary "$events"
echo "broker exit status: $status"
grep -v '^{"type":"dnsproxy_stats"' "$work/broker.err" >&2 || true
echo "full event log (CloudEvents JSON lines): $events"
