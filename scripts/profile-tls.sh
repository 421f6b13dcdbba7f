#!/usr/bin/env bash
# profile-tls.sh: where a TLS server's CPU goes per handshake, Green's Echo
# (OpenSSL 3) beside the NIOSSL peer (BoringSSL), in the same run. The
# numbers that hold on a loaded machine: the server's CPU time per handshake
# split by library (perf's cpu-clock samples), and with --callgrind the
# instructions per handshake, which repeat under any load.
#
# Usage: scripts/profile-tls.sh [--handshakes N] [--key ec|rsa] [--callgrind]
#   --handshakes N  handshakes per perf run (default 4000; 50 in flight)
#   --key           the server certificate's key: ec (P-256, default) or rsa (2048)
#   --callgrind     also count instructions per handshake under valgrind: two
#                   runs per server (200 and 600 handshakes, 10 in flight), the
#                   difference divided by 400, so start-up drops out. Valgrind
#                   reads no Swift debug info: it runs a `strip -g` copy.
#                   Note: under valgrind, OpenSSL and BoringSSL see fewer CPU
#                   features (BoringSSL falls back to portable X25519 and
#                   SHA-256), so compare the two libraries with perf's figures.
# Environment: GREEN_BENCH_SCRATCH (default .build-bench, as bench-tls.sh),
#   GREEN_PROFILE_PORT (first port, default 28460; four ports from it).
#
# Each server runs on CPU 0 and green-tls-load on CPU 1. Needs perf (and
# valgrind for --callgrind). Output: a markdown report on stdout; perf data
# and callgrind files stay in a temporary folder whose path is printed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=${GREEN_BENCH_SCRATCH:-$repo/.build-bench}
port=${GREEN_PROFILE_PORT:-28460}
handshakes=4000 key_type=ec callgrind=0
while (($#)); do
    case $1 in
        --handshakes) handshakes=$2; shift ;;
        --key) key_type=$2; shift ;;
        --callgrind) callgrind=1 ;;
        *) echo "usage: $0 [--handshakes N] [--key ec|rsa] [--callgrind]" >&2; exit 64 ;;
    esac
    shift
done
command -v perf >/dev/null || { echo "profile-tls.sh needs perf (apt-get install linux-perf)" >&2; exit 69; }
((callgrind == 0)) || command -v valgrind >/dev/null || { echo "--callgrind needs valgrind" >&2; exit 69; }

"$repo/scripts/ensure-openssl.sh"
for p in Echo green-tls-load; do
    swift build --package-path "$repo" --scratch-path "$scratch" -c release --static-swift-stdlib --product "$p" >&2
done
bin=$(swift build --package-path "$repo" --scratch-path "$scratch" -c release --static-swift-stdlib --show-bin-path)
nio_pkg=$repo/Benchmarks/NIOSSLPeer
swift build --package-path "$nio_pkg" --scratch-path "$scratch/niossl" -c release --static-swift-stdlib >&2
nio_bin=$(swift build --package-path "$nio_pkg" --scratch-path "$scratch/niossl" -c release --static-swift-stdlib --show-bin-path)

work=$(mktemp -d /tmp/profile-tls.XXXXXX)
source "$repo/scripts/lib/server.sh"
trap stop_server EXIT
case $key_type in
    ec) key_args=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
    rsa) key_args=(-newkey rsa:2048) ;;
    *) echo "--key: ec or rsa" >&2; exit 64 ;;
esac
openssl req -x509 "${key_args[@]}" -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 30 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

server_cpu=() client_cpu=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then server_cpu=(taskset -c 0) client_cpu=(taskset -c 1); fi

load() { "${client_cpu[@]}" "$bin/green-tls-load" handshakes --port "$1" --concurrency "$2" --handshakes "$3" >&2; }

# server_args KIND PORT: sets `cmd` to the command line of server KIND (green or niossl) on PORT.
server_args() {
    case $1 in
        green) cmd=("$bin/Echo" --host 127.0.0.1 --port "$2" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem") ;;
        niossl) cmd=("$nio_bin/niossl-echo-server" --host 127.0.0.1 --port "$2" --cert "$work/cert.pem" --key "$work/key.pem" --tickets 1) ;;
    esac
}

# perf_run KIND PORT: the server's CPU per handshake, by library and by function.
perf_run() {
    local label=$1 p=$2 cmd
    server_args "$label" "$p"
    start_server "$p" "${server_cpu[@]}" "${cmd[@]}"
    local freq=4000 t0 t1 perf_pid
    perf record -q -F $freq -e cpu-clock -p "$server_pid" -o "$work/perf.$label.data" 2>/dev/null &
    perf_pid=$!
    sleep 0.5
    t0=$(cpu_ticks "$server_pid")
    load "$p" 50 "$handshakes"
    t1=$(cpu_ticks "$server_pid")
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    stop_server
    local us_per_sample
    us_per_sample=$(awk "BEGIN { print 1e6 / $freq / $handshakes }")
    echo "### $label"
    echo
    echo "Server CPU per handshake (/proc, user + system): $(awk "BEGIN { printf \"%.0f\", ($t1 - $t0) / $hz * 1e6 / $handshakes }") µs."
    echo "perf samples of the server, as µs per handshake:"
    echo
    echo '```'
    perf report -i "$work/perf.$label.data" --no-children --sort dso --stdio -F sample,dso 2>/dev/null |
        awk '!/^#/ && NF >= 2' | sort -rn | awk -v u="$us_per_sample" '{ printf "%8.1f µs  %s\n", $1 * u, $2 }'
    echo
    perf report -i "$work/perf.$label.data" --no-children --sort dso,sym --stdio -F sample,dso,sym 2>/dev/null |
        awk '!/^#/ && NF >= 3' | sort -rn |
        awk -v u="$us_per_sample" 'NR <= 25 { s = $1; $1 = ""; printf "%8.1f µs %s\n", s * u, substr($0, 1, 120) }'
    echo '```'
    echo
}

# callgrind_run KIND PORT: instructions per handshake.
callgrind_run() {
    local label=$1 p=$2 n cmd counts=()
    for n in 200 600; do
        server_args "$label" "$p"
        strip -g -o "$work/$label.stripped" "${cmd[0]}"
        cmd[0]=$work/$label.stripped
        start_server "$p" valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$label.$n" "${cmd[@]}"
        load "$p" 10 "$n"
        stop_server
        counts+=("$(awk '/^totals:/ { print $2 }' "$work/callgrind.$label.$n")")
    done
    echo "- $label: $(awk "BEGIN { printf \"%.0f\", (${counts[1]} - ${counts[0]}) / 400 }") instructions per handshake (callgrind)"
}

echo "# Server CPU per TLS handshake, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "$handshakes handshakes, 50 in flight, $key_type key; servers on CPU 0, green-tls-load on CPU 1. Load average: $(cut -d' ' -f1-3 /proc/loadavg). Files: $work"
echo
perf_run green "$port"
perf_run niossl $((port + 1))
if ((callgrind)); then
    echo "### Instructions per handshake"
    echo
    callgrind_run green $((port + 2))
    callgrind_run niossl $((port + 3))
fi
