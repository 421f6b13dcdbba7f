#!/usr/bin/env python3
"""The peer of RemotePingPong in Python's pika (BlockingConnection): the same
broker work per round trip (one publish each way to a node's queue, consumed
with auto-ack, JSON bodies, no publisher confirms), so scripts/bench-amqp.sh
can set the two side by side in one run.

    python3 pika_pingpong.py pong --url amqp://127.0.0.1
    python3 pika_pingpong.py ping --url amqp://127.0.0.1 --count 10000 --inflight 1

ping's last line: roundtrips=N seconds=S roundtrips_per_s=R
"""
import argparse
import json
import os
import sys
import time

import pika


def connect(url):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    return connection, channel


def pong(args):
    connection, channel = connect(args.url)
    queue = "pika.node." + args.name
    channel.queue_declare(queue, exclusive=True, auto_delete=True)

    def on_message(ch, method, properties, body):
        n, reply_to = json.loads(body)
        ch.basic_publish("", reply_to, json.dumps(n))

    channel.basic_consume(queue, on_message, auto_ack=True)
    print("pika pong ready", flush=True)
    channel.start_consuming()


def ping(args):
    connection, channel = connect(args.url)
    me = "pika.node.ping-%d" % os.getpid()
    channel.queue_declare(me, exclusive=True, auto_delete=True)
    target = "pika.node." + args.pong
    state = {"sent": 0, "received": 0}

    def serve():
        state["sent"] += 1
        channel.basic_publish("", target, json.dumps([state["sent"], me]))

    def on_message(ch, method, properties, body):
        state["received"] += 1
        if state["received"] == args.count:
            ch.stop_consuming()
        elif state["sent"] < args.count:
            serve()

    channel.basic_consume(me, on_message, auto_ack=True)
    start = time.monotonic()
    for _ in range(min(args.inflight, args.count)):
        serve()
    channel.start_consuming()
    seconds = time.monotonic() - start
    connection.close()
    print("roundtrips=%d seconds=%.3f roundtrips_per_s=%.0f" % (args.count, seconds, args.count / seconds))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["ping", "pong"])
    p.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    p.add_argument("--name", default="pong")
    p.add_argument("--pong", default="pong")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--inflight", type=int, default=1)
    args = p.parse_args()
    pong(args) if args.role == "pong" else ping(args)


if __name__ == "__main__":
    sys.exit(main())
