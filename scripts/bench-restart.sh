#!/usr/bin/env bash
# bench-restart.sh: a supervised crash and restart, Green against Erlang/OTP in
# the same run. `green-bench restart N` (release, Swift runtime linked
# statically) and Benchmarks/erlang/restart.escript (installs erlang-base when
# missing) each make a one-for-one supervisor restart its permanent child N
# times, with an intensity that keeps every restart in the history. Both run
# on CPU 0. Prints a markdown table (also bench-results/restart.md) with the
# elapsed time and, in brackets, the CPU time per restart (the ratio uses CPU
# time, which other processes of a loaded machine do not inflate).
#
# Usage: scripts/bench-restart.sh [N...]     (default: 1000 10000 100000)
# Erlang's supervisor scans its whole history at each restart, so its cost
# grows with N; runs over 20000 are skipped for Erlang (they take minutes).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
counts=("$@")
[[ ${#counts[@]} -gt 0 ]] || counts=(1000 10000 100000)

build=(swift build --package-path "$repo" -c release --static-swift-stdlib --scratch-path "$repo/.build-bench")
echo "building green-bench (release)" >&2
"${build[@]}" --product green-bench >&2
bin="$("${build[@]}" --show-bin-path)/green-bench"

if ! command -v escript > /dev/null; then
    echo "installing erlang-base" >&2
    (apt-get install -y erlang-base || { apt-get update && apt-get install -y erlang-base; }) >&2 || true
fi

field() { local pair; for pair in $1; do [[ $pair == "$2="* ]] && { printf '%s\n' "${pair#*=}"; return; }; done; }
pin() { if command -v taskset > /dev/null; then taskset -c 0 "$@"; else "$@"; fi; }

table="| restarts | Green ns/restart (CPU) | Erlang/OTP ns/restart (CPU) | Erlang/Green (CPU) |
| --- | --- | --- | --- |"
for n in "${counts[@]}"; do
    green=$(pin "$bin" restart "$n")
    g=$(field "$green" ns_per_restart) gc=$(field "$green" cpu_ns_per_restart)
    e="n/a" ec="" ratio="n/a" erl=""
    if command -v escript > /dev/null && (( n <= 20000 )); then
        erl=$(cd "$repo/Benchmarks/erlang" && pin escript restart.escript "$n")
        e=$(field "$erl" ns_per_restart) ec=$(field "$erl" cpu_ns_per_restart)
        ratio=$(awk "BEGIN { printf \"%.1f×\", $ec / $gc }")
    fi
    printf '%s\n' "$green" ${erl:+"$erl"} >&2
    table+="
| $n | $g ($gc) | $e${ec:+ ($ec)} | $ratio |"
done
mkdir -p "$repo/bench-results"
printf '%s\n' "$table" | tee "$repo/bench-results/restart.md"
