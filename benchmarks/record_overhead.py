"""How much latency recording adds to each call: direct vs bare mitmdump vs `compat-diff record`.

A small local stub plays the server (keep-alive, a tiny XML answer, no work), so the numbers are
the proxies' own cost. The same SigV4-signed S3 GetObject is sent every time, so compat-diff does
its full work on each call: identify the operation, redact, encode and write one flushed line.

    .venv/bin/python benchmarks/record_overhead.py [--requests 500] [--rounds 3]

Prints a markdown table. The goal: compat-diff's added latency at most 1.1x bare mitmdump's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import platform
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from compat_diff.testing import free_port, stop_process

VENV_BIN = Path(sys.executable).parent
ANSWER = b'<?xml version="1.0" encoding="UTF-8"?>\n<Value>hello</Value>\n'


# ------------------------------------------------------------------------------------------------
# The stub server (runs in its own process: `record_overhead.py --serve PORT [CERT KEY]`)


def serve(port: int, cert: str | None, key: str | None) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without this, delayed ACKs add ~40 ms to each call.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(ANSWER)))
            self.send_header("x-amz-request-id", "0123456789ABCDEF")
            self.end_headers()
            self.wfile.write(ANSWER)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "stub.pem", directory / "stub.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


# ------------------------------------------------------------------------------------------------
# Processes


def wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{process.args} did not listen on {port}")


def start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, process)
    return process


# ------------------------------------------------------------------------------------------------
# The client


def signed_headers(host: str, path: str) -> dict[str, str]:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=f"http://{host}{path}")
    S3SigV4Auth(Credentials("AKIAIOSFODNN7EXAMPLE", "benchmark-secret"), "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def connection(tls: bool, target_port: int, proxy_port: int | None) -> http.client.HTTPConnection:
    context = ssl.create_default_context()
    # Handshakes happen once per kept-alive connection; trust is not what is measured here.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if proxy_port is None:
        if tls:
            return http.client.HTTPSConnection("127.0.0.1", target_port, context=context, timeout=30)
        return http.client.HTTPConnection("127.0.0.1", target_port, timeout=30)
    if tls:
        tunnel = http.client.HTTPSConnection("127.0.0.1", proxy_port, context=context, timeout=30)
        tunnel.set_tunnel("127.0.0.1", target_port)
        return tunnel
    return http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=30)


def measure(tls: bool, target_port: int, proxy_port: int | None, requests: int) -> list[float]:
    host = f"127.0.0.1:{target_port}"
    path = "/bench-bucket/object.txt"
    headers = signed_headers(host, path)
    # Through a plain-HTTP proxy the request line carries the absolute URL.
    target = f"http://{host}{path}" if proxy_port is not None and not tls else path
    conn = connection(tls, target_port, proxy_port)
    timings: list[float] = []
    for index in range(requests + 50):
        began = time.perf_counter()
        conn.request("GET", target, headers=headers)
        answer = conn.getresponse()
        body = answer.read()
        elapsed = (time.perf_counter() - began) * 1000
        if answer.status != 200 or body != ANSWER:
            raise RuntimeError(f"unexpected answer {answer.status}: {body[:100]!r}")
        if index >= 50:  # the first calls warm up connections, caches and the CA
            timings.append(elapsed)
    conn.close()
    return timings


# ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        port, *tls = options.serve
        serve(int(port), *(tls or [None, None]))
        return

    with tempfile.TemporaryDirectory(prefix="record-overhead-") as scratch:
        work = Path(scratch)
        cert, key = self_signed(work)
        confdir = work / "conf"
        http_port, https_port = free_port(), free_port()
        stubs = [
            start([sys.executable, __file__, "--serve", str(http_port)], http_port),
            start([sys.executable, __file__, "--serve", str(https_port), str(cert), str(key)], https_port),
        ]
        proxies: dict[str, Callable[[int], list[str]]] = {
            "mitmdump": lambda port: [
                str(VENV_BIN / "mitmdump"),
                "-q",
                "--listen-host",
                "127.0.0.1",
                "-p",
                str(port),
                "--set",
                f"confdir={confdir}",
                "--ssl-insecure",
            ],
            "compat-diff record": lambda port: [
                sys.executable,
                "-m",
                "compat_diff",
                "record",
                "--out",
                str(work / f"rec-{port}.jsonl"),
                "--listen",
                f"127.0.0.1:{port}",
                "--confdir",
                str(confdir),
                "--ssl-insecure",
            ],
        }
        samples: dict[tuple[str, str], list[float]] = {}
        try:
            for _ in range(options.rounds):
                for protocol, tls, port in (("HTTP", False, http_port), ("HTTPS", True, https_port)):
                    key_direct = ("direct", protocol)
                    samples.setdefault(key_direct, []).append(
                        statistics.median(measure(tls, port, None, options.requests))
                    )
                    for name, command in proxies.items():
                        proxy_port = free_port()
                        process = start(command(proxy_port), proxy_port)
                        try:
                            timings = measure(tls, port, proxy_port, options.requests)
                        finally:
                            stop_process(process, timeout=15)
                        recording = work / f"rec-{proxy_port}.jsonl"
                        if name == "compat-diff record":
                            # Proof the recorder did its full work on every call, not a pass-through.
                            lines = recording.read_bytes().count(b'"operation":"GetObject"')
                            if lines != len(timings) + 50:
                                raise RuntimeError(f"recorded {lines} calls of {len(timings) + 50}")
                        samples.setdefault((name, protocol), []).append(statistics.median(timings))
        finally:
            for stub in stubs:
                stop_process(stub, timeout=15)

    print(
        f"Recording overhead, {dt.date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {options.requests} requests x {options.rounds} rounds, "
        "median of per-round medians"
    )
    print()
    print("| protocol | path | median ms/request | added vs direct (ms) | added vs mitmdump's added |")
    print("|---|---|---:|---:|---:|")
    for protocol in ("HTTP", "HTTPS"):
        direct = statistics.median(samples[("direct", protocol)])
        bare = statistics.median(samples[("mitmdump", protocol)]) - direct
        for name in ("direct", "mitmdump", "compat-diff record"):
            value = statistics.median(samples[(name, protocol)])
            added = value - direct
            ratio = f"{added / bare:.2f}x" if name != "direct" and bare > 0 else ""
            print(f"| {protocol} | {name} | {value:.3f} | {added:+.3f} | {ratio} |")


if __name__ == "__main__":
    main()
