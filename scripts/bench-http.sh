# bench-http.sh: the HTTP part of scripts/bench-io.sh (issue 11), sourced by it
# (uses its start_server, stop_server, field, ratio, $runs, $scale, $bin, $scratch,
# $python, $have_gevent, $client_cpu, $p). Sets http_table (markdown).
#
#   HelloHTTP (green) | hummingbird-hello (Hummingbird 2, one event-loop thread) | gevent hello.py
#   wrk -t1 -c100 -d5s, keep-alive and 'Connection: close'; ab -n 10000 -c 100 (HTTP/1.0)

for tool in wrk ab; do
    if ! command -v "$tool" >/dev/null; then
        echo "$tool is missing: installing it with apt-get" >&2
        SUDO=""
        if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk apache2-utils >/dev/null
    fi
done

# Hummingbird in its own package and folder: minutes to build, never in the main package.
hb_bin=""
echo "building Benchmarks/HummingbirdPeer (release) in $scratch/hummingbird" >&2
if swift build --package-path "$repo/Benchmarks/HummingbirdPeer" --scratch-path "$scratch/hummingbird" \
    -c release --static-swift-stdlib >&2; then
    hb_bin="$(swift build --package-path "$repo/Benchmarks/HummingbirdPeer" --scratch-path "$scratch/hummingbird" \
        -c release --static-swift-stdlib --show-bin-path)/hummingbird-hello"
else
    echo "Hummingbird did not build: its rows show n/a" >&2
fi

http_seconds=$((scale == 1 ? 5 : 1))
ab_requests=$((10000 / scale))

# to_ms VALUE: wrk's latency (us, ms or s) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else printf "%s", v }'
}

# http_load MODE PORT: one load run; prints "rps=N p99_ms=N errors=N" or fails.
http_load() {
    local mode=$1 port=$2 out
    local url="http://127.0.0.1:$port/"
    case $mode in
        wrk | wrk-close)
            local extra=()
            [[ $mode == wrk-close ]] && extra=(-H 'Connection: close')
            out=$("${client_cpu[@]}" wrk -t1 -c100 -d"${http_seconds}s" --latency "${extra[@]}" "$url") || return 1
            local rps p99 errors
            rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
            p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
            errors=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
            local count
            count=$(awk '/requests in/ { print $1 }' <<<"$out")
            local non2xx
            non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
            echo "rps=$rps p99_ms=$p99 errors=${errors:-0} non2xx=${non2xx:-0} requests=$count"
            ;;
        ab)
            out=$("${client_cpu[@]}" timeout 120 ab -q -n "$ab_requests" -c 100 "$url" 2>&1) || return 1
            local rps p99 failed
            rps=$(awk '/^Requests per second:/ { printf "%.0f", $4 }' <<<"$out")
            p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
            failed=$(awk '/^Failed requests:/ { print $3 }' <<<"$out")
            echo "rps=$rps p99_ms=$p99 errors=${failed:-0} requests=$(awk '/^Complete requests:/ { print $3 }' <<<"$out")"
            ;;
    esac
}

# http_bench LABEL PORT MODE -- SERVER COMMAND...: the median line (by rps) of $runs runs.
http_bench() {
    local label=$1 port=$2 mode=$3
    shift 4
    local lines=() line
    for ((r = 1; r <= runs; r++)); do
        if ! start_server "$port" "$@"; then stop_server; return 0; fi
        echo "run $r/$runs: $label ($mode)" >&2
        local t0 t1
        t0=$(cpu_ticks "$server_pid")
        if line=$(http_load "$mode" "$port"); then
            t1=$(cpu_ticks "$server_pid")
            # The server's own CPU per request: whether it or the load generator is the limit.
            line="server=$label mode=$mode $line"
            line+=" server_cpu_us_per_req=$(awk "BEGIN { printf \"%.1f\", ($t1 - $t0) / $hz * 1e6 / $(field "$line" requests) }")"
            echo "  $line" >&2
            lines+=("$line")
        else
            echo "  failed" >&2
        fi
        stop_server
    done
    ((${#lines[@]})) || return 0
    for line in "${lines[@]}"; do printf '%s %s\n' "$(field "$line" rps)" "$line"; done |
        sort -n | awk -v n=${#lines[@]} 'NR == int((n + 1) / 2) { $1 = ""; sub(/^ /, ""); print }'
}

hp=$((p + 10))
declare -A http_results
for mode in wrk wrk-close ab; do
    http_results[green-$mode]=$(http_bench green $hp $mode -- "$bin/HelloHTTP" --host 127.0.0.1 --port $hp --no-access-log)
    if [[ -n $hb_bin && $mode != ab ]]; then
        http_results[hummingbird-$mode]=$(http_bench hummingbird $((hp + 1)) $mode -- "$hb_bin" $((hp + 1)))
    fi
    if ((have_gevent)); then
        http_results[gevent-$mode]=$(http_bench gevent $((hp + 2)) $mode -- "$python" "$repo/Benchmarks/gevent/hello.py" $((hp + 2)))
    fi
done

http_ratio() { [[ -n $1 && -n $2 ]] && awk "BEGIN { printf \"%.2f×\", $1 / $2 }" || echo "n/a"; }
http_cell() {
    local line=${http_results[$1]:-}
    [[ -n $line ]] || { echo "n/a | | "; return; }
    echo "$(field "$line" rps) | $(field "$line" p99_ms) | $(field "$line" server_cpu_us_per_req)"
}
g_ka=$(field "${http_results[green-wrk]:-}" rps) h_ka=$(field "${http_results[hummingbird-wrk]:-}" rps)
e_ka=$(field "${http_results[gevent-wrk]:-}" rps)
g_cl=$(field "${http_results[green-wrk-close]:-}" rps) h_cl=$(field "${http_results[hummingbird-wrk-close]:-}" rps)
e_cl=$(field "${http_results[gevent-wrk-close]:-}" rps)
g_ab=$(field "${http_results[green-ab]:-}" rps) e_ab=$(field "${http_results[gevent-ab]:-}" rps)
http_table="HTTP hello world (\"Hello Cruel World!\", text/html): requests/s and p99 latency (ms); ${http_seconds} s per wrk run, ab -n $ab_requests -c 100.

| server | wrk keep-alive | p99 ms | server CPU µs/req | wrk Connection: close | p99 ms | server CPU µs/req | ab (HTTP/1.0) | p99 ms | server CPU µs/req |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| Green HelloHTTP | $(http_cell green-wrk) | $(http_cell green-wrk-close) | $(http_cell green-ab) |
| Hummingbird 2, one thread | $(http_cell hummingbird-wrk) | $(http_cell hummingbird-wrk-close) | never answers ab's HTTP/1.0 | | |
| gevent pywsgi (seeds) | $(http_cell gevent-wrk) | $(http_cell gevent-wrk-close) | $(http_cell gevent-ab) |

Keep-alive: Green / pywsgi $(http_ratio "$g_ka" "$e_ka") (target ≥ 8×), Green / Hummingbird $(http_ratio "$g_ka" "$h_ka") (target ≥ 1.1×).
Connection: close: Green / Hummingbird $(http_ratio "$g_cl" "$h_cl") (target ≥ 1.0×), Green / pywsgi $(http_ratio "$g_cl" "$e_cl").
ab: Green / pywsgi $(http_ratio "$g_ab" "$e_ab") (target ≥ 4×).
Server CPU per request shows who is the limit: a server well under 1e6 / (requests/s) µs per request
was not saturated (the load generator on CPU 1 was).

\`\`\`
$(for k in "${!http_results[@]}"; do [[ -n ${http_results[$k]} ]] && echo "${http_results[$k]}"; done | sort)
\`\`\`"
