"""The seeds' gevent chat server, in Python 3 (benchmark baseline).

Kept as the seeds wrote it (unbounded queues, no line limit), with two changes
Python 3 needs or the benchmark needs: lines are bytes decoded as UTF-8 with
replacement, and a user whose reader ends has its writer killed (the seeds'
joinall([r, w]) waits on the writer forever, so nobody ever left).

    python3 chat.py [PORT]
"""
import sys

import gevent
from gevent.queue import Queue
from gevent.server import StreamServer

users = {}  # mapping of username -> Queue


def broadcast(msg):
    msg = (msg + '\n').encode('utf-8', 'replace')
    for v in list(users.values()):
        v.put(msg)


def reader(username, f):
    for l in f:
        msg = '%s> %s' % (username, l.decode('utf-8', 'replace').strip())
        broadcast(msg)


def writer(q, sock):
    while True:
        msg = q.get()
        sock.sendall(msg)


def read_name(f, sock):
    while True:
        sock.sendall(b'Please enter your name: ')
        line = f.readline()
        if not line:
            return None
        name = line.decode('utf-8', 'replace').strip()
        if name:
            if name in users:
                sock.sendall(b'That username is already taken.\n')
            else:
                return name


def handle(sock, client_addr):
    f = sock.makefile('rb')
    name = read_name(f, sock)
    if name is None:
        return
    broadcast('## %s joined from %s.' % (name, client_addr[0]))
    q = Queue()
    users[name] = q
    try:
        r = gevent.spawn(reader, name, f)
        w = gevent.spawn(writer, q, sock)
        r.join()
        w.kill()
    finally:
        del users[name]
        broadcast('## %s left the chat.' % name)


if __name__ == '__main__':
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8001
    print('To join, telnet 127.0.0.1 %d' % port, flush=True)
    s = StreamServer(('127.0.0.1', port), handle)
    s.serve_forever()
