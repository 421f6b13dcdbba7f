#!/usr/bin/env bash
# bench-io.sh: the I/O benchmarks of issue 5, servers side by side, one load generator.
#
#   echo: Echo (green) | nio-echo-server (SwiftNIO, one event-loop thread) | gevent echo.py
#         green-load echo: 100 connections x 1,000 round trips of a 64-byte line
#   chat: ChatRoom (green) | gevent chat.py (the seeds' room)
#         green-load chat: 200 users x 50 lines = 2,000,000 deliveries
#   http: HelloHTTP (green) | Hummingbird 2, one event-loop thread (Benchmarks/HummingbirdPeer,
#         a package of its own) | gevent pywsgi hello.py (the seeds' WSGI hello world)
#         wrk -t1 -c100 -d5s (keep-alive), the same with 'Connection: close', and the
#         seeds' ab -n 10000 -c 100 (HTTP/1.0, a connection per request; not against
#         Hummingbird, which keeps HTTP/1.0 connections open and never answers ab)
#
# Usage: scripts/bench-io.sh [--quick] [--runs N] [--only echo|chat|http]
#   --quick   a tenth of the load, to check the script itself
#   --runs N  runs per server (default 3); the table shows the median run
#   --only S  only that section
# Environment:
#   GREEN_BENCH_SCRATCH  build folder (default .build-bench: apart from a dev build)
#   GREEN_BENCH_PORT     first port used (default 18700; five ports from it)
#   PYTHON               the Python with gevent (default python3; `pip install gevent`)
#
# Each server runs on CPU 0 and the load generator on CPU 1 (taskset, when
# there are two CPUs or more), so "one thread" means one core each.
# Progress goes to stderr; stdout is the markdown table (also in bench-results/io.md).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=${GREEN_BENCH_SCRATCH:-$repo/.build-bench}
base_port=${GREEN_BENCH_PORT:-18700}
python=${PYTHON:-python3}
runs=3
scale=1
only=""
while (($#)); do
    case $1 in
        --quick) scale=10 ;;
        --runs) runs=$2; shift ;;
        --only) only=$2; shift ;;
        *) echo "usage: $0 [--quick] [--runs N] [--only echo|chat|http]" >&2; exit 64 ;;
    esac
    shift
done

echo_conns=100 echo_reqs=$((1000 / scale)) chat_users=200 chat_lines=$((50 / scale))

echo "building (release) in $scratch" >&2
products=()
[[ -z $only || $only == echo ]] && products+=(Echo nio-echo-server green-load)
[[ -z $only || $only == chat ]] && products+=(ChatRoom green-load)
[[ -z $only || $only == http ]] && products+=(HelloHTTP)
for p in "${products[@]}"; do
    swift build --package-path "$repo" --scratch-path "$scratch" -c release --static-swift-stdlib --product "$p" >&2
done
bin=$(swift build --package-path "$repo" --scratch-path "$scratch" -c release --static-swift-stdlib --show-bin-path)

have_gevent=1
"$python" -c 'import gevent' 2>/dev/null || { have_gevent=0; echo "no gevent for $python: its rows show n/a (pip install gevent)" >&2; }

server_cpu=() client_cpu=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
    server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi

source "$repo/scripts/lib/server.sh"
trap stop_server EXIT


# field LINE KEY: the value of KEY in a key=value line.
field() {
    local pair
    for pair in $1; do
        [[ $pair == "$2="* ]] && { printf '%s\n' "${pair#*=}"; return; }
    done
}

# bench LABEL PORT MODE FIGURE_KEY -- SERVER COMMAND...: the median line of $runs runs, or nothing.
bench() {
    local label=$1 port=$2 mode=$3 key=$4
    shift 5
    local lines=() line
    for ((r = 1; r <= runs; r++)); do
        if ! start_server "$port" ${server_cpu[@]+"${server_cpu[@]}"} "$@"; then stop_server; return 0; fi
        local args=(--port "$port" --label "$label")
        if [[ $mode == echo ]]; then
            args+=(--connections "$echo_conns" --requests "$echo_reqs")
        else
            args+=(--users "$chat_users" --lines "$chat_lines")
        fi
        echo "run $r/$runs: $label ($mode)" >&2
        local t0 t1
        t0=$(cpu_ticks "$server_pid")
        if line=$("${client_cpu[@]}" "$bin/green-load" "$mode" "${args[@]}"); then
            t1=$(cpu_ticks "$server_pid")
            # The server's own CPU time per operation: what it costs, whoever is the bottleneck.
            local ops
            ops=$(field "$line" "$([[ $mode == echo ]] && echo round_trips || echo deliveries)")
            line+=" server_cpu_s=$(awk "BEGIN { printf \"%.2f\", ($t1 - $t0) / $hz }")"
            line+=" server_cpu_ns_per_op=$(awk "BEGIN { printf \"%.0f\", ($t1 - $t0) / $hz * 1e9 / $ops }")"
            echo "  $line" >&2
            lines+=("$line")
        else
            echo "  failed" >&2
        fi
        stop_server
    done
    ((${#lines[@]})) || return 0
    # The median by the figure.
    for line in "${lines[@]}"; do printf '%s %s\n' "$(field "$line" "$key")" "$line"; done |
        sort -n | awk -v n=${#lines[@]} 'NR == int((n + 1) / 2) { $1 = ""; sub(/^ /, ""); print }'
}

p=$base_port
green_echo="" nio_echo="" gevent_echo="" green_chat="" gevent_chat=""
want() { [[ -z $only || $only == "$1" ]]; }
if want echo; then
green_echo=$(bench green-echo $p echo rtt_per_sec -- "$bin/Echo" --host 127.0.0.1 --port $p)
nio_echo=$(bench nio-echo $((p + 1)) echo rtt_per_sec -- "$bin/nio-echo-server" --host 127.0.0.1 --port $((p + 1)))
gevent_echo=""
((have_gevent)) && gevent_echo=$(bench gevent-echo $((p + 2)) echo rtt_per_sec -- "$python" "$repo/Benchmarks/gevent/echo.py" $((p + 2)))
fi
if want chat; then
green_chat=$(bench green-chat $((p + 3)) chat deliveries_per_sec -- "$bin/ChatRoom" --host 127.0.0.1 --port $((p + 3)))
gevent_chat=""
((have_gevent)) && gevent_chat=$(bench gevent-chat $((p + 4)) chat deliveries_per_sec -- "$python" "$repo/Benchmarks/gevent/chat.py" $((p + 4)))
fi
http_table=""
if want http; then
    # shellcheck source=scripts/bench-http.sh
    source "$repo/scripts/bench-http.sh"
fi

ratio() { [[ -n $1 && -n $2 ]] && awk "BEGIN { printf \"%.2f×\", $1 / $2 }" || echo "n/a"; }
echo_row() {
    [[ -n $2 ]] || { echo "| $1 | n/a | | | | |"; return; }
    echo "| $1 | $(field "$2" rtt_per_sec) | $(field "$2" p50_us) | $(field "$2" p99_us) | $(field "$2" seconds) | $(field "$2" server_cpu_ns_per_op) |"
}
chat_row() {
    [[ -n $2 ]] || { echo "| $1 | n/a | | |"; return; }
    echo "| $1 | $(field "$2" deliveries_per_sec) | $(field "$2" seconds) | $(field "$2" server_cpu_ns_per_op) |"
}
g_rt=$(field "$green_echo" rtt_per_sec) n_rt=$(field "$nio_echo" rtt_per_sec) ge_rt=$(field "$gevent_echo" rtt_per_sec)
g_ch=$(field "$green_chat" deliveries_per_sec) ge_ch=$(field "$gevent_chat" deliveries_per_sec)

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mkdir -p "$repo/bench-results"
{
    echo "# I/O benchmarks"
    echo
    echo "Machine: $(uname -m), $(nproc) cores, ${cpu:-unknown CPU}. Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Median of $runs runs; servers pinned to CPU 0, the load (green-load, wrk, ab) to CPU 1; the machine is shared with other work.$( ((scale == 1)) || echo " Quick run: a tenth of the load.")"
    echo
    if want echo; then
    echo "Echo: $echo_conns connections × $echo_reqs round trips of a 64-byte line."
    echo
    echo "| server | round trips/s | p50 µs | p99 µs | seconds | server CPU ns per round trip |"
    echo "| --- | --- | --- | --- | --- | --- |"
    echo_row "Green Echo" "$green_echo"
    echo_row "SwiftNIO, one thread" "$nio_echo"
    echo_row "gevent (seeds)" "$gevent_echo"
    echo
    echo "Green / NIO: $(ratio "$g_rt" "$n_rt") (target ≥ 1×). Green / gevent: $(ratio "$g_rt" "$ge_rt") (target ≥ 2×)."
    echo
    fi
    if want chat; then
    echo "Chat room: $chat_users users × $chat_lines lines, $((chat_users * chat_users * chat_lines)) deliveries."
    echo
    echo "| server | deliveries/s | seconds | server CPU ns per delivery |"
    echo "| --- | --- | --- | --- |"
    chat_row "Green ChatRoom" "$green_chat"
    chat_row "gevent (seeds)" "$gevent_chat"
    echo
    echo "Green / gevent: $(ratio "$g_ch" "$ge_ch") (target ≥ 5×)."
    echo
    fi
    if [[ -n $http_table ]]; then
        echo "$http_table"
        echo
    fi
    if want echo || want chat; then
        echo '```'
        for l in "$green_echo" "$nio_echo" "$gevent_echo" "$green_chat" "$gevent_chat"; do [[ -n $l ]] && echo "$l"; done
        echo '```'
    fi
} | tee "$repo/bench-results/io.md"
