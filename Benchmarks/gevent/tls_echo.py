"""The seeds' gevent echo server over TLS (gevent's ssl), in Python 3
(benchmark baseline of scripts/bench-tls.sh).

    python3 tls_echo.py PORT CERT KEY
"""
import sys

from gevent.server import StreamServer


def connection_handler(socket, address):
    for l in socket.makefile('rb'):
        socket.sendall(l)


if __name__ == '__main__':
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = StreamServer(('127.0.0.1', port), connection_handler, certfile=cert, keyfile=key)
    print('gevent tls echo listening on %d' % port, flush=True)
    server.serve_forever()
