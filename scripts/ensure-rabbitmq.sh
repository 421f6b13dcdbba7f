#!/usr/bin/env bash
# A RabbitMQ broker on loopback for GreenAMQP's tests, samples and benchmarks.
#
#   scripts/ensure-rabbitmq.sh          # install (apt-get) when missing, start when not answering
#   scripts/ensure-rabbitmq.sh --stop   # stop the broker, only if this script started it
#
# The broker listens on 127.0.0.1:5672 (AMQP) only; Erlang's distribution
# (epmd, rabbitmqctl) also stays on loopback. "guest"/"guest" may log in from
# loopback, which is RabbitMQ's default. A broker that already answers on the
# port (a system service, another run) is used as it is and never stopped here.
# The marker file says that this script started the broker.
set -euo pipefail
MARKER=${GREEN_RABBITMQ_MARKER:-/tmp/green-rabbitmq.started}
PORT=5672

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if [[ ${1:-} == --stop ]]; then
    if [ -f "$MARKER" ]; then
        echo "stopping the RabbitMQ broker started by scripts/ensure-rabbitmq.sh" >&2
        $SUDO rabbitmqctl stop >/dev/null 2>&1 || true
        rm -f "$MARKER"
    fi
    exit 0
fi

if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
    echo "rabbitmq-server is missing: installing it with apt-get" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rabbitmq-server >/dev/null
fi
PATH=$PATH:/usr/sbin

if answers; then
    # Answering, but maybe still booting (or its app stopped by a test): wait for it.
    $SUDO rabbitmqctl await_startup --timeout 60 >/dev/null 2>&1 || true
    $SUDO rabbitmqctl start_app >/dev/null 2>&1 || true
    exit 0
fi

echo "starting rabbitmq-server on 127.0.0.1:$PORT" >&2
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$PORT
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_DIST_PORT=25672
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
# Debian's package starts nothing without systemd; start the node ourselves.
$SUDO --preserve-env=RABBITMQ_NODE_IP_ADDRESS,RABBITMQ_NODE_PORT,ERL_EPMD_ADDRESS,RABBITMQ_DIST_PORT,RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS \
    rabbitmq-server -detached 2>/dev/null || \
    env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$PORT ERL_EPMD_ADDRESS=127.0.0.1 \
        rabbitmq-server -detached
touch "$MARKER"
for _ in $(seq 1 120); do
    if answers && $SUDO rabbitmqctl await_startup --timeout 5 >/dev/null 2>&1; then
        exit 0
    fi
    sleep 1
done
echo "rabbitmq-server did not answer on 127.0.0.1:$PORT within 120 s; see /var/log/rabbitmq/" >&2
exit 1
