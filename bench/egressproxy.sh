#!/usr/bin/env bash
# Benchmarks cellos-egressproxy against haproxy doing the same SNI allowlisting
# (mode tcp, req.ssl_sni ACL), with a direct connection as the ceiling, on loopback:
#
#   direct             the client talks to the origin (openssl s_server -WWW)
#   haproxy            mode tcp; tcp-request inspect-delay + req.ssl_sni allowlist
#   cellos-egressproxy --allow bench.test:PORT, explicit mode (CONNECT, then the SNI is checked
#                      against the CONNECT target), events to a file, as uid 65534
#
#   bench/egressproxy.sh [SECONDS] [MIB]      (defaults 10 1024)
#
# Measures new TLS connections per second (one Python client thread doing full
# handshakes with SNI bench.test, no session reuse; the same client for all three,
# so its cost is common) and the throughput of one MIB-MiB transfer (curl -k, TLS
# from s_server; the proxies relay the encrypted bytes). Prints each figure and its
# ratio to haproxy (connections) and to direct (throughput). Needs root (setpriv),
# Debian's haproxy, openssl, curl, python3; builds cellos-egressproxy in release mode
# into .build-bench (or uses $CELLOS_BENCH_BIN/cellos-egressproxy).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
mib=${2:-1024}
work=$(mktemp -d /tmp/cellos-l7bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${CELLOS_BENCH_BIN:-}" ]; then
    swift build -c release --product cellos-egressproxy --scratch-path .build-bench >/dev/null
    CELLOS_BENCH_BIN=.build-bench/release
fi
bin=$(realpath "$CELLOS_BENCH_BIN")
origin=18443 haproxy_port=18444 proxy_port=18445 dns_port=18453

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
    -days 1 -subj /CN=bench.test -addext subjectAltName=DNS:bench.test 2>/dev/null
mkdir -p "$work/www" && head -c $((mib << 20)) /dev/zero > "$work/www/big"
(cd "$work/www" && exec openssl s_server -accept 127.0.0.1:$origin -cert ../cert.pem -key ../key.pem -WWW -quiet -naccept 1000000000 >/dev/null 2>&1) &
pids+=($!)
dnsmasq --no-daemon --port=$dns_port --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts --conf-file=/dev/null \
    --user=root --pid-file= --address=/bench.test/127.0.0.1 >/dev/null 2>&1 &
pids+=($!)
cat > "$work/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend sni
    bind 127.0.0.1:$haproxy_port
    tcp-request inspect-delay 10s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend origin if { req.ssl_sni -i bench.test }
    default_backend refuse
backend origin
    server o 127.0.0.1:$origin
backend refuse
    tcp-request content reject
CFG
haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 &
pids+=($!)
touch "$work/events.jsonl" && chmod 666 "$work/events.jsonl"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all -- \
    "$bin/cellos-egressproxy" --listen 127.0.0.1:$proxy_port --upstream 127.0.0.1:$dns_port --allow bench.test:$origin \
    --events "$work/events.jsonl" --max-connections 1024 2>/dev/null &
pids+=($!)
sleep 1

connections() {  # $1 port, $2 "connect" for the explicit proxy
    python3 - "$1" "$2" "$seconds" <<'PY'
import socket, ssl, sys, time
port, mode, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
context = ssl.create_default_context(); context.check_hostname = False; context.verify_mode = ssl.CERT_NONE
count, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    raw = socket.create_connection(("127.0.0.1", port))
    if mode == "connect":
        raw.sendall(b"CONNECT bench.test:18443 HTTP/1.1\r\nHost: bench.test:18443\r\n\r\n")
        reply = b""
        while not reply.endswith(b"\r\n\r\n"): reply += raw.recv(1)
    tls = context.wrap_socket(raw, server_hostname="bench.test")
    tls.close(); count += 1
print(f"{count / seconds:.0f}")
PY
}
throughput() {  # curl arguments after the URL; prints MiB/s
    curl -sk -o /dev/null -w '%{speed_download}\n' "https://bench.test:$origin/big" "$@" | awk '{ printf "%.0f\n", $1 / 1048576 }'
}
direct_cps=$(connections $origin direct)
haproxy_cps=$(connections $haproxy_port direct)
cellos_cps=$(connections $proxy_port connect)
direct_mibs=$(throughput --resolve bench.test:$origin:127.0.0.1)
haproxy_mibs=$(throughput --connect-to bench.test:$origin:127.0.0.1:$haproxy_port)
cellos_mibs=$(throughput -x http://127.0.0.1:$proxy_port --noproxy "" --resolve bench.test:$origin:127.0.0.1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
printf '%-20s %12s %10s %12s %10s\n' target "conn/s" "vs haproxy" "MiB/s" "vs direct"
printf '%-20s %12s %10s %12s %10s\n' direct "$direct_cps" "$(ratio "$direct_cps" "$haproxy_cps")" "$direct_mibs" 1.00
printf '%-20s %12s %10s %12s %10s\n' haproxy "$haproxy_cps" 1.00 "$haproxy_mibs" "$(ratio "$haproxy_mibs" "$direct_mibs")"
printf '%-20s %12s %10s %12s %10s\n' cellos-egressproxy "$cellos_cps" "$(ratio "$cellos_cps" "$haproxy_cps")" "$cellos_mibs" "$(ratio "$cellos_mibs" "$direct_mibs")"
echo "events written: $(wc -l < "$work/events.jsonl")"
