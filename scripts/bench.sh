#!/usr/bin/env bash
# bench.sh: runs every green-bench workload on both runtimes (green, swift) and writes a markdown
# table of the results to stdout and to bench-results/latest.md.
#
# Usage: scripts/bench.sh [--quick]
#   --quick   counts divided by 100 (skynet: 10000 leaves), to check the script itself.
# Environment:
#   GREEN_BENCH_PACKAGE  package to build green-bench in (default: this repository)
#   GREEN_BENCH_RESULTS  folder for latest.md (default: bench-results in this repository)
#
# A workload that fails on a runtime (e.g. the green runtime not wired yet) shows "n/a" and the
# script goes on. Progress and errors go to stderr; stdout carries only the table.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
package=${GREEN_BENCH_PACKAGE:-$repo}
results=${GREEN_BENCH_RESULTS:-$repo/bench-results}

scale=1
case "${1:-}" in
    --quick) scale=100 ;;
    "") ;;
    *) echo "usage: $0 [--quick]" >&2; exit 64 ;;
esac

# workload and arguments; COUNTs are divided by $scale.
runs=(
    "switch 1000000"
    "pingpong 1000000"
    "oneway 1000000"
    "fanin 1000000 --senders 10"
    "spawn 100000"
    "ring 1000000"
    "skynet 1000000"
    "restart 100000"
)

echo "building green-bench (release) in $package" >&2
# Linked with the Swift runtime statically, as a deployed server usually is: the
# runtime's thread-local lookups (exclusivity state, paid on every switch) are
# cheaper that way. Its own scratch folder keeps it apart from debug builds.
build=(swift build --package-path "$package" -c release --static-swift-stdlib --scratch-path "$package/.build-bench")
"${build[@]}" --product green-bench >&2
bin="$("${build[@]}" --show-bin-path)/green-bench"

# field LINE KEY: the value of KEY in a key=value line, or nothing.
field() {
    local pair
    for pair in $1; do
        if [[ $pair == "$2="* ]]; then
            printf '%s\n' "${pair#*=}"
            return
        fi
    done
}

# calc EXPRESSION: awk arithmetic, printed with printf format $2 (default %.2f).
calc() { awk "BEGIN { printf \"${2:-%.2f}\", ($1) }"; }

# run WORKLOAD COUNT [ARGS...] RUNTIME: one green-bench line, or nothing if the run failed.
run() {
    local runtime=${*: -1} line
    echo "running green-bench ${*:1:$#-1} --runtime $runtime" >&2
    if line=$("$bin" "${@:1:$#-1}" --runtime "$runtime"); then
        printf '%s\n' "$line"
    else
        echo "  failed (exit $?): shown as n/a" >&2
    fi
}

# figure WORKLOAD LINE: the human-readable figure for the table.
figure() {
    local line=$2
    [[ -n $line ]] || { echo "n/a"; return; }
    case $1 in
        switch) echo "$(field "$line" ns_per_yield) ns/yield" ;;
        pingpong) echo "$(field "$line" ns_per_msg) ns/msg (rtt p50 $(field "$line" p50_ns) ns, p99 $(field "$line" p99_ns) ns)" ;;
        oneway | fanin) echo "$(field "$line" ns_per_msg) ns/msg" ;;
        spawn) echo "$(field "$line" ns_per_spawn) ns/spawn, $(field "$line" bytes_per_parked) B/parked" ;;
        ring) echo "$(field "$line" ns_per_hop) ns/hop" ;;
        skynet) echo "$(field "$line" seconds) s" ;;
        restart) echo "$(field "$line" ns_per_restart) ns/restart" ;;
    esac
}

# cost WORKLOAD LINE: the number the ratio compares (lower is better).
cost() {
    case $1 in
        switch) field "$2" ns_per_yield ;;
        pingpong | oneway | fanin) field "$2" ns_per_msg ;;
        spawn) field "$2" ns_per_spawn ;;
        ring) field "$2" ns_per_hop ;;
        skynet) field "$2" seconds ;;
        restart) field "$2" ns_per_restart ;;
    esac
}

# target WORKLOAD GREEN_LINE: the green target, marked met or missed when green ran.
target() {
    local text check
    case $1 in
        switch) text="≤ 20 ns/yield" check="$(field "$2" ns_per_yield) <= 20" ;;
        pingpong) text="≤ 25 ns/msg" check="$(field "$2" ns_per_msg) <= 25" ;;
        oneway) text="≤ 10 ns/msg" check="$(field "$2" ns_per_msg) <= 10" ;;
        spawn) text="≤ 500 ns each, ≤ 5 KiB parked"
               check="$(field "$2" ns_per_spawn) <= 500 && $(field "$2" bytes_per_parked) <= 5120" ;;
        skynet) text="< 0.5 s" check="$(field "$2" seconds) < 0.5" ;;
        restart) text="≤ 10 µs/restart" check="$(field "$2" ns_per_restart) <= 10000" ;;
        *) echo "—"; return ;;
    esac
    if [[ -z $2 ]]; then
        echo "$text"
    elif [[ $(calc "($check) ? 1 : 0" %d) == 1 ]]; then
        echo "$text ✅"
    else
        echo "$text ❌"
    fi
}

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
table="| workload | green | swift | green/swift speedup | target |
| --- | --- | --- | --- | --- |"
raw=""
for spec in "${runs[@]}"; do
    read -r workload count rest <<<"$spec"
    count=$((count / scale))
    # shellcheck disable=SC2086 # $rest holds extra options, split on purpose
    green=$(run "$workload" "$count" $rest green)
    # shellcheck disable=SC2086
    swift=$(run "$workload" "$count" $rest swift)
    green_cost=$(cost "$workload" "$green") swift_cost=$(cost "$workload" "$swift")
    ratio="n/a"
    if [[ -n $green_cost && -n $swift_cost && $(calc "$green_cost > 0" %d) == 1 ]]; then
        ratio="$(calc "$swift_cost / $green_cost")×"
    fi
    label="$workload $count${rest:+ $rest}"
    table+="
| $label | $(figure "$workload" "$green") | $(figure "$workload" "$swift") | $ratio | $(target "$workload" "$green") |"
    raw+="${green:-workload=$workload runtime=green n/a}
${swift:-workload=$workload runtime=swift n/a}
"
done

mkdir -p "$results"
{
    echo "# green-bench results"
    echo
    echo "Machine: $(uname -m), $(nproc) cores, ${cpu:-unknown CPU}. Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
    ((scale == 1)) || echo "Quick run: counts divided by $scale."
    echo
    echo "$table"
    echo
    echo "Speedup is swift cost / green cost: above 1× Green is faster. Targets are Green's."
    echo
    echo '```'
    printf '%s' "$raw"
    echo '```'
} | tee "$results/latest.md"
