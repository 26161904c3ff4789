"""Peak memory of `compat-diff record` while a client uploads and downloads one large S3 object.

A local stub (its own process) plays S3: it reads and discards a PUT's body and answers a GET
with a body of the requested size. A boto3 client, run by `compat-diff record -- ...`, uploads a
file of SIZE bytes through the recorder and downloads it again. A small wrapper reports the peak
resident set size the kernel counted for the recorder and its client (``RUSAGE_CHILDREN``: the
largest of them, in practice the recorder).

    .venv/bin/python benchmarks/record_memory.py [--size-mib 1024]             # this checkout
    .venv/bin/python benchmarks/record_memory.py --source OLD_CHECKOUT          # an older compat_diff,
        # e.g. `git worktree add /tmp/old <commit>`; only its `compat_diff` package is used

Prints one Markdown table row per case (upload, download).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compat_diff.testing import free_port, stop_process  # noqa: E402

MIB = 1024**2
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)
CLIENT = """
import sys, time
import boto3
from botocore.config import Config

endpoint, mode, path, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                                response_checksum_validation="when_required", read_timeout=600))
started = time.perf_counter()
if mode == "upload":
    with open(path, "rb") as body:
        s3.put_object(Bucket="big", Key="object", Body=body, ContentLength=size)
else:
    received = 0
    for chunk in s3.get_object(Bucket="big", Key="object")["Body"].iter_chunks(1 << 20):
        received += len(chunk)
    assert received == size, received
print("seconds", time.perf_counter() - started)
"""


def serve(port: int, size: int) -> None:
    """The stub S3: PUT bodies are read and dropped, GET answers SIZE bytes."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    block = bytes(range(256)) * 4096

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_PUT(self) -> None:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                left -= len(self.rfile.read(min(left, 1 << 20)))
            self.send_response(200)
            self.send_header("ETag", '"0123456789abcdef0123456789abcdef"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.send_header("ETag", '"0123456789abcdef0123456789abcdef"')
            self.end_headers()
            left = size
            while left > 0:
                piece = block[: min(left, len(block))]
                self.wfile.write(piece)
                left -= len(piece)

        def log_message(self, *_: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def measure(mode: str, size: int, source: Path, work: Path, endpoint: str) -> tuple[int, float, int]:
    """(peak RSS in bytes, seconds, recording's blob bytes) of one recorded upload or download."""
    client = work / "client.py"
    client.write_text(CLIENT)
    data = work / "upload.bin"
    if mode == "upload" and not data.exists():
        block = bytes(range(256)) * 4096
        with data.open("wb") as out:
            for _ in range(size // len(block)):
                out.write(block)
    out = work / f"{mode}.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "AWS_ACCESS_KEY_ID": "AKIABENCHMARK0000001",
        "AWS_SECRET_ACCESS_KEY": "benchmark-secret",
    }
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable, "-c", PEAK_RSS,
            sys.executable, "-m", "compat_diff", "record", "--out", str(out), "--confdir", str(work / "ca"),
            "--", sys.executable, str(client), endpoint, mode, str(data), str(size),
        ],
        # The working directory comes first on `python -m`'s path: keep it away from any checkout.
        capture_output=True, text=True, env=env, timeout=3600, stdin=subprocess.DEVNULL, cwd=work,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    peak_kib, code = result.stdout.split()[-2:]
    if code != "0":
        raise SystemExit(f"record failed ({code}): {result.stderr[-2000:]}")
    blobs = out.with_name(out.name + ".blobs")
    stored = sum(path.stat().st_size for path in blobs.iterdir()) if blobs.exists() else 0
    return int(peak_kib) * 1024, elapsed, stored


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout whose compat_diff is measured")
    parser.add_argument("--only", choices=("upload", "download"))
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = args.size_mib * MIB
    if args.serve:
        serve(args.serve, size)
        return
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--size-mib", str(args.size_mib)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        with tempfile.TemporaryDirectory(prefix="record-memory-") as tmp:
            print("| case | source | peak RSS | time | stored in the blob folder |")
            print("|---|---|---|---|---|")
            for mode in ("upload", "download"):
                if args.only and mode != args.only:
                    continue
                peak, seconds, stored = measure(
                    mode, size, args.source, Path(tmp), f"http://127.0.0.1:{port}"
                )
                print(
                    f"| {args.size_mib} MiB {mode} | {args.source.name} | {peak // MIB:,} MiB "
                    f"| {seconds:.1f} s "
                    f"| {stored // MIB:,} MiB |",
                    flush=True,
                )
    finally:
        stop_process(stub)


if __name__ == "__main__":
    main()
