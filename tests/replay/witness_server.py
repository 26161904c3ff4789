"""A candidate that writes down every request it receives, run as its own process on 127.0.0.1.

Usage: python witness_server.py PORT_FILE LOG_FILE MODE [ARG]  (writes the port it bound, then serves)

Each request appends one JSON line to LOG_FILE: method, path, headers and the sha256 and first
bytes of its body, so a test can tell what reached the server (and that nothing did).

Modes:
  ok               answers 200 <ok/>
  redirect URL     answers 302 with Location: URL
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(port_file: str, log_file: str, mode: str, args: list[str]) -> None:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            entry = {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "body_start": body[:200].decode("utf-8", "replace"),
                "body_size": len(body),
            }
            with open(log_file, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")
            if mode == "redirect":
                self.send_response(302)
                self.send_header("Location", args[0])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            answer = b"<ok/>"
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".partial", "w") as handle:
        handle.write(str(server.server_address[1]))
    os.replace(port_file + ".partial", port_file)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
