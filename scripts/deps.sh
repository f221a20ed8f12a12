#!/usr/bin/env bash
# Installs the Debian packages cellos needs, idempotently: only what is missing,
# with one `apt-get update` before the first install. Run as root.
#
#   scripts/deps.sh          build and demo dependencies
#   scripts/deps.sh deploy   plus what scripts/install.sh uses (man pages, systemd's tools)
#   scripts/deps.sh test     plus what the test suite and fuzzing use (deploy's included)
#   scripts/deps.sh scores   plus the Debian daemons whose units scripts/unit-scores.sh compares
set -euo pipefail

build_packages=(
    pkg-config libcap-dev libseccomp-dev libnftables-dev libmnl-dev  # linked by the helpers
    libssl-dev                                                        # libcrypto: the broker's Ed25519 event signatures
    nftables iproute2 util-linux                                      # kernel tools the lab and demo use (nsenter)
    dnsmasq-base socat                                                # the demo's "internet": DNS server and TCP service
)
deploy_packages=(
    help2man                   # man pages from --help (scripts/manpages.sh)
    systemd                    # systemd-analyze verify/security, systemd-sysusers, systemd-socket-activate
    adduser                    # the system users where systemd-sysusers is missing
)
score_packages=(
    dnsdist knot systemd-timesyncd   # systemd-networkd ships with systemd
)
test_packages=(
    iputils-ping util-linux    # ping, setpriv and nsenter in lab tests
    knot-dnsutils dnsmasq-base # kdig client and a real upstream DNS server
    ulogd2 ulogd2-json         # flow-log cross-check
    openssl curl python3       # the egress proxy's origins (s_server, http.server) and client
    nats-server                # the NATS JetStream sink's real server
    python3-venv               # the venv for the PyPI test packages below
)
# PyPI packages the tests use, in a venv (CELLOS_TEST_PYTHON names its python):
# the CloudEvents SDK re-serializes signed events, nats-py reads JetStream back.
test_python_venv=/opt/cellos-test-venv
test_python_packages=(cloudevents nats-py)

wanted=("${build_packages[@]}")
case "${1:-}" in
    deploy) wanted+=("${deploy_packages[@]}") ;;
    test) wanted+=("${deploy_packages[@]}" "${test_packages[@]}") ;;
    scores) wanted+=("${deploy_packages[@]}" "${score_packages[@]}") ;;
esac

missing=()
for package in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Packages that ship daemons (dnsmasq, ulogd2, dnsdist, knot) must not start them here.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = test ]; then
    [ -x "$test_python_venv/bin/python3" ] || python3 -m venv "$test_python_venv"
    if ! "$test_python_venv/bin/python3" -c 'import cloudevents.core, nats' 2>/dev/null; then
        echo "deps: installing ${test_python_packages[*]} into $test_python_venv"
        "$test_python_venv/bin/pip" install -q "${test_python_packages[@]}"
    fi
fi
command -v swift >/dev/null || { echo "deps: swift is not on PATH (the toolchain is expected at /opt/swift)" >&2; exit 1; }
