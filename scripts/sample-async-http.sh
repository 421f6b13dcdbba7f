#!/usr/bin/env bash
# Builds and runs Samples/AsyncHTTPDownload (the talk's 100 web requests with Pool(20),
# done with AsyncHTTPClient from green code against a local server), and checks what it
# prints. A package of its own, so the main package never compiles AsyncHTTPClient; its
# first build takes minutes. scripts/test.sh runs this when GREEN_SLOW=1 or CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-libev.sh
sample=Samples/AsyncHTTPDownload
start=$(date +%s)
swift build --package-path "$sample" >&2
echo "sample-async-http: built in $(( $(date +%s) - start )) s" >&2
out=$(swift run --skip-build --package-path "$sample" AsyncHTTPDownload)
printf '%s\n' "$out"
summary=$(printf '%s\n' "$out" | grep '^downloaded ') || { echo "sample-async-http: no summary line" >&2; exit 1; }
# 100 pages of "page N\n" for N = 1...100: 9*7 + 90*8 + 1*9 = 792 bytes.
if [[ $summary =~ ^downloaded\ 100\ pages,\ 100\ ok,\ 792\ bytes,\ at\ most\ ([0-9]+)\ requests ]] \
    && (( BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= 20 )); then
    echo "sample-async-http: ok" >&2
else
    echo "sample-async-http: unexpected summary: $summary" >&2
    exit 1
fi
