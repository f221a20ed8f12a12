#!/usr/bin/env bash
# The whole test suite, as root: dependencies, build, every test (privileged ones
# included), a leak check of the host, and a bounded fuzz run of every decoder.
#
# Under CI=true a privileged test may not skip: the tests enable themselves there
# and fail without root, and any skipped test fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

swift build --build-tests
bin=$(swift build --show-bin-path)
# Tests run the built helpers as uid 65534. If this checkout is not reachable for
# that user (a private home or CI folder), give the tests a readable copy.
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$bin/cellos-test-child"; then
    copy=$(mktemp -d /tmp/cellos-bin.XXXXXX)
    cp "$bin"/cellos-{broker,netnsd,dnsproxy,flowlog,egressproxy,test-child} "$copy"/
    chmod 755 "$copy"
    export CELLOS_BIN_DIR=$copy
    echo "test: $bin is not reachable for uid 65534; using a copy in $copy"
fi
log=$(mktemp)
trap 'rm -f "$log"; [ -z "${copy:-}" ] || rm -rf "$copy"' EXIT
# Labs name everything cl<hex>-…; what exists before the run is not this run's.
lab_objects() { (ip netns list; ip -o link show) | grep -oE '(^| )cl[0-9a-f]{6}[-v][^ :@]*' | sort -u || true; }
before=$(lab_objects)
# --no-parallel: the descriptor-leak tests count the whole process's open fds.
set +e
swift test --skip-build --no-parallel 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || { echo "test: swift test failed ($status)" >&2; exit "$status"; }
if [ "${CI:-}" = "true" ] && grep -E '(^|[^a-z])skipped' "$log" | grep -v ' 0 skipped' >/dev/null; then
    echo "test: tests were skipped under CI=true:" >&2
    grep -E 'skipped' "$log" >&2
    exit 1
fi

# Anything a lab of this run left is a cleanup bug.
leftovers=$(comm -13 <(echo "$before") <(lab_objects))
if [ -n "$leftovers" ]; then
    echo "test: the suite left lab namespaces or links behind:" >&2
    echo "$leftovers" >&2
    exit 1
fi

# The chaos soak, CI-sized (about 10 s here): CELLOS_SOAK_CELLS=0 skips it;
# bench/soak.sh alone runs the full size.
if [ "${CELLOS_SOAK_CELLS:-60}" -gt 0 ]; then
    CELLOS_BIN=${CELLOS_BIN_DIR:-$bin} CELLOS_SOAK_BROKERS=${CELLOS_SOAK_BROKERS:-4} CELLOS_SOAK_CELLS=${CELLOS_SOAK_CELLS:-60} \
        bash bench/soak.sh
fi

scripts/fuzz.sh "${CELLOS_FUZZ_SECONDS:-30}"
echo "test: all passed"
