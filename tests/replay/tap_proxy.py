"""A tapping reverse proxy run as its own process: forwards every request to an upstream server
and appends each answer's body to a log, so a test knows exactly which secrets a candidate handed
out and can look for them in everything compat-diff wrote.

Usage: python tap_proxy.py PORT_FILE UPSTREAM_URL LOG_FILE
"""

from __future__ import annotations

import http.client
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def main(port_file: str, upstream: str, log_file: str) -> None:
    target = urlsplit(upstream)
    lock = threading.Lock()

    class Tap(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            reply = connection.getresponse()
            data = reply.read()
            connection.close()
            with lock, open(log_file, "ab") as log:
                log.write(data + b"\n")
            self.send_response(reply.status)
            for key, value in reply.getheaders():
                if key.lower() not in _HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tap)
    with open(port_file + ".partial", "w") as handle:
        handle.write(str(server.server_address[1]))
    os.replace(port_file + ".partial", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:4])
