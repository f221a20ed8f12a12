#!/usr/bin/env bash
# Wall time of a whole cell through the broker, next to plain namespace tools,
# measured side by side (interleaved, so load drifts hit every row alike):
#
#   bench/broker-run.sh [ITERATIONS] [BIN_DIR]
#
#   unshare -n true                       new netns only
#   bwrap --unshare-net true              new netns (bubblewrap)
#   cellos-broker run (dns+flowlog off)   CreateCell -> SpawnWorkload (parked, stdio
#                                         passed) -> StartWorkload -> Exited ->
#                                         ReadCounters -> DestroyCell, /bin/true
#   cellos-broker run (full policy)       the same plus cellos-dnsproxy and
#                                         cellos-flowlog started on the cell's sockets,
#                                         waited for READY=1 and stopped at the end
# Each iteration is one process start of the command (the broker's included);
# cellos-netnsd runs throughout. Prints median, p10, p90, min and max in ms and the
# median's ratio to bwrap. Needs root and bwrap (apt-get install -y bubblewrap).
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-30}
bin=${2:-$(bash scripts/build-release.sh | tail -1)}
for tool in cellos-netnsd cellos-broker cellos-dnsproxy cellos-flowlog; do
    [ -x "$bin/$tool" ] || { echo "$bin/$tool missing (BIN_DIR should hold a scripts/build-release.sh build)" >&2; exit 1; }
done
command -v bwrap >/dev/null || { echo "bwrap missing: apt-get install -y bubblewrap" >&2; exit 1; }

work=$(mktemp -d)
daemon=
# netnsd runs as deployed: with a cgroup root, so each workload gets its leaves
# (the spec's default limits are applied) and, once the workload's cgroup is
# empty, netnsd ends the cell's flow log (the flow log then stops without
# waiting out the kernel's NFLOG flush timeout).
cgroup_root=
for hierarchy in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if [ -e "$hierarchy/cgroup.controllers" ]; then cgroup_root=$hierarchy/cellos-bench-$$; break; fi
done
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    [ -n "$cgroup_root" ] && rmdir "$cgroup_root" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cgroup_args=()
if [ -n "$cgroup_root" ]; then mkdir "$cgroup_root"; cgroup_args=(--cgroup-root "$cgroup_root"); fi

"$bin/cellos-netnsd" --socket "$work/netnsd.sock" --state-dir "$work/netnsd-state" --allow-uid 0 "${cgroup_args[@]}" 2>"$work/netnsd.log" &
daemon=$!
for _ in $(seq 200); do grep -q "listening on" "$work/netnsd.log" && break; sleep 0.05; done
cat >"$work/minimal.json" <<'SPEC'
{"version": 1, "argv": ["/bin/true"], "dns": {"enabled": false}, "flow_log": false}
SPEC
# The proxy needs an upstream to start; it is never asked (the workload makes no query).
cat >"$work/full.json" <<'SPEC'
{"version": 1, "argv": ["/bin/true"], "dns": {"upstream": "127.0.0.1:53"}, "flow_log": true}
SPEC

rows=("unshare -n true" "bwrap --unshare-net true" "cellos-broker run, dns+flowlog off" "cellos-broker run, full policy")
run_row() {
    case $1 in
        0) unshare -n true ;;
        1) bwrap --unshare-net --ro-bind / / true ;;
        2) "$bin/cellos-broker" run --netnsd-socket "$work/netnsd.sock" --spec "$work/minimal.json" ;;
        3) "$bin/cellos-broker" run --netnsd-socket "$work/netnsd.sock" --spec "$work/full.json" 2>/dev/null ;;
    esac
}
for row in 0 1 2 3; do run_row "$row" >/dev/null; done  # warm-up
for _ in $(seq "$iterations"); do
    for row in 0 1 2 3; do
        start=$(date +%s%N)
        run_row "$row" >/dev/null
        end=$(date +%s%N)
        echo "$(( end - start ))" >>"$work/row$row"
    done
done
echo "iterations: $iterations (interleaved)"
printf "%-40s %8s %8s %8s %8s %8s %8s\n" "" median p10 p90 min max "x bwrap"
bwrap_median=$(sort -n "$work/row1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
for row in 0 1 2 3; do
    sort -n "$work/row$row" | awk -v name="${rows[$row]}" -v base="$bwrap_median" '
        {a[NR]=$1}
        END {
            m=a[int((NR+1)/2)]; p10=a[int(NR*0.1)+1]; p90=a[int(NR*0.9)]
            printf "%-40s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", name, m/1e6, p10/1e6, p90/1e6, a[1]/1e6, a[NR]/1e6, m/base
        }'
done
