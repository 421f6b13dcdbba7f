#!/usr/bin/env bash
# GreenAMQP beside Python's pika, through the same RabbitMQ broker on loopback,
# in one run (figures count only as ratios to pika's of the same run):
#   1. remote ping-pong round trips/s (RemotePingPong vs Benchmarks/amqp/pika_pingpong.py),
#      one ball in flight, then --inflight balls in flight;
#      beside the floor under both: green-amqp-roundtrip, the same round trip
#      with GreenAMQP's lowest layer only (no nodes, actors or Codable), and
#      the broker's CPU time per round trip (from /proc, in the same run);
#   2. one-way publish throughput with publisher confirms, waiting for each
#      confirm (green-amqp-publish --window 1 vs Benchmarks/amqp/pika_publish.py),
#      and Green with a window of unconfirmed publishes.
#
#   scripts/bench-amqp.sh [COUNT] [INFLIGHT]      # defaults 5000 and 10; REPEAT=5 runs each
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-5000}
INFLIGHT=${2:-10}
URL=amqp://guest:guest@127.0.0.1:5672/%2F
scripts/ensure-rabbitmq.sh
python3 -c 'import pika' 2>/dev/null || pip3 install -q pika
swift build -c release --product RemotePingPong >/dev/null
swift build -c release --product green-amqp-publish >/dev/null
swift build -c release --product green-amqp-roundtrip >/dev/null
BIN=$(swift build -c release --show-bin-path)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$BIN/RemotePingPong" pong --broker "$URL" --name bench-pong >/dev/null & PIDS+=($!)
python3 Benchmarks/amqp/pika_pingpong.py pong --url "$URL" --name bench-pong >/dev/null & PIDS+=($!)
"$BIN/green-amqp-roundtrip" echo --url "$URL" --name bench-pong >/dev/null & PIDS+=($!)
BROKER=$(pgrep -u rabbitmq beam.smp | head -1 || true)
broker_ticks() { if [ -n "$BROKER" ]; then awk '{print $14+$15}' "/proc/$BROKER/stat"; else echo 0; fi; }
sleep 2
last() { tail -1 | sed -n 's/.*_per_s=\([0-9.]*\).*/\1/p'; }
row() { printf '%-44s %10s %10s %8s\n' "$1" "$2" "$3" "$(python3 -c "print('%.1fx' % ($2/$3))")"; }
printf '%-44s %10s %10s %8s\n' "benchmark (per second)" green pika ratio
TICK=$(getconf CLK_TCK)
# Each figure is the median of REPEAT runs, the peers interleaved (a loaded
# 2-core machine moves single runs by a factor of two either way).
REPEAT=${REPEAT:-5}
median() { python3 -c 'import sys, statistics; print("%.0f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
for inflight in 1 "$INFLIGHT"; do
    gs=(); ps=(); rs=(); bg=0; bp=0; br=0
    for _ in $(seq "$REPEAT"); do
        b0=$(broker_ticks)
        gs+=("$("$BIN/RemotePingPong" ping --broker "$URL" --pong bench-pong --count "$COUNT" --inflight "$inflight" | last)")
        b1=$(broker_ticks)
        ps+=("$(python3 Benchmarks/amqp/pika_pingpong.py ping --url "$URL" --pong bench-pong --count "$COUNT" --inflight "$inflight" | last)")
        b2=$(broker_ticks)
        rs+=("$("$BIN/green-amqp-roundtrip" ping --url "$URL" --echo bench-pong --count "$COUNT" --inflight "$inflight" | last)")
        b3=$(broker_ticks)
        bg=$((bg + b1 - b0)); bp=$((bp + b2 - b1)); br=$((br + b3 - b2))
    done
    g=$(median "${gs[@]}"); p=$(median "${ps[@]}"); r=$(median "${rs[@]}")
    row "ping-pong round trips, $inflight in flight" "$g" "$p"
    row "  floor: raw AMQP round trips (no actors)" "$r" "$p"
    n=$((COUNT * REPEAT))
    printf '  broker CPU per round trip (us): green %s, pika %s, raw %s\n' \
        $((bg * 1000000 / TICK / n)) $((bp * 1000000 / TICK / n)) $((br * 1000000 / TICK / n))
done
gs=(); ps=(); ws=()
for _ in $(seq "$REPEAT"); do
    gs+=("$("$BIN/green-amqp-publish" --url "$URL" --count "$COUNT" --window 1 | last)")
    ps+=("$(python3 Benchmarks/amqp/pika_publish.py --url "$URL" --count "$COUNT" | last)")
    ws+=("$("$BIN/green-amqp-publish" --url "$URL" --count $((COUNT * 4)) --window 256 | last)")
done
p=$(median "${ps[@]}")
row "publishes confirmed one by one (100 B)" "$(median "${gs[@]}")" "$p"
row "publishes, 256 unconfirmed in flight (100 B)" "$(median "${ws[@]}")" "$p"
