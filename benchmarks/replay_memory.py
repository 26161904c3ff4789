"""Peak memory of `compat-diff replay` against a hostile candidate that sends huge answers.

A local server (tests/replay/hostile_server.py, its own process) answers one recorded S3 GetObject
with a 2 GiB body, a gzip bomb (a few MiB that decode to 4 GiB) or a chunked body that never ends.
The replay runs as `python -m compat_diff replay` under a small wrapper that reports the peak
resident set size the kernel counted for it (``RUSAGE_CHILDREN``).

    .venv/bin/python benchmarks/replay_memory.py                      # this checkout
    .venv/bin/python benchmarks/replay_memory.py --source OLD_CHECKOUT --only huge
        # an older checkout's compat_diff, e.g. `git worktree add /tmp/old <commit>` (it has no
        # answer cap: do not run the endless case against it, it grows until memory runs out)

Each scenario prints one Markdown table row.
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

from compat_diff.model import Auth  # noqa: E402
from compat_diff.recording import RecordingWriter  # noqa: E402
from compat_diff.testing import make_exchange, make_request, make_response, stop_process  # noqa: E402

GIB = 1024**3
MIB = 1024**2
SERVER = ROOT / "tests" / "replay" / "hostile_server.py"
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIARECORDED/20240101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=**REDACTED**"
)
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)
SCENARIOS = {
    "huge": ("2 GiB body", ["huge", str(2 * GIB)], []),
    "huge-under-cap": (
        "2 GiB body, cap raised to 3 GiB (stored)",
        ["huge", str(2 * GIB)],
        ["--max-answer-bytes", str(3 * GIB)],
    ),
    "gzip-bomb": ("gzip bomb, 4 GiB decoded", ["gzip-bomb", str(4 * GIB)], []),
    "endless": ("endless chunked body", ["endless"], []),
}


def recording(path: Path) -> Path:
    request = make_request(
        "GET",
        "http://127.0.0.1:5000/bench-bucket/big-object",
        [
            ("Host", "127.0.0.1:5000"),
            ("Authorization", AUTHORIZATION),
            ("X-Amz-Date", "20240101T000000Z"),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ],
    )
    exchange = make_exchange(
        1,
        request,
        make_response(200, [], b"small"),
        service="s3",
        operation="GetObject",
        auth=Auth(
            "sigv4", "AKIARECORDED", ("host", "x-amz-content-sha256", "x-amz-date"), "UNSIGNED-PAYLOAD"
        ),
    )
    with RecordingWriter(path) as writer:
        writer.write(exchange)
    return path


def start_server(work: Path, args: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    port_file = work / "port"
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, str(SERVER), str(port_file), *args])
    while not port_file.exists():
        if process.poll() is not None:
            raise SystemExit("the hostile server did not start")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{port_file.read_text()}"


def measure(source: Path, scenario: str, work: Path) -> str:
    label, server_args, extra = SCENARIOS[scenario]
    process, url = start_server(work, server_args)
    out = work / f"run-{scenario}"
    env = {**os.environ, "PYTHONPATH": str(source)}
    try:
        started = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                PEAK_RSS,
                sys.executable,
                "-m",
                "compat_diff",
                "replay",
                str(recording(work / "rec.jsonl")),
                "--target",
                f"hostile={url}",
                "--out",
                str(out),
                "--timeout",
                "600",
                *extra,
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=source,
            check=True,
        )
        elapsed = time.perf_counter() - started
    finally:
        stop_process(process)
    peak_kib, code = result.stdout.split()[-2:]
    outcome = "?"
    answers = out / "targets" / "hostile" / "answers.jsonl"
    if answers.exists():
        text = answers.read_text()
        outcome = text.split('"outcome":"', 1)[1].split('"', 1)[0] if '"outcome":"' in text else "?"
    return f"| {label} | {int(peak_kib) / 1024:,.0f} MiB | {outcome} | exit {code} | {elapsed:.1f} s |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source", type=Path, default=ROOT, help="the checkout whose compat_diff is measured"
    )
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), default=sorted(SCENARIOS))
    args = parser.parse_args()
    print("| answer | replay peak RSS | outcome | exit | wall time |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="replay-memory-") as work:
        for scenario in args.only:
            print(measure(args.source.resolve(), scenario, Path(work)), flush=True)


if __name__ == "__main__":
    main()
