#!/usr/bin/env bash
# Issue 16's table in one run: a confined cell next to bubblewrap, side by side.
#
#   bench/cell-vs-bwrap.sh [ITERATIONS] [BIN_DIR] [BASE_DIR]
#
# ITERATIONS defaults to 30, BIN_DIR to a scripts/build-release.sh build. BASE_DIR
# (another release build, e.g. of main) adds its cells, process starts and memory as
# rows "... (base)" in the same interleaved run, with its own cellos-netnsd: a
# before/after that load drifts hit alike.
#
# cellos-netnsd runs as a user starts it: --socket S --allow-uid 0 and no other
# flag (only --state-dir points into the scratch directory, so a netnsd of
# someone else on the host is not swept). Figures, each with its ratio:
#
#   full-policy cell    cellos-broker run --netnsd-socket S --allow-name '*.example.com' -- /bin/true
#   dns+flowlog off     the same cell with {"dns": {"enabled": false}, "flow_log": false}
#   bwrap (the peer)    bwrap --unshare-all --die-with-parent --ro-bind / / --tmpfs /tmp --proc /proc --dev /dev /bin/true
#   bwrap netns only    bwrap --unshare-net --ro-bind / / true (reference)
#                       all four interleaved, ITERATIONS each; medians, ratio to the peer
#   cells/s, 8 parallel CELLOS_BENCH_BATCH (48) full-policy cells through xargs -P8, against the
#                       same number of bwrap runs; 3 alternating rounds, median
#   process start       hyperfine -N of each executable's --version against a static Swift
#                       hello world (and one importing FoundationEssentials); 3 alternating rounds
#   memory per cell     RSS, PSS and unique memory (Private_Dirty: what no other process
#                       shares, whatever else runs) of the broker and its helpers, summed,
#                       while a full-policy cell runs `sleep`
#   dnsproxy vs dnsdist bench/dnsproxy.sh (CELLOS_BENCH_DNS=1; needs knot dnsperf dnsdist dnsmasq-base)
#
# The breakdown: every full-policy and minimal run passes --trace, and the broker's
# step times (docs/performance.md names the steps) are printed as medians.
# Needs root. Installs bubblewrap and hyperfine (bench-only) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "cell-vs-bwrap: run as root" >&2; exit 1; }
iterations=${1:-30}
batch=${CELLOS_BENCH_BATCH:-48}
for package in bubblewrap:bwrap hyperfine:hyperfine; do
    command -v "${package#*:}" >/dev/null || apt-get install -y "${package%:*}" >/dev/null
done
bin=${2:-$(bash scripts/build-release.sh | tail -1)}
bin=$(cd "$bin" && pwd)
base=${3:+$(cd "$3" && pwd)}
for dir in "$bin" ${base:+"$base"}; do
    for tool in cellos-netnsd cellos-broker cellos-dnsproxy cellos-flowlog; do
        [ -x "$dir/$tool" ] || { echo "$dir/$tool missing (BIN_DIR should hold a scripts/build-release.sh build)" >&2; exit 1; }
    done
done

work=$(mktemp -d /tmp/cellos-bench.XXXXXX)
chmod 755 "$work"
daemons=()
cleanup() {
    for daemon in "${daemons[@]}"; do kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
echo "load at start: $(uptime | sed 's/.*load average: //') ($(nproc) CPUs)"

# The peer for process start: static Swift hello worlds, built as the release build links.
printf 'print("hello")\n' >"$work/hello.swift"
printf 'import FoundationEssentials\nprint(Date.now.timeIntervalSince1970 > 0 ? "hello" : "")\n' >"$work/hello-fe.swift"
swiftc -O -static-stdlib "$work/hello.swift" -o "$work/hello" 2>/dev/null
swiftc -O -static-stdlib "$work/hello-fe.swift" -o "$work/hello-fe" 2>/dev/null

# One netnsd per build: "new" (BIN_DIR) and "base" (BASE_DIR).
start_netnsd() {
    "$2/cellos-netnsd" --socket "$work/$1.sock" --allow-uid 0 --state-dir "$work/$1-state" 2>"$work/$1-netnsd.log" &
    daemons+=($!)
    for _ in $(seq 200); do grep -q "listening on" "$work/$1-netnsd.log" && break; sleep 0.05; done
    grep -q "listening on" "$work/$1-netnsd.log" || { cat "$work/$1-netnsd.log" >&2; exit 1; }
}
start_netnsd new "$bin"
[ -z "$base" ] || start_netnsd base "$base"
printf '{"version": 1, "argv": ["/bin/true"], "dns": {"enabled": false}, "flow_log": false}\n' >"$work/minimal.json"

trace=()
"$bin/cellos-broker" run --help | grep -q -- --trace && trace=(--trace)
# broker SET ARGS...: a cell through SET's broker and netnsd (--trace only for the new build).
broker() {
    if [ "$1" = base ]; then shift; "$base/cellos-broker" run --netnsd-socket "$work/base.sock" "$@"
    else shift; "$bin/cellos-broker" run --netnsd-socket "$work/new.sock" "${trace[@]}" "$@"; fi
}
run_row() {
    case $1 in
        full) broker new --allow-name '*.example.com' -- /bin/true ;;
        minimal) broker new --spec "$work/minimal.json" ;;
        full-base) broker base --allow-name '*.example.com' -- /bin/true ;;
        minimal-base) broker base --spec "$work/minimal.json" ;;
        bwrap) bwrap --unshare-all --die-with-parent --ro-bind / / --tmpfs /tmp --proc /proc --dev /dev /bin/true ;;
        bwrap-net) bwrap --unshare-net --ro-bind / / true ;;
    esac
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : 0)}'; }
# Microseconds since the epoch, without a fork (bash's EPOCHREALTIME).
now() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
# CPU time (clock ticks) of this script's reaped children (a broker and its helpers,
# bwrap) and of every netnsd with its reaped children (the workloads). Ticks are
# coarse, but the kernel sums exact times: summed over many runs the mean is right,
# and CPU time moves far less with the machine's load than wall time.
cpu_ticks() {
    local total=0 pid
    total=$(awk '{sub(/.*\) /, ""); print $14 + $15}' /proc/$$/stat)
    for pid in "${daemons[@]}"; do
        total=$((total + $(awk '{sub(/.*\) /, ""); print $12 + $13 + $14 + $15}' /proc/"$pid"/stat)))
    done
    echo "$total"
}

rows=(full minimal bwrap bwrap-net)
[ -z "$base" ] || rows+=(full-base minimal-base)
for row in "${rows[@]}"; do run_row "$row" >/dev/null 2>&1; done  # warm-up
for _ in $(seq "$iterations"); do
    for row in "${rows[@]}"; do
        ticks=$(cpu_ticks)
        start=$(now)
        run_row "$row" >/dev/null 2>"$work/stderr"
        end=$(now)
        echo "$((end - start))" >>"$work/$row.wall"
        echo "$(($(cpu_ticks) - ticks))" >>"$work/$row.cpu"
        # Trace lines: "cellos-broker trace: STEP EPOCH_US"; the launch and the exit come from here.
        if [ "${#trace[@]}" -gt 0 ] && { [ "$row" = full ] || [ "$row" = minimal ]; }; then
            { echo "launch $start"; sed -n 's/^cellos-broker trace: //p' "$work/stderr"; echo "exited $end"; } |
                awk '{ if (NR > 1) printf "%s %d\n", $1, $2 - last; last = $2 }' >>"$work/$row.trace"
        fi
    done
done

# Cells per second with 8 in parallel: alternating rounds of `batch` runs each.
export -f run_row broker
export bin base work
export trace_flag="${trace[*]}"
parallel_rate() {
    local start end
    start=$(now)
    seq "$batch" | xargs -P8 -I{} bash -c 'trace=($trace_flag); run_row '"$1"' >/dev/null 2>&1'
    end=$(now)
    awk -v n="$batch" -v us="$((end - start))" 'BEGIN {printf "%.1f\n", n / (us / 1e6)}'
}
for _ in 1 2 3; do
    parallel_rate bwrap >>"$work/bwrap.rate"
    parallel_rate full >>"$work/full.rate"
    [ -z "$base" ] || parallel_rate full-base >>"$work/full-base.rate"
done

# Process start: hyperfine rounds, alternating the executables.
starts=("hello:$work/hello" "hello-fe:$work/hello-fe")
for tool in cellos-broker cellos-netnsd cellos-dnsproxy cellos-flowlog; do
    starts+=("$tool:$bin/$tool --version")
    [ -z "$base" ] || starts+=("$tool-base:$base/$tool --version")
done
for round in 1 2 3; do
    for entry in "${starts[@]}"; do
        name=${entry%%:*}
        hyperfine -N --warmup 10 --runs 100 --export-json "$work/start.json" "${entry#*:}" >/dev/null 2>&1
        python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["results"][0]; print(r["median"] * 1e6, (r["user"] + r["system"]) * 1e6)' \
            "$work/start.json" >>"$work/$name.start"
    done
done

# Memory of one live cell: the broker and its helpers (the broker's children) while `sleep` runs.
memory() {
    local pid=$1 total_rss=0 total_pss=0 total_unique=0 each
    for each in $pid $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        read -r rss pss unique < <(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_Dirty:/ {u=$2} END {print r, p, u}' /proc/"$each"/smaps_rollup)
        echo "  $(tr -d '\0' </proc/"$each"/comm 2>/dev/null || echo "$each"): RSS $rss kB, PSS $pss kB, unique $unique kB" >>"$work/memory.each"
        total_rss=$((total_rss + rss)) total_pss=$((total_pss + pss)) total_unique=$((total_unique + unique))
    done
    echo "$total_rss $total_pss $total_unique"
}
live_cell_memory() {
    local cell
    local dir=$bin
    [ "$1" = new ] || dir=$base
    "$dir/cellos-broker" run --netnsd-socket "$work/$1.sock" --allow-name '*.example.com' -- /bin/sleep 2 >/dev/null 2>&1 &
    cell=$!
    for _ in $(seq 100); do
        [ "$(wc -w </proc/"$cell"/task/"$cell"/children 2>/dev/null || echo 0)" -ge 2 ] && break
        sleep 0.02
    done
    sleep 0.5
    echo "$1:" >>"$work/memory.each"
    memory "$cell" >"$work/$1.memory"
    wait "$cell" || true
}
live_cell_memory new
[ -z "$base" ] || live_cell_memory base
read -r mem_rss mem_pss mem_unique <"$work/new.memory"

dns_ratio="skipped (CELLOS_BENCH_DNS=1 runs bench/dnsproxy.sh)"
if [ "${CELLOS_BENCH_DNS:-0}" = 1 ]; then
    CELLOS_BENCH_PROXY_BIN="$bin/cellos-dnsproxy" CELLOS_BENCH_ROUNDS=3 bash bench/dnsproxy.sh 5 >"$work/dns.out" 2>&1 || true
    dns_ratio=$(sed -n 's/^median ratio over .*: //p' "$work/dns.out")
    [ -n "$dns_ratio" ] || dns_ratio="failed: $(tail -1 "$work/dns.out")"
fi

echo "load at end: $(uptime | sed 's/.*load average: //')"
echo
echo "wall time per cell, $iterations interleaved runs each (ms); CPU: mean ms of CPU per cell, all processes"
printf "  %-38s %8s %8s %8s %9s %8s %9s\n" "" median p10 p90 "x bwrap" CPU "x bwrap"
bwrap_median=$(median <"$work/bwrap.wall")
ticks_per_ms=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN {print t / 1000}')
bwrap_cpu=$(awk -v k="$ticks_per_ms" '{s+=$1} END {print s / NR / k}' "$work/bwrap.cpu")
for row in "${rows[@]}"; do
    cpu=$(awk -v k="$ticks_per_ms" '{s+=$1} END {print s / NR / k}' "$work/$row.cpu")
    sort -g "$work/$row.wall" | awk -v name="$row" -v base="$bwrap_median" -v cpu="$cpu" -v bcpu="$bwrap_cpu" '
        {v[NR]=$1}
        END {m=v[int((NR+1)/2)]; printf "  %-38s %8.2f %8.2f %8.2f %9.2f %8.2f %9.2f\n", name, m/1e3, v[int(NR*0.1)+1]/1e3, v[int(NR*0.9)]/1e3, m/base, cpu, (bcpu > 0 ? cpu/bcpu : 0)}'
done

full_median=$(median <"$work/full.wall") minimal_median=$(median <"$work/minimal.wall")
full_rate=$(median <"$work/full.rate") bwrap_rate=$(median <"$work/bwrap.rate")
hello=$(awk '{print $1}' "$work/hello.start" | median)
hello_cpu=$(awk '{print $2}' "$work/hello.start" | median)
echo
echo "issue 16 table"
printf "  %-58s %14s %10s\n" figure measured target
awk -v f="$full_median" -v m="$minimal_median" -v b="$bwrap_median" 'BEGIN {
    printf "  %-58s %13.2fx %10s\n", "full-policy default cell vs bwrap --unshare-all (median)", f / b, "<= 2.0x"
    printf "  %-58s %13.2fx %10s\n", "dns and flow log off vs the same bwrap (median)", m / b, "<= 1.5x" }'
if [ -n "$base" ]; then
    awk -v f="$(median <"$work/full-base.wall")" -v m="$(median <"$work/minimal-base.wall")" -v b="$bwrap_median" 'BEGIN {
        printf "  %-58s %13.2fx\n", "  (base) full-policy cell vs bwrap", f / b
        printf "  %-58s %13.2fx\n", "  (base) dns and flow log off vs bwrap", m / b }'
fi
awk -v c="$full_rate" -v b="$bwrap_rate" 'BEGIN {
    printf "  %-58s %13.2fx %10s\n", sprintf("cells/s, 8 parallel (%.0f vs bwrap %.0f)", c, b), c / b, ">= 0.5x" }'
[ -z "$base" ] || awk -v c="$(median <"$work/full-base.rate")" -v b="$bwrap_rate" 'BEGIN {
    printf "  %-58s %13.2fx\n", sprintf("  (base) cells/s, 8 parallel (%.0f)", c), c / b }'
for entry in "${starts[@]}"; do
    name=${entry%%:*}
    value=$(awk '{print $1}' "$work/$name.start" | median)
    cpu=$(awk '{print $2}' "$work/$name.start" | median)
    awk -v n="$name" -v v="$value" -v h="$hello" -v c="$cpu" -v hc="$hello_cpu" 'BEGIN {
        printf "  %-58s %13.2fx %10s   CPU %.2f ms, %.2fx\n", sprintf("process start %s (%.2f ms) vs hello (%.2f ms)", n, v / 1e3, h / 1e3), v / h, (n ~ /^cellos/ && n !~ /base$/ ? "<= 1.3x" : ""), c / 1e3, c / hc }'
done
awk -v r="$mem_rss" -v p="$mem_pss" -v u="$mem_unique" 'BEGIN {
    printf "  %-58s %10.1f MiB %10s\n", sprintf("memory per live cell, unique (RSS %.1f MiB, PSS %.1f MiB)", r / 1024, p / 1024), u / 1024, "<= 4 MiB" }'
if [ -n "$base" ]; then
    read -r rss pss unique <"$work/base.memory"
    awk -v r="$rss" -v p="$pss" -v u="$unique" 'BEGIN {
        printf "  %-58s %10.1f MiB\n", sprintf("  (base) unique (RSS %.1f MiB, PSS %.1f MiB)", r / 1024, p / 1024), u / 1024 }'
fi
printf "  %-58s %14s %10s\n" "cellos-dnsproxy qps vs dnsdist (median of 3 rounds)" "$dns_ratio" ">= 1.0x"
sed 's/^/    /' "$work/memory.each"

for row in full minimal; do
    [ -s "$work/$row.trace" ] || continue
    echo
    echo "where a $row cell's time goes (median ms per step, $iterations runs; each step ends at the named mark)"
    awk '{print $1}' "$work/$row.trace" | awk '!seen[$0]++' | while read -r step; do
        value=$(awk -v s="$step" '$1 == s {print $2}' "$work/$row.trace" | median)
        printf "  %-24s %8.2f\n" "$step" "$(awk -v v="$value" 'BEGIN {print v / 1e3}')"
    done
done
