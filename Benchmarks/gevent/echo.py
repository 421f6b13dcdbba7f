"""The seeds' gevent echo server, in Python 3 (benchmark baseline).

    python3 echo.py [PORT]
"""
import sys

from gevent.server import StreamServer


def connection_handler(socket, address):
    for l in socket.makefile('rb'):
        socket.sendall(l)


if __name__ == '__main__':
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    server = StreamServer(('127.0.0.1', port), connection_handler)
    print('gevent echo listening on %d' % port, flush=True)
    server.serve_forever()
