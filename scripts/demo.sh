#!/usr/bin/env bash
# The README's first command: builds cellos and runs one cell end to end with the
# embedded demo spec (`cellos-broker spec` prints it), offline, as root.
#
# The lab, made here and removed on every exit path (trap):
#   <tag>-host  the "host" the daemons run in: 192.0.2.1/24 towards the internet
#               namespace; cellos-netnsd gives the cell a veth uplink into it
#               (pool 10.200.0.0/24) with NAT.
#   <tag>-inet  the "internet": dnsmasq on 192.0.2.53 (allowed.cellos.test and
#               denied.cellos.test) and a TCP sink on 192.0.2.80 ports 8080 and 9090.
#   <v2>/cellos-demo-<pid>  cellos-netnsd's --cgroup-root, a directory in the
#               machine's cgroup v2 hierarchy (/sys/fs/cgroup, or
#               /sys/fs/cgroup/unified on a hybrid host), so the demo spec's limits
#               (memory 64M, pids 32, cpu 50%) really apply; on a hybrid host
#               netnsd puts them in cgroup v1 leaves beneath its own cgroup.
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
tag=cdemo$$
host=$tag-host
inet=$tag-inet
work=$(mktemp -d /tmp/cellos-demo.XXXXXX)
pids=()
cgroup_root=
for hierarchy in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if [ -e "$hierarchy/cgroup.controllers" ]; then cgroup_root=$hierarchy/cellos-demo-$$; break; fi
done

cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    # netnsd removes its workloads' leaves on SIGTERM; after a crash, end and remove what is left.
    if [ -n "$cgroup_root" ] && [ -d "$cgroup_root" ]; then
        for leaf in "$cgroup_root"/cell-*; do
            [ -d "$leaf" ] || continue
            echo 1 > "$leaf/cgroup.kill" 2>/dev/null || true
            for _ in $(seq 100); do rmdir "$leaf" 2>/dev/null && break; sleep 0.02; done
        done
        rmdir "$cgroup_root" 2>/dev/null || true
    fi
    ip netns del "$host" 2>/dev/null || true
    ip netns del "$inet" 2>/dev/null || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$host"
ip netns add "$inet"
ip link add "${tag}h" type veth peer name "${tag}i"
ip link set "${tag}h" netns "$host"
ip link set "${tag}i" netns "$inet"
ip -n "$host" link set lo up
ip -n "$host" addr add 192.0.2.1/24 dev "${tag}h"
ip -n "$host" link set "${tag}h" up
ip -n "$inet" link set lo up
ip -n "$inet" addr add 192.0.2.53/24 dev "${tag}i"
ip -n "$inet" addr add 192.0.2.80/24 dev "${tag}i"
ip -n "$inet" link set "${tag}i" up

ip netns exec "$inet" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
    --listen-address=192.0.2.53 --bind-interfaces --local=/cellos.test/ \
    --host-record=allowed.cellos.test,192.0.2.80 --host-record=denied.cellos.test,192.0.2.99 \
    --log-queries --log-facility="$work/dnsmasq.log" >"$work/dnsmasq.out" 2>&1 &
pids+=($!)
for port in 8080 9090; do
    ip netns exec "$inet" socat -u "TCP-LISTEN:$port,bind=192.0.2.80,reuseaddr,fork" OPEN:/dev/null &
    pids+=($!)
done

cgroup_args=()
if [ -n "$cgroup_root" ]; then
    mkdir "$cgroup_root"
    cgroup_args=(--cgroup-root "$cgroup_root")
else
    echo "demo: warning: no cgroup v2 hierarchy mounted; the cell runs without memory/pids/cpu limits" >&2
fi
# nsenter, not `ip netns exec`: that mounts a fresh /sys without /sys/fs/cgroup.
nsenter --net="/run/netns/$host" -- "$CELLOS_BIN/cellos-netnsd" --socket "$work/netnsd.sock" --state-dir "$work/netnsd-state" --allow-uid 0 \
    --uplink-pool 10.200.0.0/24 "${cgroup_args[@]}" 2>"$work/netnsd.log" &
pids+=($!)
# It logs "listening on" once the control socket accepts connections.
for _ in $(seq 200); do grep -q "listening on" "$work/netnsd.log" && break; sleep 0.05; done
grep -q "listening on" "$work/netnsd.log" || { echo "demo: cellos-netnsd did not start:" >&2; cat "$work/netnsd.log" >&2; exit 1; }
# Where the spec's limits go (and a warning for any controller that has no place).
grep -E "cgroup limits:|warning:" "$work/netnsd.log" | sed 's/^/demo: /' || true

echo "demo: running the demo cell (cellos-broker run, embedded spec)"
echo "----- workload output -----"
: > "$events"
set +e
ip netns exec "$host" "$CELLOS_BIN/cellos-broker" run --netnsd-socket "$work/netnsd.sock" --events "$events" 2>"$work/broker.err"
status=$?
set -e
echo "----- summary -----"
"$CELLOS_BIN/cellos-broker" summary "$events"
echo "broker exit status: $status"
grep -v '^{"stats"' "$work/broker.err" >&2 || true
echo "full event log (CloudEvents JSON lines): $events"
