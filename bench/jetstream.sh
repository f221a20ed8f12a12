#!/usr/bin/env bash
# The NATS JetStream sink's cost (docs/events.md, "Sinks"), against a real
# nats-server -js on loopback:
#
#   bench/jetstream.sh [EVENTS] [ITERATIONS] [BIN_DIR]
#
# 1. events per second into JetStream with publish acknowledgements from one
#    broker: EVENTS signed events are spooled, then `cellos-broker flush` publishes
#    them (windows of 256, each acknowledged before the next) and is timed.
# 2. a cell's added wall time: `cellos-broker run` (dns and flow log off, /bin/true)
#    with --events FILE against --events FILE --sink nats://…, interleaved
#    ITERATIONS times; median, p10, p90 in ms and the median difference.
# Needs root (netnsd), nats-server and the test venv (scripts/deps.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-20000}
iterations=${2:-30}
bin=${3:-$(swift build --show-bin-path)}
python=${CELLOS_TEST_PYTHON:-/opt/cellos-test-venv/bin/python3}
work=$(mktemp -d)
nats_pid=
daemon=
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    [ -n "$nats_pid" ] && kill "$nats_pid" 2>/dev/null && wait "$nats_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nats-server -js -a 127.0.0.1 -p "$port" -sd "$work/store" >"$work/nats.log" 2>&1 &
nats_pid=$!
for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
"$python" Tests/Support/python/jetstream.py "nats://127.0.0.1:$port" create CELLOS 'cellos.events.>'
sink="nats://127.0.0.1:$port/cellos.events"

# 1. Throughput: a spool of EVENTS signed events, delivered by flush.
"$bin/cellos-broker" keygen --out "$work/key" >/dev/null
python3 - "$events" >"$work/lines" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print('{"type":"dns_query","time":"2026-12-02T01:02:03.%06dZ","cell_id":"bench","transport":"udp","client":"10.0.0.2:5353","qname":"n%d.example.com","qtype":"A","decision":"allow","reason":"allowed","rcode":"NOERROR","upstream_latency_us":312}' % (i % 1000000, i))
PY
mkdir "$work/spool"
key=$(printf %s "$sink" | sha256sum | cut -c1-16)
"$bin/cellos-broker" stamp --helper cellos-dnsproxy --cell-id bench --sign-key "$work/key" --events "$work/spool/$key.spool" "$work/lines"
start=$(date +%s%N)
"$bin/cellos-broker" flush --sink "$sink" --spool-dir "$work/spool" --budget 600000 >/dev/null
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
echo "JetStream, acknowledged: $events events in $ms ms = $(( events * 1000 / (ms > 0 ? ms : 1) )) events/s (one flush, windows of 256)"

# 2. A cell's wall time with and without the NATS sink.
"$bin/cellos-netnsd" --socket "$work/netnsd.sock" --state-dir "$work/netnsd-state" --allow-uid 0 2>"$work/netnsd.log" &
daemon=$!
for _ in $(seq 200); do grep -q "listening on" "$work/netnsd.log" && break; sleep 0.05; done
cat >"$work/minimal.json" <<'SPEC'
{"version": 1, "argv": ["/bin/true"], "dns": {"enabled": false}, "flow_log": false}
SPEC
# The runs drop privileges: a fresh spool they can write (flush above ran as root).
# ($work is 0700: the spool must be reachable for the broker's user.)
run_spool=$(mktemp -d /tmp/cellos-bench-spool.XXXXXX)
chmod 0777 "$run_spool"
run_row() {
    case $1 in
        0) "$bin/cellos-broker" run --netnsd-socket "$work/netnsd.sock" --spec "$work/minimal.json" --events "$work/file.jsonl" ;;
        1) "$bin/cellos-broker" run --netnsd-socket "$work/netnsd.sock" --spec "$work/minimal.json" --events "$work/file.jsonl" --sink "$sink" --spool-dir "$run_spool" ;;
    esac
}
for row in 0 1; do run_row "$row" >/dev/null; done  # warm-up
for _ in $(seq "$iterations"); do
    for row in 0 1; do
        start=$(date +%s%N)
        run_row "$row" >/dev/null
        end=$(date +%s%N)
        echo "$(( end - start ))" >>"$work/row$row"
    done
done
[ -z "$(ls "$run_spool" | grep '\.spool$' || true)" ] || echo "warning: events were spooled during the runs" >&2
rm -rf "$run_spool"
names=("--events FILE" "--events FILE --sink nats://")
printf "%-32s %8s %8s %8s\n" "cellos-broker run ($iterations, interleaved)" median p10 p90
medians=()
for row in 0 1; do
    read -r median p10 p90 < <(sort -n "$work/row$row" | awk '{a[NR]=$1} END {printf "%.2f %.2f %.2f\n", a[int((NR+1)/2)]/1e6, a[int(NR*0.1)+1]/1e6, a[int(NR*0.9)]/1e6}')
    medians+=("$median")
    printf "%-32s %8s %8s %8s\n" "${names[$row]}" "$median" "$p10" "$p90"
done
echo "added by the NATS sink at the median: $(awk -v a="${medians[0]}" -v b="${medians[1]}" 'BEGIN {printf "%.2f ms", b - a}')"
