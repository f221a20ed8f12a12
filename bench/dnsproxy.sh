#!/usr/bin/env bash
# Benchmarks cellos-dnsproxy against its peers in one run, on loopback:
#
#   upstream direct  knotd serving bench.test (the upstream of all the others)
#   dnsdist          allowlist proxy: *.bench.test forwarded, anything else REFUSED
#   dnsmasq          forwarding, cache off
#   cellos-dnsproxy  --allow '*.bench.test', per-query events to a file, as uid 65534
#
#   bench/dnsproxy.sh [SECONDS] [CLIENTS] [OUTSTANDING]     (defaults 10 10 200)
#
# Needs root (setpriv to drop to 65534), Debian packages knot dnsperf dnsdist
# dnsmasq-base, and builds cellos-dnsproxy in release mode (scratch path $CELLOS_BENCH_SCRATCH,
# default .build-bench). CELLOS_BENCH_PROXY_ARGS adds flags to the proxy (e.g. "--upstream-sockets 1").
# CELLOS_BENCH_ROUNDS=N adds N alternating dnsdist / cellos-dnsproxy rounds after the table
# and prints each round's ratio and their median: the table measures the targets one after
# another, so load that comes and goes moves its ratios; alternating rounds see it alike.
# Prints queries/s, average latency, lost queries and peak RSS per target, and
# each as a ratio to dnsdist. p99 latency: dnsperf 2.10 has no percentile output,
# so a second, shorter run with dnsperf -v per target gives it (see docs).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
clients=${2:-10}
outstanding=${3:-200}
work=$(mktemp -d /tmp/cellos-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

scratch=${CELLOS_BENCH_SCRATCH:-.build-bench}
# CELLOS_BENCH_PROXY_BIN: an already built cellos-dnsproxy (bench/cell-vs-bwrap.sh passes its own).
proxy_bin=${CELLOS_BENCH_PROXY_BIN:-$(bash scripts/build-release.sh --scratch-path "$scratch" --product cellos-dnsproxy | tail -1)/cellos-dnsproxy}

base=$((20000 + RANDOM % 20000))
upstream_port=$base dnsdist_port=$((base + 1)) dnsmasq_port=$((base + 2)) cellos_port=$((base + 3))

# --- upstream: knotd with 1000 A records --------------------------------------
{
    echo '$ORIGIN bench.test.'
    echo '$TTL 300'
    echo '@ SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300'
    echo '@ NS ns'
    echo 'ns A 192.0.2.1'
    for i in $(seq 1 1000); do echo "h$i A 192.0.2.$((i % 250 + 1))"; done
} > "$work/bench.test.zone"
cat > "$work/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$upstream_port
    rundir: $work
database:
    storage: $work
log:
  - target: stderr
    any: error
zone:
  - domain: bench.test
    file: $work/bench.test.zone
CONF
knotd -c "$work/knot.conf" 2>"$work/knotd.log" & pids+=($!)

for i in $(seq 1 1000); do echo "h$i.bench.test A"; done > "$work/queries.txt"

# --- dnsdist: the same suffix allowlist ---------------------------------------
cat > "$work/dnsdist.conf" <<CONF
setLocal("127.0.0.1:$dnsdist_port")
newServer({address="127.0.0.1:$upstream_port", checkType="A", checkName="h1.bench.test."})
allowed = newSuffixMatchNode()
allowed:add(newDNSName("bench.test."))
addAction(NotRule(SuffixMatchNodeRule(allowed)), RCodeAction(DNSRCode.REFUSED))
CONF
dnsdist --supervised --disable-syslog -C "$work/dnsdist.conf" >"$work/dnsdist.log" 2>&1 & pids+=($!)
dnsdist_pid=$!

dnsmasq --no-daemon --port="$dnsmasq_port" --listen-address=127.0.0.1 --bind-interfaces --no-resolv \
    --no-hosts --conf-file=/dev/null --user=root --pid-file= --cache-size=0 \
    --server="127.0.0.1#$upstream_port" 2>"$work/dnsmasq.log" & pids+=($!)
dnsmasq_pid=$!

touch "$work/events.jsonl" && chown 65534:65534 "$work/events.jsonl"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all -- \
    "$proxy_bin" --listen "127.0.0.1:$cellos_port" --upstream "127.0.0.1:$upstream_port" \
    --allow '*.bench.test' --cell-id bench --events "$work/events.jsonl" ${CELLOS_BENCH_PROXY_ARGS:-} 2>"$work/cellos.log" & pids+=($!)
cellos_pid=$!

# Wait until every target answers.
for port in $upstream_port $dnsdist_port $dnsmasq_port $cellos_port; do
    for _ in $(seq 1 100); do
        kdig @127.0.0.1 -p "$port" +timeout=1 +retry=0 +short h1.bench.test A 2>/dev/null | grep -q 192.0.2 && break
        sleep 0.1
    done
done

knot_pid=$(pgrep -f "knotd -c $work/knot.conf" | head -1)

run() { # name port pid
    local name=$1 port=$2 pid=$3 out
    out=$(dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$seconds" -c "$clients" -q "$outstanding" 2>&1)
    local qps avg lost rss p99
    qps=$(awk '/Queries per second/ {print $4}' <<<"$out")
    avg=$(awk '/Average Latency/ {print $4}' <<<"$out")
    lost=$(awk '/Queries lost/ {print $3}' <<<"$out")
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    # p99 from a 2 s per-query (-v) run at the same concurrency.
    p99=$(dnsperf -v -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l 2 -c "$clients" -q "$outstanding" 2>/dev/null \
        | awk '$1 == ">" {print $NF}' | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int(NR*0.99)]; else print "n/a"}')
    echo "$name $qps $avg $p99 $lost $rss"
}

results=$(
    run upstream-direct "$upstream_port" "$knot_pid"
    run dnsdist "$dnsdist_port" "$dnsdist_pid"
    run dnsmasq-nocache "$dnsmasq_port" "$dnsmasq_pid"
    run cellos-dnsproxy "$cellos_port" "$cellos_pid"
)
events=$(wc -l <"$work/events.jsonl")
kill -USR1 "$cellos_pid"; sleep 0.2

echo "dnsperf -l $seconds -c $clients -q $outstanding, 1000 names of bench.test, knotd upstream; $(nproc) CPUs"
awk -v base="$(awk '$1=="dnsdist" {print $2, $3, $6}' <<<"$results")" '
BEGIN { split(base, b, " "); printf "%-16s %10s %8s %10s %10s %10s %10s %8s %10s\n", "target", "qps", "x dnsdist", "avg ms", "p99 ms", "lost", "peak RSS", "x dnsdist", "" }
{ printf "%-16s %10.0f %8.2f %10.3f %10.3f %10s %8d kB %8.2f\n", $1, $2, $2 / b[1], $3 * 1000, $4 * 1000, $5, $6, $6 / b[3] }' <<<"$results"
echo "cellos-dnsproxy events written during the runs: $events"
tail -n 1 "$work/cellos.log"

rounds=${CELLOS_BENCH_ROUNDS:-0}
if [ "$rounds" -gt 0 ]; then
    qps() { dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries.txt" -l "$seconds" -c "$clients" -q "$outstanding" 2>&1 | awk '/Queries per second/ {print $4}'; }
    echo "alternating rounds, $seconds s each:"
    for round in $(seq "$rounds"); do
        d=$(qps "$dnsdist_port")
        c=$(qps "$cellos_port")
        awk -v r="$round" -v d="$d" -v c="$c" 'BEGIN { printf "  round %d: dnsdist %.0f qps, cellos-dnsproxy %.0f qps, ratio %.2f\n", r, d, c, c / d }'
    done | tee "$work/rounds"
    awk '{print $NF}' "$work/rounds" | sort -g | awk '{v[NR]=$1} END {printf "median ratio over %d rounds: %.2f\n", NR, v[int((NR+1)/2)]}'
fi
