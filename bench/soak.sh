#!/usr/bin/env bash
# The chaos soak: CELLOS_SOAK_BROKERS brokers in parallel (default 16) run
# CELLOS_SOAK_CELLS cells in total (default 200), a mix of /bin/true, a DNS
# lookup, a denied connect, a timeout and a workload killed by a signal, while a
# chaos loop SIGKILLs a random broker or helper (cellos-dnsproxy, cellos-flowlog)
# every CELLOS_SOAK_CHAOS_MS (default 300) ms. Afterwards nothing may be left:
# namespaces or descriptors held by cellos-netnsd beyond its baseline, uplink
# links, NAT tables, cgroup leaves, processes; and every broker's exit status
# must be the documented one for what happened to it (docs/broker.md):
#   not hit by chaos   the kind's own status: true 0, dns 0, denied 3,
#                      timeout 124, signal 137 (its process SIGKILLed: 128+9)
#   broker SIGKILLed   137 (the shell's 128+9)
#   a helper SIGKILLed 123
# (or the kind's own status when the kill landed as the cell was ending).
# Prints a summary (cells, statuses, kills by target, leftovers by kind) and
# exits 1 on any leftover or unexpected status.
#
# The lab is demo.sh's (scripts/lab.sh): a "host" netns running cellos-netnsd
# with an uplink pool and a cgroup root, an "internet" netns with dnsmasq and TCP
# sinks. Run as root. CELLOS_BIN=DIR uses built executables (else: swift build).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "soak: run as root (namespaces, nftables)" >&2; exit 1; }
brokers=${CELLOS_SOAK_BROKERS:-16}
cells=${CELLOS_SOAK_CELLS:-200}
chaos_ms=${CELLOS_SOAK_CHAOS_MS:-300}
if [ -z "${CELLOS_BIN:-}" ]; then
    swift build >/dev/null
    CELLOS_BIN=$(swift build --show-bin-path)
fi
work=$(mktemp -d /tmp/cellos-soak.XXXXXX)
chmod 755 "$work"
source scripts/lab.sh
chaos=
workers=()
brokers_cgroup=

cleanup() {
    local status=$?
    [ -z "$chaos" ] || kill "$chaos" 2>/dev/null || true
    for pid in "${workers[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${workers[@]}"; do wait "$pid" 2>/dev/null || true; done
    # Whatever of this soak outlived its broker (a failure being reported) goes too.
    if [ -n "$brokers_cgroup" ] && [ -d "$brokers_cgroup" ]; then
        echo 1 > "$brokers_cgroup/cgroup.kill" 2>/dev/null || true
        for _ in $(seq 100); do rmdir "$brokers_cgroup" 2>/dev/null && break; sleep 0.02; done
    fi
    lab_teardown
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_up "csoak$$" "$work"
lab_start_netnsd "$CELLOS_BIN" "$work/netnsd.sock" "$work/netnsd.log" --state-dir "$work/netnsd-state" --uplink-pool 10.201.0.0/22
netnsd=$lab_netnsd
host=$lab_host
# Brokers and their helpers in a cgroup of their own: leftovers are counted there
# exactly (not by name among everybody's processes) and ended with cgroup.kill.
if [ -n "$lab_cgroup_root" ]; then
    brokers_cgroup=$lab_cgroup_root-brokers
    mkdir "$brokers_cgroup"
fi
sleep 0.2  # its readiness pipe closes just after the log line
fd_count() { ls "/proc/$netnsd/fd" | wc -l; }
ns_count() { find "/proc/$netnsd/fd" -lname 'net:*' 2>/dev/null | wc -l; }
baseline_fds=$(fd_count)
baseline_ns=$(ns_count)

# --- the cells ---
kinds=(true dns denied timeout signal)
spec() {  # kind -> spec file
    local argv egress='[]' timeout='20s'
    case "$1" in
        true) argv='["/bin/true"]' ;;
        dns) argv='["/usr/bin/getent","hosts","allowed.cellos.test"]' ;;
        denied)
            # Port 8080 is allowed (so the cell has an uplink); 9090 is dropped.
            egress='[{"address":"192.0.2.80","port":8080,"protocol":"tcp"}]'
            argv='["/bin/bash","-c","timeout 1 bash -c \"exec 3<>/dev/tcp/192.0.2.80/9090\" 2>/dev/null && exit 0; exit 3"]' ;;
        timeout) argv='["/bin/sleep","30"]'; timeout='1s' ;;
        # The workload is init of its PID namespace, which no signal from inside
        # can kill: its child is SIGKILLed and the shell exits 128+9 with it.
        signal) argv='["/bin/sh","-c","/bin/sleep 30 & kill -KILL $!; wait $!"]' ;;
    esac
    printf '{"version":1,"argv":%s,"dns":{"enabled":true,"allow":["allowed.cellos.test"],"upstream":"192.0.2.53:53"},"egress":%s,"timeout":"%s","grace":"500ms"}\n' \
        "$argv" "$egress" "$timeout" > "$work/$1.json"
}
for kind in "${kinds[@]}"; do spec "$kind"; done
expected() { case "$1" in true|dns) echo 0 ;; denied) echo 3 ;; timeout) echo 124 ;; signal) echo 137 ;; esac; }

# One worker per broker slot runs its share of the cells one after another.
worker() {
    local slot=$1 index kind pid status
    [ -z "$brokers_cgroup" ] || echo "$BASHPID" > "$brokers_cgroup/cgroup.procs"
    for ((index = slot; index < cells; index += brokers)); do
        kind=${kinds[$((index % ${#kinds[@]}))]}
        ip netns exec "$host" "$CELLOS_BIN/cellos-broker" run --netnsd-socket "$work/netnsd.sock" --spec "$work/$kind.json" \
            --id "soak-$index" --events "$work/events-$index.jsonl" </dev/null >"$work/out-$index.txt" 2>&1 &
        pid=$!
        echo "$pid" > "$work/broker-$index.pid"
        set +e
        wait "$pid"
        status=$?
        set -e
        echo "$index $kind $status $pid" >> "$work/results"
        rm -f "$work/events-$index.jsonl"
    done
}
for ((slot = 0; slot < brokers; slot++)); do
    # The shell's "Killed" notes for chaos-killed brokers go to a file, not the summary.
    worker "$slot" 2>>"$work/workers.err" &
    workers+=($!)
done

# The chaos loop: SIGKILL a random live broker or helper of this soak.
candidates() {
    if [ -n "$brokers_cgroup" ]; then
        local pid comm
        while read -r pid; do
            # Builtins only: a fork per process would slow the loop on a busy machine.
            comm=
            { read -r comm < "/proc/$pid/comm"; } 2>/dev/null || continue
            case "$comm" in cellos-broker|cellos-dnsproxy|cellos-flowlog) echo "$pid" ;; esac
        done < "$brokers_cgroup/cgroup.procs"
    else
        pgrep -f "^$CELLOS_BIN/cellos-(broker run|dnsproxy|flowlog) " || true
    fi
}
chaos_loop() {
    local delay target pid name stat parent
    delay=$(awk "BEGIN { printf \"%.3f\", $chaos_ms / 1000 }")
    while true; do
        sleep "$delay"
        target=$(candidates | shuf -n 1 || true)
        [ -n "$target" ] || continue
        name=
        { read -r name < "/proc/$target/comm"; } 2>/dev/null || continue
        stat=
        { read -r stat < "/proc/$target/stat"; } 2>/dev/null || continue
        # The parent is the second field after "(comm)".
        stat=${stat##*) }
        parent=$(set -- $stat; echo "$2")
        [ -n "$name" ] || continue
        kill -KILL "$target" 2>/dev/null || continue
        echo "$name $target $parent" >> "$work/kills"
    done
}
: > "$work/kills"
: > "$work/results"
chaos_loop &
chaos=$!
started=$(date +%s)
for pid in "${workers[@]}"; do wait "$pid" || true; done
kill "$chaos" 2>/dev/null || true
wait "$chaos" 2>/dev/null || true
chaos=
elapsed=$(( $(date +%s) - started ))

# --- judging ---
# netnsd tears a killed broker's cell down asynchronously: wait (bounded) for it.
for _ in $(seq 100); do
    [ "$(fd_count)" -le "$baseline_fds" ] && [ -z "$(pgrep -P "$netnsd" || true)" ] && break
    sleep 0.1
done
unexpected=0
declare -A statuses
while read -r index kind status pid; do
    statuses["$kind:$status"]=$(( ${statuses["$kind:$status"]:-0} + 1 ))
    # A kill can land just after the broker or helper finished (a zombie takes
    # the signal too): the kind's own status stays acceptable.
    allowed=" $(expected "$kind") "
    if awk -v p="$pid" '$1 == "cellos-broker" && $2 == p { found = 1 } END { exit !found }' "$work/kills"; then
        allowed+="137 "
    fi
    if awk -v p="$pid" '$1 != "cellos-broker" && $3 == p { found = 1 } END { exit !found }' "$work/kills"; then
        allowed+="123 "
    fi
    ok=$([[ "$allowed" == *" $status "* ]] && echo 1 || echo 0)
    if [ "$ok" = 0 ]; then
        unexpected=$((unexpected + 1))
        echo "soak: cell soak-$index ($kind) exited $status; its output:" >&2
        { grep -v '^{"stats"' "$work/out-$index.txt" || true; } | tail -5 | sed 's/^/    /' >&2
    fi
done < "$work/results"

left_ns=$(( $(ns_count) - baseline_ns ))
left_fds=$(( $(fd_count) - baseline_fds ))
left_links=$(ip -n "$host" -o link show | grep -c cellosu || true)
left_tables=$(ip netns exec "$host" nft list tables | grep -c cellos_uplink || true)
left_leaves=0
[ -z "$lab_cgroup_root" ] || left_leaves=$(find "$lab_cgroup_root" -mindepth 1 -maxdepth 1 -type d -name 'cell-*' | wc -l)
left_workloads=$(pgrep -P "$netnsd" | wc -l || true)
if [ -n "$brokers_cgroup" ]; then
    left_helpers=$(wc -l < "$brokers_cgroup/cgroup.procs")
else
    left_helpers=$(pgrep -f "^$CELLOS_BIN/cellos-(broker|dnsproxy|flowlog) " | wc -l || true)
fi

ran=$(wc -l < "$work/results")
echo "soak: $ran cells by $brokers parallel brokers in ${elapsed}s, a SIGKILL every ${chaos_ms}ms"
echo "soak: exit statuses (kind:status count):"
for key in $(printf '%s\n' "${!statuses[@]}" | sort); do echo "    $key ${statuses[$key]}"; done
echo "soak: kills by target: $(awk '{ print $1 }' "$work/kills" | sort | uniq -c | awk '{ printf "%s %s  ", $2, $1 }')"
echo "soak: leftovers: namespaces $left_ns, netnsd descriptors $left_fds (baseline $baseline_fds), links $left_links, nft tables $left_tables, cgroup leaves $left_leaves, workload processes $left_workloads, broker/helper processes $left_helpers"
echo "soak: unexpected exit statuses: $unexpected"
if ! kill -0 "$netnsd" 2>/dev/null; then echo "soak: cellos-netnsd died" >&2; exit 1; fi
if [ "$ran" -ne "$cells" ] || [ "$unexpected" -ne 0 ] || [ "$left_ns" -ne 0 ] || [ "$left_fds" -ne 0 ] || [ "$left_links" -ne 0 ] \
    || [ "$left_tables" -ne 0 ] || [ "$left_leaves" -ne 0 ] || [ "$left_workloads" -ne 0 ] || [ "$left_helpers" -ne 0 ]; then
    echo "soak: FAILED" >&2
    tail -20 "$work/netnsd.log" >&2
    exit 1
fi
echo "soak: passed"
