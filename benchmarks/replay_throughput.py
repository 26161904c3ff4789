"""Replay throughput: signed requests per second that `compat-diff replay` sends to a minimal local
server, at several concurrency levels, beside the same calls made one by one with boto3.

The server answers every request with an empty ``200`` over keep-alive HTTP/1.1 and runs in its own
process; the same server serves the boto3 run and the replays, so the two stay comparable. It is
nginx when an ``nginx`` binary is installed (configured here in a temporary directory, loopback
only, one process, stopped by its PID), else a raw asyncio protocol in a Python process
(``--stub`` picks one). Being the cheapest responder available matters on a small machine: every
CPU cycle the server burns is one the client under test does not get.

Each level is run ``--repeat`` times and the median is reported, with the client's requests per
CPU second (user + system time of this process), which other work on a shared machine disturbs
much less than wall time, and the server's CPU time per thousand requests.
Run: python benchmarks/replay_throughput.py [--calls N] [--repeat N] [--stub nginx|asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compat_diff.model import Auth  # noqa: E402
from compat_diff.recording import RecordingWriter  # noqa: E402
from compat_diff.testing import (  # noqa: E402
    free_port,
    make_exchange,
    make_request,
    make_response,
    stop_process,
)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-amz-request-id: bench\r\n\r\n"

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            add_header x-amz-request-id bench always;
            return 200;
        }}
    }}
}}
"""


class _StubProtocol(asyncio.Protocol):
    """Answers each complete request in a chunk of bytes with an empty 200, without streams or tasks."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending = b""
        self.body_left = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        data = self.pending + data
        answers = 0
        position = 0
        while True:
            if self.body_left:
                taken = min(self.body_left, len(data) - position)
                self.body_left -= taken
                position += taken
                if self.body_left:
                    break
            end = data.find(b"\r\n\r\n", position)
            if end < 0:
                break
            head = data[position:end].lower()
            marker = head.find(b"\r\ncontent-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker + 2)
                self.body_left = int(head[marker + 17 : line_end if line_end >= 0 else None])
            position = end + 4
            answers += 1
        self.pending = data[position:]
        if answers and self.transport is not None:
            self.transport.write(ANSWER * answers)


def _serve_asyncio(port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_StubProtocol, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _start_stub(kind: str, scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    if kind == "nginx":
        nginx = shutil.which("nginx") or next(
            (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
        )
        if nginx is None:
            raise SystemExit("--stub nginx: no nginx binary found")
        conf_dir = scratch / "nginx"
        conf_dir.mkdir()
        (conf_dir / "nginx.conf").write_text(NGINX_CONF.format(dir=conf_dir, port=port))
        command = [nginx, "-p", str(conf_dir), "-e", str(conf_dir / "error.log")]
        command += ["-c", str(conf_dir / "nginx.conf")]
    else:
        command = [sys.executable, __file__, "--serve-asyncio", str(port)]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_process(process)
                raise SystemExit(f"the {kind} stub did not start") from None
            time.sleep(0.05)


def _process_cpu(pid: int) -> float:
    """User + system seconds of another process so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _write_recording(path: Path, calls: int, sessions: int) -> None:
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIARECORDED/20240101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=**REDACTED**"
    )
    with RecordingWriter(path) as writer:
        for seq in range(1, calls + 1):
            request = make_request(
                "HEAD",
                f"http://127.0.0.1:5000/bench-bucket/object-{seq}",
                [
                    ("Host", "127.0.0.1:5000"),
                    ("User-Agent", "Boto3/1.44"),
                    ("X-Amz-Date", "20240101T000000Z"),
                    ("X-Amz-Content-Sha256", EMPTY_SHA256),
                    ("Authorization", authorization),
                ],
            )
            writer.write(
                make_exchange(
                    seq,
                    request,
                    make_response(200, [("Content-Length", "0")]),
                    service="s3",
                    operation="HeadObject",
                    session=f"s{seq % sessions}",
                    auth=Auth("sigv4", "AKIARECORDED", ("host", "x-amz-content-sha256", "x-amz-date")),
                )
            )


class Measure:
    """Wall and own-CPU time of one run, and the server's CPU time over it."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def __call__(self, calls: int, run: Callable[[], Any]) -> tuple[float, float, float]:
        cpu_before = time.process_time()
        server_before = _process_cpu(self.server_pid)
        started = time.perf_counter()
        run()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        server = _process_cpu(self.server_pid) - server_before
        return calls / wall, calls / max(cpu, 1e-9), server * 1e6 / calls


def _replay(recording: Path, url: str, concurrency: int, out: Path) -> None:
    from rich.console import Console

    from compat_diff.replay.run import run_replay

    run_replay(
        recording,
        [f"stub={url}"],
        None,
        False,
        out,
        concurrency=concurrency,
        console=Console(stderr=True, quiet=True),
        env={},
    )


def _boto3_calls(url: str, calls: int) -> Callable[[], None]:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIABENCH",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )
    client.head_object(Bucket="bench-bucket", Key="warm-up")

    def run() -> None:
        for number in range(calls):
            client.head_object(Bucket="bench-bucket", Key=f"object-{number}")

    return run


def _report(label: str, samples: list[tuple[float, float, float]], boto: float | None = None) -> None:
    wall = statistics.median(sample[0] for sample in samples)
    cpu = statistics.median(sample[1] for sample in samples)
    server = statistics.median(sample[2] for sample in samples)
    each = ", ".join(f"{sample[0]:,.0f}" for sample in samples)
    ratio = f" = {wall / boto:.1f}x boto3" if boto else ""
    print(
        f"{label}: median {wall:,.0f} req/s{ratio} (runs: {each}); "
        f"{cpu:,.0f} req per client CPU s; server {server:.0f} us CPU per req",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--sessions", type=int, default=256)
    parser.add_argument("--levels", default="1,8,32,128")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--boto3-calls", type=int, default=2000)
    parser.add_argument("--stub", choices=("auto", "nginx", "asyncio"), default="auto")
    parser.add_argument("--serve-asyncio", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_asyncio:
        _serve_asyncio(args.serve_asyncio)
        return 0

    stub = args.stub
    if stub == "auto":
        stub = "nginx" if shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK) else "asyncio"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIABENCH")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "secret")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        server, url = _start_stub(stub, scratch)
        try:
            measure = Measure(server.pid)
            recording = scratch / "bench.jsonl"
            _write_recording(recording, args.calls, args.sessions)
            # One small replay first, so imports and botocore model loading are not charged to a level.
            warm = scratch / "warm.jsonl"
            _write_recording(warm, 200, 8)
            _replay(warm, url, 8, scratch / "warm-run")
            print(
                f"cpus: {os.cpu_count()}, load average: {', '.join(f'{v:.2f}' for v in os.getloadavg())}, "
                f"stub: {stub}, calls: {args.calls}, sessions: {args.sessions}",
                flush=True,
            )
            boto_run = _boto3_calls(url, args.boto3_calls)
            boto_samples = [measure(args.boto3_calls, boto_run) for _ in range(args.repeat)]
            _report(f"boto3 sequential ({args.boto3_calls} calls)", boto_samples)
            boto = statistics.median(sample[0] for sample in boto_samples)
            for level in (int(text) for text in args.levels.split(",")):
                samples = []
                for attempt in range(args.repeat):
                    out = scratch / f"run-{level}-{attempt}"
                    run = functools.partial(_replay, recording, url, level, out)
                    samples.append(measure(args.calls, run))
                    shutil.rmtree(out)
                _report(f"replay concurrency {level:>4}", samples, boto)
            print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
        finally:
            stop_process(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
