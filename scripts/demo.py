"""`make demo`: the main job end to end on embedded defaults.

1. Start a moto server: the stand-in for AWS (no real AWS is reachable from here).
2. Record bundled scenarios through `compat-diff record -- ...` against it.
3. Start real, independently written S3 servers (SeaweedFS and rclone's S3 server, both checking SigV4).
4. `compat-diff compare` the recording against them, print a summary and the report's path.
Every process started here is stopped on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from compat_diff.candidates import running, write_targets_toml

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ("seaweedfs", "rclone")
SCENARIOS = ("s3_minimal.py",)


def compat_diff(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.call([sys.executable, "-m", "compat_diff", *args], cwd=ROOT, env=env)


def record(out_dir: Path, reference_endpoint: str, console: Console) -> Path:
    recording = out_dir / "recording.jsonl"
    recording.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=reference_endpoint,
        AWS_ACCESS_KEY_ID="AKIADEMORECORDER0001",
        AWS_SECRET_ACCESS_KEY="demo-recorder-secret",
        AWS_DEFAULT_REGION="us-east-1",
    )
    env.pop("AWS_PROFILE", None)
    for scenario in SCENARIOS:
        console.rule(f"recording scenarios/{scenario} against moto (the stand-in for AWS)")
        status = compat_diff(
            "record",
            "--force",  # each demo run records afresh
            "--out",
            str(recording),
            "--session",
            scenario.removesuffix(".py"),
            "--label",
            f"reference=moto {metadata.version('moto')} server (stand-in for AWS)",
            "--label",
            f"scenario=scenarios/{scenario}",
            "--",
            sys.executable,
            str(ROOT / "scenarios" / scenario),
            env=env,
        )
        if status != 0:
            raise SystemExit(f"demo: recording scenarios/{scenario} failed with exit status {status}")
    return recording


def summarise(report_dir: Path, console: Console) -> None:
    doc = orjson.loads((report_dir / "report.json").read_bytes())
    table = Table(
        title=f"compat_diff: {doc['recording']['exchanges']} exchanges recorded against moto "
        "(the stand-in for AWS), replayed against real S3 servers"
    )
    table.add_column("candidate")
    table.add_column("score", justify="right")
    table.add_column("matching", justify="right")
    table.add_column("diverging operations", justify="right")
    table.add_column("not implemented", justify="right")
    table.add_column("top divergence")
    for target in doc["targets"]:
        operations = target.get("operations", [])
        diverging = sum(1 for op in operations if op["verdict"] == "diverges")
        missing = sum(1 for op in operations if op["verdict"] == "not-implemented")
        top = _most_severe(operations)
        table.add_row(
            target["name"],
            f"{target['score']:.0%}",
            f"{target.get('matching', '?')}/{target.get('exchanges', '?')}",
            str(diverging),
            str(missing),
            top[:120],
        )
    console.print(table)


SEVERITY = {"critical": 0, "major": 1, "minor": 2}


def _most_severe(operations: list[dict]) -> str:
    """The divergence a reader should see first: the most severe, then the earliest call."""
    found = [
        (SEVERITY.get(d["severity"], 3), d["seq"], op["operation"], d)
        for op in operations
        for d in op.get("divergences", [])
        if d["severity"] in ("critical", "major")
    ]
    if not found:
        return "-"
    _, seq, operation, d = min(found, key=lambda item: item[:2])
    # A root finding says it in words ("the reference succeeded (200) where the candidate failed
    # (400 UnsupportedAlgorithm)"); other divergences show both values as JSON.
    detail = d.get("message") or (
        f"{d['kind']} at {d['path']}, moto {json.dumps(d['reference'])} vs {json.dumps(d['candidate'])}"
    )
    return f"{operation} (seq {seq}): {detail}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "demo-out", help="where the recording and report go"
    )
    args = parser.parse_args()
    console = Console()
    out_dir: Path = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with running(["moto"], out_dir / "reference") as (references, failures):
        if failures:
            console.print(f"[red]demo: the moto server (stand-in for AWS) did not start: {failures}")
            return 3
        recording = record(out_dir, references[0].endpoint, console)
    compat_diff("inspect", str(recording))
    console.rule("starting real candidates: " + ", ".join(CANDIDATES))
    with running(CANDIDATES, out_dir / "candidates") as (candidates, failures):
        for name, reason in failures.items():
            console.print(f"[yellow]candidate {name} did not start: {reason}")
        if not candidates:
            console.print("[red]demo: no candidate started")
            return 3
        targets = out_dir / "targets.toml"
        write_targets_toml(candidates, targets)
        report_dir = out_dir / "report"
        console.rule("compat-diff compare")
        status = compat_diff(
            "compare",
            str(recording),
            "--targets",
            str(targets),
            "--report-dir",
            str(report_dir),
            "--run-dir",
            str(out_dir / "run"),
        )
    if status not in (0, 1):
        console.print(f"[red]demo: compare failed with exit status {status}")
        return status
    summarise(report_dir, console)
    console.print(f"\nReport: {report_dir / 'index.html'}")
    console.print(
        f"Demo finished in {time.monotonic() - started:.0f} s; every process it started is stopped."
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("demo: interrupted; every process it started was stopped", file=sys.stderr)
        sys.exit(130)
