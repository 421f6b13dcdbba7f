#!/usr/bin/env bash
# fuzz.sh: builds the fuzz target (Tests/Fuzz/GreenFuzz) with libFuzzer and
# AddressSanitizer and runs it for a bounded time over BufferedReader and the
# chat room's name and line handling. New inputs that reach new code are
# merged into the committed corpus (Tests/Fuzz/corpus); a crash leaves its
# input in .build-fuzz/crashes/ and fails the script.
#
# Usage: scripts/fuzz.sh [SECONDS]     (default 60)
# Replay one input with the normal build: swift run GreenFuzz FILE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/ensure-libev.sh
scratch=.build-fuzz
build=(swift build --product GreenFuzz --scratch-path "$scratch"
       -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
echo "== building GreenFuzz with libFuzzer and AddressSanitizer" >&2
start=$(date +%s)
"${build[@]}" >&2
echo "== built in $(( $(date +%s) - start )) s" >&2
bin="$("${build[@]}" --show-bin-path)/GreenFuzz"
work="$scratch/corpus-run"
rm -rf "$work"
mkdir -p "$work" "$scratch/crashes"
cp Tests/Fuzz/corpus/* "$work/"
# Swift's backtracer would hold each crash for seconds while it symbolicates.
export SWIFT_BACKTRACE=enable=no
echo "== fuzzing for $seconds s" >&2
"$bin" "$work" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -artifact_prefix="$scratch/crashes/" -print_final_stats=1
# Keep the corpus small: only inputs that add coverage join the committed one.
"$bin" -merge=1 Tests/Fuzz/corpus "$work" > "$scratch/merge.log" 2>&1 || { cat "$scratch/merge.log" >&2; exit 1; }
echo "== corpus: $(ls Tests/Fuzz/corpus | wc -l) inputs" >&2
