"""Replay throughput: signed requests per second that `compat-diff replay` sends to a minimal local
server, at several concurrency levels, beside the same calls made one by one with boto3.

The server is a raw asyncio HTTP/1.1 responder (keep-alive, empty 200 answers) in its own process,
so the numbers measure the replayer (rebuild, SigV4 signing, aiohttp, writing the run directory),
not the server. Run: python benchmarks/replay_throughput.py [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compat_diff.model import Auth  # noqa: E402
from compat_diff.recording import RecordingWriter  # noqa: E402
from compat_diff.testing import free_port, make_exchange, make_request, make_response  # noqa: E402

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-amz-request-id: bench\r\n\r\n"


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:].strip())
            if length:
                await reader.readexactly(length)
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_handle, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


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
                    (
                        "X-Amz-Content-Sha256",
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    ),
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


def _replay_rate(recording: Path, url: str, concurrency: int, work: Path) -> float:
    from rich.console import Console

    from compat_diff.replay.run import run_replay

    calls = sum(1 for _ in recording.open()) - 1
    started = time.perf_counter()
    run_replay(
        recording,
        [f"stub={url}"],
        None,
        False,
        work / f"run-{concurrency}",
        concurrency=concurrency,
        console=Console(stderr=True, quiet=True),
        env={},
    )
    return calls / (time.perf_counter() - started)


def _boto3_rate(url: str, calls: int) -> float:
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
    started = time.perf_counter()
    for number in range(calls):
        client.head_object(Bucket="bench-bucket", Key=f"object-{number}")
    return calls / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=256)
    parser.add_argument("--levels", default="1,8,32,128")
    args = parser.parse_args()

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIABENCH")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "secret")
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            recording = work / "bench.jsonl"
            _write_recording(recording, args.calls, args.sessions)
            # One small replay first, so imports and botocore model loading are not charged to a level.
            warm = work / "warm.jsonl"
            _write_recording(warm, 200, 8)
            _replay_rate(warm, url, 8, work)
            boto_calls = min(args.calls, 2000)
            boto = _boto3_rate(url, boto_calls)
            print(f"cpus: {os.cpu_count()}, calls: {args.calls}, sessions: {args.sessions}")
            print(f"boto3 sequential ({boto_calls} calls): {boto:,.0f} req/s")
            for level in (int(text) for text in args.levels.split(",")):
                rate = _replay_rate(recording, url, level, work)
                print(
                    f"replay concurrency {level:>4}: {rate:,.0f} req/s ({rate / boto:.1f}x boto3 sequential)"
                )
    finally:
        if server.pid is not None:
            os.kill(server.pid, 15)
        server.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
