#!/usr/bin/env bash
# Builds every libFuzzer target in fuzz/targets and runs each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# A target is fuzz/targets/NAME.swift (defining LLVMFuzzerTestOneInput with
# @_cdecl) plus fuzz/targets/NAME.sources: the repository files it is compiled
# with, one path or glob per line. Targets are compiled with swiftc -sanitize=fuzzer
# (plus address sanitizer) straight from those files, so a decoder under fuzz must
# not import the C shim targets. Seed inputs live in fuzz/corpus/NAME/.
# Exits non-zero on the first crash, leak or timeout; the reproducer is left in
# fuzz/out/NAME/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for file in fuzz/targets/*.swift; do targets+=("$(basename "$file" .swift)"); done
fi
for name in "${targets[@]}"; do
    out=fuzz/out/$name
    mkdir -p "$out" fuzz/corpus/"$name"
    mapfile -t sources < <(grep -v '^\s*\(#\|$\)' "fuzz/targets/$name.sources" | while read -r pattern; do compgen -G "$pattern"; done)
    echo "fuzz: building $name from ${#sources[@]} files"
    swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "Fuzz_${name//-/_}" \
        "fuzz/targets/$name.swift" "${sources[@]}" -o "$out/fuzz-$name"
    # Work on a scratch copy of the seeds so new inputs do not dirty the checkout.
    rm -rf "$out/corpus" && cp -r "fuzz/corpus/$name" "$out/corpus"
    echo "fuzz: running $name for ${seconds}s"
    (cd "$out" && ./"fuzz-$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 corpus) 2>&1 | tail -n 20
    echo "fuzz: $name passed"
done
