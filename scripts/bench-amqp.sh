#!/usr/bin/env bash
# GreenAMQP beside Python's pika, through the same RabbitMQ broker on loopback,
# in one run (figures count only as ratios to pika's of the same run):
#   1. remote ping-pong round trips/s (RemotePingPong vs Benchmarks/amqp/pika_pingpong.py),
#      one ball in flight, then --inflight balls in flight;
#   2. one-way publish throughput with publisher confirms, waiting for each
#      confirm (green-amqp-publish --window 1 vs Benchmarks/amqp/pika_publish.py),
#      and Green with a window of unconfirmed publishes.
#
#   scripts/bench-amqp.sh [COUNT] [INFLIGHT]      # defaults 5000 and 10
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-5000}
INFLIGHT=${2:-10}
URL=amqp://guest:guest@127.0.0.1:5672/%2F
scripts/ensure-rabbitmq.sh
python3 -c 'import pika' 2>/dev/null || pip3 install -q pika
swift build -c release --product RemotePingPong >/dev/null
swift build -c release --product green-amqp-publish >/dev/null
BIN=$(swift build -c release --show-bin-path)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$BIN/RemotePingPong" pong --broker "$URL" --name bench-pong >/dev/null & PIDS+=($!)
python3 Benchmarks/amqp/pika_pingpong.py pong --url "$URL" --name bench-pong >/dev/null & PIDS+=($!)
sleep 2
last() { tail -1 | sed -n 's/.*_per_s=\([0-9.]*\).*/\1/p'; }
row() { printf '%-44s %10s %10s %8s\n' "$1" "$2" "$3" "$(python3 -c "print('%.1fx' % ($2/$3))")"; }
printf '%-44s %10s %10s %8s\n' "benchmark (per second)" green pika ratio
for inflight in 1 "$INFLIGHT"; do
    g=$("$BIN/RemotePingPong" ping --broker "$URL" --pong bench-pong --count "$COUNT" --inflight "$inflight" | last)
    p=$(python3 Benchmarks/amqp/pika_pingpong.py ping --url "$URL" --pong bench-pong --count "$COUNT" --inflight "$inflight" | last)
    row "ping-pong round trips, $inflight in flight" "$g" "$p"
done
g=$("$BIN/green-amqp-publish" --url "$URL" --count "$COUNT" --window 1 | last)
p=$(python3 Benchmarks/amqp/pika_publish.py --url "$URL" --count "$COUNT" | last)
row "publishes confirmed one by one (100 B)" "$g" "$p"
g=$("$BIN/green-amqp-publish" --url "$URL" --count $((COUNT * 4)) --window 256 | last)
row "publishes, 256 unconfirmed in flight (100 B)" "$g" "$p"
