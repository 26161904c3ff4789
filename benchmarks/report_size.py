"""Report size per exchange: what a compare run writes beside its recording, moto against moto.

Besides the bundled recordings (recorded against moto, the stand-in for AWS), it records a
body-heavy S3 workload itself through ``compat-diff record`` against a moto server: 16 objects of
256 KiB each read back three times, 300 small objects listed in full. For each recording a fresh
moto server is started as the candidate and ``compat-diff compare`` runs against it; the script then
prints, per recording, the bytes per exchange of the recording (with its blobs), the run directory's
answers (answers.jsonl with its blobs), ``details.jsonl``, ``report.json`` and ``index.html``.

The compat_diff that runs is the one Python imports, so ``PYTHONPATH=/other/checkout`` measures
another version of the code on the same recordings.

    python benchmarks/report_size.py [--recordings recordings/s3.jsonl ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from compat_diff.candidates import start, stop
from compat_diff.recording import blob_dir_for, open_recording

ROOT = Path(__file__).resolve().parent.parent
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    "AWS_ACCESS_KEY_ID": "AKIAREPLAYTARGET0001",
    "AWS_SECRET_ACCESS_KEY": "replay-target-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


WORKLOAD = """
import os, boto3
from botocore.config import Config
s3 = boto3.client("s3", config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="report-size")
big = bytes(range(256)) * 1024
for n in range(16):
    s3.put_object(Bucket="report-size", Key=f"big/{n}", Body=big)
for n in range(300):
    s3.put_object(Bucket="report-size", Key=f"small/{n:04d}", Body=b"x" * 100)
for _ in range(3):
    for n in range(16):
        s3.get_object(Bucket="report-size", Key=f"big/{n}")["Body"].read()
for _ in range(3):
    s3.list_objects_v2(Bucket="report-size", Prefix="small/", MaxKeys=1000)
"""


def record_workload(work: Path) -> Path:
    """The body-heavy workload, recorded through ``compat-diff record`` against a moto server."""
    server = start("moto", work / "reference")
    out = work / "bodies.jsonl"
    script = work / "workload.py"
    script.write_text(WORKLOAD)
    try:
        subprocess.run(
            [sys.executable, "-m", "compat_diff", "record", "--out", str(out), "--",
             sys.executable, str(script)],
            env={**ENV, "AWS_ENDPOINT_URL": server.endpoint}, capture_output=True, timeout=600,
            stdin=subprocess.DEVNULL, check=True,
        )
    finally:
        stop(server)
    return out


def size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0


def measure(recording: Path, work: Path) -> dict[str, float]:
    server = start("moto", work / "moto")
    try:
        report = work / "report"
        subprocess.run(
            [sys.executable, "-m", "compat_diff", "compare", str(recording), "--target",
             f"moto={server.endpoint}", "--report-dir", str(report)],
            env=ENV, capture_output=True, timeout=600, stdin=subprocess.DEVNULL, check=False,
        )
    finally:
        stop(server)
    exchanges = sum(1 for _ in open_recording(recording))
    answers = report / "run" / "targets" / "moto" / "answers.jsonl"
    return {
        "exchanges": exchanges,
        "recording": (size(recording) + size(blob_dir_for(recording))) / exchanges,
        "answers": (size(answers) + size(blob_dir_for(answers))) / exchanges,
        "details": size(report / "details.jsonl") / exchanges,
        "report.json": size(report / "report.json") / exchanges,
        "index.html": size(report / "index.html") / exchanges,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", nargs="*", type=Path,
                        default=sorted((ROOT / "recordings").glob("*.jsonl")))
    parser.add_argument("--no-workload", action="store_true", help="only the given recordings")
    args = parser.parse_args()
    keep = Path(tempfile.mkdtemp(prefix="report-size-recording-"))
    recordings = list(args.recordings)
    if not args.no_workload:
        recordings.insert(0, record_workload(keep))
        print(f"(the workload's recording stays in {keep} for a rerun with --no-workload)", file=sys.stderr)
    columns = ["recording", "answers", "details", "report.json", "index.html"]
    print("| recording | exchanges | " + " | ".join(f"{c} B/ex" for c in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    totals = dict.fromkeys(["exchanges", *columns], 0.0)
    for recording in recordings:
        with tempfile.TemporaryDirectory(prefix="report-size-") as work:
            found = measure(recording, Path(work))
        for key in totals:
            totals[key] += found[key] * (found["exchanges"] if key != "exchanges" else 1)
        print(f"| {recording.stem} | {found['exchanges']:.0f} | "
              + " | ".join(f"{found[c]:,.0f}" for c in columns) + " |")
    count = totals["exchanges"] or 1
    print(f"| all | {count:.0f} | " + " | ".join(f"{totals[c] / count:,.0f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
