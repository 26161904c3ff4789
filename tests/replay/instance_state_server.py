"""A slow EC2 for poll tests, run as its own process on 127.0.0.1: ``DescribeInstances`` reports
every instance asked for as ``pending`` for the first PENDING calls, then ``running``.

Usage: python instance_state_server.py PORT_FILE PENDING  (writes the port it bound, then serves)
"""

from __future__ import annotations

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

ANSWER = """<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>{calls}</requestId><reservationSet><item><reservationId>r-0123456789abcdef0</reservationId>
<ownerId>123456789012</ownerId><groupSet/><instancesSet>{instances}</instancesSet></item></reservationSet>
</DescribeInstancesResponse>"""
INSTANCE = """<item><instanceId>{instance}</instanceId><imageId>ami-12c6146b</imageId>
<instanceState><code>{code}</code><name>{state}</name></instanceState></item>"""


def serve(port_file: str, pending: int) -> None:
    calls = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
            if form.get("Action") != "DescribeInstances":
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            calls[0] += 1
            state, code = ("pending", 0) if calls[0] <= pending else ("running", 16)
            instances = "".join(
                INSTANCE.format(instance=value, state=state, code=code)
                for key, value in form.items()
                if key.startswith("InstanceId.")
            )
            answer = ANSWER.format(calls=calls[0], instances=instances).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".partial", "w") as handle:
        handle.write(str(server.server_address[1]))
    os.replace(port_file + ".partial", port_file)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
