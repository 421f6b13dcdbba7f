#!/usr/bin/env python3
"""One-way publish throughput with publisher confirms in pika: publish N
messages of SIZE bytes to a queue, waiting for each confirm (BlockingChannel
in confirm mode), then purge. Last line: publishes=N seconds=S publishes_per_s=R"""
import argparse
import time

import pika

p = argparse.ArgumentParser()
p.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/%2F")
p.add_argument("--count", type=int, default=5000)
p.add_argument("--size", type=int, default=100)
args = p.parse_args()
connection = pika.BlockingConnection(pika.URLParameters(args.url))
channel = connection.channel()
queue = channel.queue_declare("", exclusive=True).method.queue
channel.confirm_delivery()
body = b"x" * args.size
start = time.monotonic()
for _ in range(args.count):
    channel.basic_publish("", queue, body)
seconds = time.monotonic() - start
connection.close()
print("publishes=%d seconds=%.3f publishes_per_s=%.0f" % (args.count, seconds, args.count / seconds))
