# The offline lab of scripts/demo.sh and bench/soak.sh, sourced by both:
#   <tag>-host  the "host" the daemons run in: 192.0.2.1/24 towards the internet
#               namespace; cellos-netnsd gives egress cells a veth uplink into
#               it (pool 10.200.0.0/24 unless told otherwise) with NAT.
#   <tag>-inet  the "internet": dnsmasq on 192.0.2.53 (allowed.cellos.test and
#               denied.cellos.test) and TCP sinks on 192.0.2.80 ports 8080 and 9090.
#   <v2>/cellos-<tag>  cellos-netnsd's --cgroup-root, a directory in the
#               machine's cgroup v2 hierarchy (/sys/fs/cgroup, or
#               /sys/fs/cgroup/unified on a hybrid host).
# Nothing touches the machine's own network namespace. lab_teardown (call it
# from the EXIT trap) removes everything, also after a crash.

lab_pids=()
lab_netnsd=
lab_cgroup_root=

# lab_up TAG WORK: the two namespaces, dnsmasq and the sinks; picks the cgroup root.
lab_up() {
    lab_tag=$1
    lab_work=$2
    lab_host=$lab_tag-host
    lab_inet=$lab_tag-inet
    for hierarchy in /sys/fs/cgroup /sys/fs/cgroup/unified; do
        if [ -e "$hierarchy/cgroup.controllers" ]; then lab_cgroup_root=$hierarchy/cellos-$lab_tag; break; fi
    done
    ip netns add "$lab_host"
    ip netns add "$lab_inet"
    ip link add "${lab_tag}h" type veth peer name "${lab_tag}i"
    ip link set "${lab_tag}h" netns "$lab_host"
    ip link set "${lab_tag}i" netns "$lab_inet"
    ip -n "$lab_host" link set lo up
    ip -n "$lab_host" addr add 192.0.2.1/24 dev "${lab_tag}h"
    ip -n "$lab_host" link set "${lab_tag}h" up
    ip -n "$lab_inet" link set lo up
    ip -n "$lab_inet" addr add 192.0.2.53/24 dev "${lab_tag}i"
    ip -n "$lab_inet" addr add 192.0.2.80/24 dev "${lab_tag}i"
    ip -n "$lab_inet" link set "${lab_tag}i" up
    # --keep-in-foreground, not --no-daemon: that one serves TCP one connection at a time.
    ip netns exec "$lab_inet" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
        --listen-address=192.0.2.53 --bind-interfaces --local=/cellos.test/ \
        --host-record=allowed.cellos.test,192.0.2.80 --host-record=denied.cellos.test,192.0.2.99 \
        --log-queries --log-facility="$lab_work/dnsmasq.log" >"$lab_work/dnsmasq.out" 2>&1 &
    lab_pids+=($!)
    for port in 8080 9090; do
        ip netns exec "$lab_inet" socat -u "TCP-LISTEN:$port,bind=192.0.2.80,reuseaddr,fork" OPEN:/dev/null &
        lab_pids+=($!)
    done
}

# lab_start_netnsd BIN SOCKET LOG [ARGS...]: cellos-netnsd in the host namespace
# (with the cgroup root when there is one), once it listens; its pid in lab_netnsd.
lab_start_netnsd() {
    local bin=$1 socket=$2 log=$3
    shift 3
    local cgroup_args=()
    if [ -n "$lab_cgroup_root" ]; then
        mkdir "$lab_cgroup_root"
        cgroup_args=(--cgroup-root "$lab_cgroup_root")
    else
        echo "lab: warning: no cgroup v2 hierarchy mounted; cells run without memory/pids/cpu limits" >&2
    fi
    # nsenter, not `ip netns exec`: that mounts a fresh /sys without /sys/fs/cgroup.
    nsenter --net="/run/netns/$lab_host" -- "$bin/cellos-netnsd" --socket "$socket" --allow-uid 0 \
        "${cgroup_args[@]}" "$@" 2>"$log" &
    lab_netnsd=$!
    lab_pids+=("$lab_netnsd")
    # It logs "listening on" once the control socket accepts connections.
    for _ in $(seq 200); do grep -q "listening on" "$log" && break; sleep 0.05; done
    grep -q "listening on" "$log" || { echo "lab: cellos-netnsd did not start:" >&2; cat "$log" >&2; return 1; }
}

lab_teardown() {
    for pid in "${lab_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${lab_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    # netnsd removes its workloads' leaves on SIGTERM; after a crash, end and remove what is left.
    if [ -n "$lab_cgroup_root" ] && [ -d "$lab_cgroup_root" ]; then
        for leaf in "$lab_cgroup_root"/cell-*; do
            [ -d "$leaf" ] || continue
            echo 1 > "$leaf/cgroup.kill" 2>/dev/null || true
            for _ in $(seq 100); do rmdir "$leaf" 2>/dev/null && break; sleep 0.02; done
        done
        rmdir "$lab_cgroup_root" 2>/dev/null || true
    fi
    [ -z "${lab_host:-}" ] || ip netns del "$lab_host" 2>/dev/null || true
    [ -z "${lab_inet:-}" ] || ip netns del "$lab_inet" 2>/dev/null || true
}
