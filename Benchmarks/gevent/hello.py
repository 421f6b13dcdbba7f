"""The seeds' WSGI hello world on gevent's pywsgi (the baseline of scripts/bench-io.sh).

Usage: python3 hello.py PORT
The access log is off (log=None), as it is for the Green and Hummingbird servers
in the benchmark.
"""
import sys

from gevent.pywsgi import WSGIServer


def application(environ, start_response):
    status = '200 OK'
    body = b'Hello Cruel World!'
    headers = [
        ('Content-Type', 'text/html'),
    ]
    start_response(status, headers)
    return [body]


port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
WSGIServer(('127.0.0.1', port), application, log=None).serve_forever()
