"""A tapping reverse proxy run as its own process: forwards every request to an upstream server
and appends each answer's body to a log, so a test knows exactly which secrets a candidate handed
out and can look for them in everything compat-diff wrote. Given an ARRIVALS_FILE, it also
appends one line per request as it arrives: the monotonic clock in seconds, the service its
signature names and the first word of its User-Agent (``-`` when there is none), so a test can
count requests per second and tell replayed calls (the recorded client's User-Agent) from
compat-diff's own (botocore's).

Usage: python tap_proxy.py PORT_FILE UPSTREAM_URL LOG_FILE [ARRIVALS_FILE]
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
# Credential=KEY/DATE/REGION/SERVICE/aws4_request in a SigV4 Authorization header.
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


def main(port_file: str, upstream: str, log_file: str, arrivals_file: str | None = None) -> None:
    target = urlsplit(upstream)
    lock = threading.Lock()

    class Tap(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            if arrivals_file is not None:
                arrived = time.monotonic()
                scope = _SCOPE.search(self.headers.get("Authorization") or "")
                agent = (self.headers.get("User-Agent") or "-").split() or ["-"]
                with lock, open(arrivals_file, "a") as arrivals:
                    arrivals.write(f"{arrived:.6f} {scope.group(1) if scope else '-'} {agent[0]}\n")
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


@contextmanager
def tap(upstream: str, folder: Path, arrivals: bool = False) -> Iterator[str]:
    """The tap in front of ``upstream`` as its own process (stopped by PID); yields its URL.

    Logs go to ``folder/tap.log`` and, with ``arrivals``, ``folder/arrivals.txt``."""
    from compat_diff.testing import stop_process

    folder.mkdir(parents=True, exist_ok=True)
    port_file = folder / "tap.port"
    argv = [sys.executable, __file__, str(port_file), upstream, str(folder / "tap.log")]
    if arrivals:
        argv.append(str(folder / "arrivals.txt"))
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the tap proxy did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        stop_process(process)


def read_arrivals(path: Path) -> list[tuple[float, str, str]]:
    """The (time, service, client) of every request the tap saw, in order of arrival."""
    if not path.exists():
        return []
    lines = (line.split() for line in path.read_text().splitlines() if line.strip())
    return sorted((float(moment), service, client) for moment, service, client in lines)


def busiest_second(times: list[float]) -> int:
    """The most arrivals any one-second window holds (edges included)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] > 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


if __name__ == "__main__":
    main(*sys.argv[1:5])
