#!/usr/bin/env bash
# bench-tls.sh: the TLS benchmarks of issue 16, servers side by side, one load generator.
#
#   servers: Echo --tls-cert/--tls-key (green, OpenSSL 3)
#          | niossl-echo-server (SwiftNIO + NIOSSL/BoringSSL, one event-loop thread;
#            the separate package Benchmarks/NIOSSLPeer), run with --tickets 1:
#            one TLS 1.3 session ticket per connection, as Green sends
#            (BoringSSL's default is 2; gevent's OpenSSL 3.0 sends its default 2)
#          | gevent's StreamServer with certfile/keyfile (Benchmarks/gevent/tls_echo.py)
#   handshakes: green-tls-load handshakes: 50 in flight, 5,000 new connections,
#               each a full handshake (no resumption) and one 64-byte round trip
#   echo:       green-tls-load echo: 100 TLS connections x 1,000 round trips of a 64-byte line
#
# Usage: scripts/bench-tls.sh [--quick] [--runs N] [--key ec|rsa]
#   --quick   a tenth of the load, to check the script itself
#   --runs N  runs per server and workload (default 3), alternating between the
#             servers; the table shows the median run
#   --key     the server certificate's key: ec (P-256, default) or rsa (2048 bits)
# Environment:
#   GREEN_BENCH_SCRATCH  build folder (default .build-bench: apart from a dev build)
#   GREEN_BENCH_PORT     first port used (default 28440; three ports from it)
#   PYTHON               the Python with gevent (default python3; `pip install gevent`)
#
# Each server runs on CPU 0 and the load generator on CPU 1 (taskset, when
# there are two CPUs or more). The load generator does not verify the
# server's certificate (less client work); it still checks the handshake's
# signature. Progress goes to stderr; stdout is the markdown table (also in
# bench-results/tls.md).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=${GREEN_BENCH_SCRATCH:-$repo/.build-bench}
base_port=${GREEN_BENCH_PORT:-28440}
python=${PYTHON:-python3}
runs=3
scale=1
key_type=ec
while (($#)); do
    case $1 in
        --quick) scale=10 ;;
        --runs) runs=$2; shift ;;
        --key) key_type=$2; shift ;;
        *) echo "usage: $0 [--quick] [--runs N] [--key ec|rsa]" >&2; exit 64 ;;
    esac
    shift
done

hs_concurrency=50 hs_total=$((5000 / scale)) echo_conns=100 echo_reqs=$((1000 / scale))

"$repo/scripts/ensure-openssl.sh"
echo "building (release) in $scratch" >&2
for p in Echo green-tls-load; do
    swift build --package-path "$repo" --scratch-path "$scratch" -c release --static-swift-stdlib --product "$p" >&2
done
bin=$(swift build --package-path "$repo" --scratch-path "$scratch" -c release --static-swift-stdlib --show-bin-path)
nio_pkg=$repo/Benchmarks/NIOSSLPeer
echo "building the NIOSSL peer (release; BoringSSL takes minutes the first time)" >&2
swift build --package-path "$nio_pkg" --scratch-path "$scratch/niossl" -c release --static-swift-stdlib >&2
nio_bin=$(swift build --package-path "$nio_pkg" --scratch-path "$scratch/niossl" -c release --static-swift-stdlib --show-bin-path)

have_gevent=1
"$python" -c 'import gevent, ssl' 2>/dev/null || { have_gevent=0; echo "no gevent for $python: its rows show n/a (pip install gevent)" >&2; }

certs=$(mktemp -d)
source "$repo/scripts/lib/server.sh"
trap 'stop_server; rm -rf "$certs"' EXIT

case $key_type in
    ec) key_args=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) key_label="ECDSA P-256" ;;
    rsa) key_args=(-newkey rsa:2048) key_label="RSA 2048" ;;
    *) echo "--key: ec or rsa" >&2; exit 64 ;;
esac
openssl req -x509 "${key_args[@]}" -nodes -keyout "$certs/key.pem" -out "$certs/cert.pem" -days 30 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

server_cpu=() client_cpu=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
    server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi


# field LINE KEY: the value of KEY in a key=value line.
field() {
    local pair
    for pair in $1; do
        [[ $pair == "$2="* ]] && { printf '%s\n' "${pair#*=}"; return; }
    done
}

# bench_once LABEL PORT MODE RUN -- SERVER COMMAND...: one run's key=value line, or nothing.
bench_once() {
    local label=$1 port=$2 mode=$3 r=$4
    shift 5
    local line ops_key
    if [[ $mode == echo ]]; then ops_key=round_trips; else ops_key=handshakes; fi
    if ! start_server "$port" ${server_cpu[@]+"${server_cpu[@]}"} "$@"; then stop_server; return 0; fi
    local args=(--port "$port" --label "$label")
    if [[ $mode == echo ]]; then
        args+=(--connections "$echo_conns" --requests "$echo_reqs")
    else
        args+=(--concurrency "$hs_concurrency" --handshakes "$hs_total")
    fi
    echo "run $r/$runs: $label ($mode)" >&2
    local t0 t1 ready="" status=0
    # The load generator connects, says "ready", and starts on our "go": the
    # server's CPU is read around the timed part only (not the echo's setup handshakes).
    coproc LOAD { "${client_cpu[@]}" "$bin/green-tls-load" "$mode" "${args[@]}" --start-on-stdin; }
    local load_pid=$LOAD_PID load_out=${LOAD[0]} load_in=${LOAD[1]}
    read -r ready <&"$load_out" || true
    t0=$(cpu_ticks "$server_pid")
    echo go >&"$load_in"
    line=""
    read -r line <&"$load_out" || true
    t1=$(cpu_ticks "$server_pid")
    wait "$load_pid" || status=$?
    if [[ $ready == ready && $status == 0 && -n $line ]]; then
        # The server's own CPU time per operation: what it costs, whoever is the bottleneck.
        local ops secs
        ops=$(field "$line" "$ops_key") secs=$(field "$line" seconds)
        line+=" server_cpu_s=$(awk "BEGIN { printf \"%.2f\", ($t1 - $t0) / $hz }")"
        line+=" server_cpu_us_per_op=$(awk "BEGIN { printf \"%.1f\", ($t1 - $t0) / $hz * 1e6 / $ops }")"
        line+=" server_busy_pct=$(awk "BEGIN { printf \"%.0f\", ($t1 - $t0) / $hz * 100 / $secs }")"
        echo "  $line" >&2
        echo "$line"
    else
        echo "  failed" >&2
    fi
    stop_server
}

# median KEY LINES: the line whose KEY is the median (newline-separated lines), or nothing.
median() {
    local key=$1 lines=$2 n
    [[ -n $lines ]] || return 0
    n=$(grep -c . <<<"$lines")
    while IFS= read -r line; do
        if [[ -n $line ]]; then printf '%s %s\n' "$(field "$line" "$key")" "$line"; fi
    done <<<"$lines" | sort -n | awk -v n="$n" 'NR == int((n + 1) / 2) { $1 = ""; sub(/^ /, ""); print }'
}

p=$base_port
green=("$bin/Echo" --host 127.0.0.1 --port $p --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem")
nio=("$nio_bin/niossl-echo-server" --host 127.0.0.1 --port $((p + 1)) --cert "$certs/cert.pem" --key "$certs/key.pem" --tickets 1)
gev=("$python" "$repo/Benchmarks/gevent/tls_echo.py" $((p + 2)) "$certs/cert.pem" "$certs/key.pem")

# Runs alternate between the servers (green, NIO, gevent; then again), so
# that the other jobs on the machine, whose load drifts over minutes, weigh
# on each server alike.
all=(green nio)
((have_gevent)) && all+=(gevent)
declare -A out=()
for mode in handshakes echo; do
    for ((r = 1; r <= runs; r++)); do
        for s in "${all[@]}"; do
            case $s in
                green) line=$(bench_once green-tls $p $mode $r -- "${green[@]}") ;;
                nio) line=$(bench_once niossl $((p + 1)) $mode $r -- "${nio[@]}") ;;
                gevent) line=$(bench_once gevent-ssl $((p + 2)) $mode $r -- "${gev[@]}") ;;
            esac
            if [[ -n $line ]]; then out[$s.$mode]+="$line"$'\n'; fi
        done
    done
done
green_hs=$(median handshakes_per_sec "${out[green.handshakes]:-}")
nio_hs=$(median handshakes_per_sec "${out[nio.handshakes]:-}")
gevent_hs=$(median handshakes_per_sec "${out[gevent.handshakes]:-}")
green_echo=$(median rtt_per_sec "${out[green.echo]:-}")
nio_echo=$(median rtt_per_sec "${out[nio.echo]:-}")
gevent_echo=$(median rtt_per_sec "${out[gevent.echo]:-}")

ratio() { [[ -n $1 && -n $2 ]] && awk "BEGIN { printf \"%.2f×\", $1 / $2 }" || echo "n/a"; }
hs_row() {
    [[ -n $2 ]] || { echo "| $1 | n/a | | | | |"; return; }
    echo "| $1 | $(field "$2" handshakes_per_sec) | $(field "$2" seconds) | $(field "$2" server_cpu_us_per_op) | $(field "$2" server_busy_pct)% | $(field "$2" load_busy_pct)% |"
}
echo_row() {
    [[ -n $2 ]] || { echo "| $1 | n/a | | | | | |"; return; }
    echo "| $1 | $(field "$2" rtt_per_sec) | $(field "$2" p50_us) | $(field "$2" p99_us) | $(field "$2" server_cpu_us_per_op) | $(field "$2" server_busy_pct)% | $(field "$2" load_busy_pct)% |"
}
g_hs=$(field "$green_hs" handshakes_per_sec) n_hs=$(field "$nio_hs" handshakes_per_sec) ge_hs=$(field "$gevent_hs" handshakes_per_sec)
g_rt=$(field "$green_echo" rtt_per_sec) n_rt=$(field "$nio_echo" rtt_per_sec) ge_rt=$(field "$gevent_echo" rtt_per_sec)
g_hc=$(field "$green_hs" server_cpu_us_per_op) n_hc=$(field "$nio_hs" server_cpu_us_per_op) ge_hc=$(field "$gevent_hs" server_cpu_us_per_op)
g_ec=$(field "$green_echo" server_cpu_us_per_op) n_ec=$(field "$nio_echo" server_cpu_us_per_op) ge_ec=$(field "$gevent_echo" server_cpu_us_per_op)

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mkdir -p "$repo/bench-results"
{
    echo "# TLS benchmarks"
    echo
    echo "Machine: $(uname -m), $(nproc) cores, ${cpu:-unknown CPU}. Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Median of $runs runs, alternating between the servers; servers pinned to CPU 0, green-tls-load to CPU 1. Certificate: $key_label, self-signed."
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other jobs share both CPUs: when neither the server nor the load generator is near 100% busy, throughput says more about them than about the server)."
    echo "$(openssl version); gevent: $("$python" -c 'import gevent, ssl; print(gevent.__version__, "on", ssl.OPENSSL_VERSION)' 2>/dev/null || echo n/a); NIOSSL: BoringSSL (built in)."
    echo "TLS 1.3 session tickets per connection: Green 1, NIO 1 (--tickets 1; BoringSSL's default is 2), gevent 2 (OpenSSL's default)."
    ((scale == 1)) || echo "Quick run: a tenth of the load."
    echo
    echo "Handshakes: $hs_concurrency in flight, $hs_total new connections, each a full handshake and one 64-byte round trip."
    echo
    echo "| server | handshakes/s | seconds | server CPU µs per handshake | server busy | load generator busy |"
    echo "| --- | --- | --- | --- | --- | --- |"
    hs_row "Green Echo --tls-cert" "$green_hs"
    hs_row "SwiftNIO + NIOSSL, one thread" "$nio_hs"
    hs_row "gevent ssl (seeds' server)" "$gevent_hs"
    echo
    echo "Green / NIO: $(ratio "$g_hs" "$n_hs") (target ≥ 1×). Green / gevent: $(ratio "$g_hs" "$ge_hs") (target ≥ 2×)."
    echo "Server CPU per handshake, NIO / Green: $(ratio "$n_hc" "$g_hc"); gevent / Green: $(ratio "$ge_hc" "$g_hc")."
    echo
    echo "Echo: $echo_conns TLS connections × $echo_reqs round trips of a 64-byte line."
    echo
    echo "| server | round trips/s | p50 µs | p99 µs | server CPU µs per round trip | server busy | load generator busy |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    echo_row "Green Echo --tls-cert" "$green_echo"
    echo_row "SwiftNIO + NIOSSL, one thread" "$nio_echo"
    echo_row "gevent ssl (seeds' server)" "$gevent_echo"
    echo
    echo "Green / NIO: $(ratio "$g_rt" "$n_rt") (target ≥ 1×). Green / gevent: $(ratio "$g_rt" "$ge_rt") (target ≥ 2×)."
    echo "Server CPU per round trip, NIO / Green: $(ratio "$n_ec" "$g_ec"); gevent / Green: $(ratio "$ge_ec" "$g_ec")."
    echo
    echo '```'
    for l in "$green_hs" "$nio_hs" "$gevent_hs" "$green_echo" "$nio_echo" "$gevent_echo"; do [[ -n $l ]] && echo "$l"; done
    echo '```'
} | tee "$repo/bench-results/tls.md"
