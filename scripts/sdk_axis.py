"""`make sdk-axis`: the SDK as an axis. Records the same S3 scenario under pinned boto3 versions (each
in its own virtual environment), reports what changed on the wire between them, and rates the S3
candidates this machine can run against each recording.

boto3 1.36 (January 2025) turned on default integrity checksums (CRC32 headers, `aws-chunked`
uploads with trailing checksums); many S3-compatible stores broke that day. A rating recorded with
one SDK version cannot see it: this one records with the newest boto3 and with the last before 1.36.

Writes under --out (default .work/sdk): one recording per SDK (labelled `sdk=boto3 X.Y.Z` in its
header), changes.md (new headers, framing and defaults per operation, against the oldest SDK) and
sdk-matrix.md (each candidate's score per SDK). The recordings are made against a moto server (the
stand-in for AWS).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import orjson
from rich.console import Console

from compat_diff.candidates import running, write_targets_toml
from compat_diff.recording import read_recording

ROOT = Path(__file__).resolve().parent.parent
# name -> pip requirement. "current" is the newest boto3 the package index offers.
SDKS = {"boto3-1.35": "boto3<1.36", "boto3-current": "boto3"}
SCENARIO = ROOT / "scenarios" / "s3.py"
CANDIDATES = ("seaweedfs", "rclone")
RECORDING_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIARECORDINGOWNER01",
    "AWS_SECRET_ACCESS_KEY": "recording-secret-never-stored",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Headers whose presence or value says how a client frames and checks what it sends.
FRAMING = ("content-encoding", "x-amz-content-sha256", "x-amz-trailer", "x-amz-decoded-content-length")


def sdk_python(name: str, requirement: str, base: Path, console: Console) -> tuple[Path, str]:
    """The interpreter of a venv holding ``requirement`` (made once), and the boto3 version in it."""
    venv = base / "venvs" / name
    python = venv / "bin" / "python"
    if not python.exists():
        console.print(f"creating {venv} with {requirement}")
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", requirement])
    version = subprocess.check_output(
        [str(python), "-c", "import boto3; print(boto3.__version__)"], text=True
    )
    return python, version.strip()


def record(python: Path, version: str, out: Path, work: Path) -> int:
    with running(["moto"], work) as (references, failures):
        if failures:
            return 3
        env = {**os.environ, **RECORDING_ENV, "AWS_ENDPOINT_URL": references[0].endpoint}
        env.pop("AWS_PROFILE", None)
        return subprocess.call(
            [
                sys.executable,
                "-m",
                "compat_diff",
                "record",
                "--out",
                str(out),
                "--session",
                "s3",
                "--label",
                "reference=moto server (stand-in for AWS)",
                "--label",
                f"sdk=boto3 {version}",
                "--label",
                "scenario=scenarios/s3.py",
                "--",
                str(python),
                str(SCENARIO),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )


def _shown(name: str, value: str) -> str:
    """A framing header's value, or "..." where it is a digest that differs with every body."""
    if name.startswith("x-amz-checksum-") and name != "x-amz-checksum-mode":
        return "..."
    if name == "x-amz-content-sha256" and len(value) == 64:
        return "<sha256 of the body>"
    return value


def wire_profile(path: Path) -> dict[str, dict[str, set[str]]]:
    """Per operation: the request header names sent, and framing facts (header=value, notes)."""
    profile: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"headers": set(), "framing": set()})
    for exchange in read_recording(path):
        entry = profile[f"{exchange.service} {exchange.operation}"]
        for name, value in exchange.request.headers:
            lowered = name.lower()
            entry["headers"].add(lowered)
            if lowered in FRAMING or lowered.startswith(("x-amz-checksum-", "x-amz-sdk-checksum")):
                entry["framing"].add(f"{lowered}: {_shown(lowered, value)}")
        if "aws-chunked" in exchange.notes:
            entry["framing"].add("aws-chunked upload")
    return profile


def changes_markdown(labels: list[str], profiles: list[dict[str, dict[str, set[str]]]]) -> str:
    base_label, base = labels[0], profiles[0]
    lines = [f"# What changed on the wire, against {base_label}", ""]
    for label, profile in zip(labels[1:], profiles[1:], strict=True):
        lines += [f"## {label}", ""]
        changed = 0
        for operation in sorted(set(profile) | set(base)):
            new = profile.get(operation, {"headers": set(), "framing": set()})
            old = base.get(operation, {"headers": set(), "framing": set()})
            added = sorted(new["headers"] - old["headers"])
            dropped = sorted(old["headers"] - new["headers"])
            framing = sorted(new["framing"] - old["framing"])
            if not (added or dropped or framing):
                continue
            changed += 1
            parts = []
            if added:
                parts.append("new headers " + ", ".join(f"`{h}`" for h in added))
            if dropped:
                parts.append("no longer sent " + ", ".join(f"`{h}`" for h in dropped))
            if framing:
                parts.append("framing " + ", ".join(f"`{f}`" for f in framing))
            lines.append(f"- **{operation}**: " + "; ".join(parts))
        if not changed:
            lines.append("- nothing changed")
        lines.append("")
    return "\n".join(lines)


def rate(recordings: dict[str, Path], out: Path, console: Console) -> dict[str, dict[str, float | None]]:
    """Each candidate's overall score per SDK recording."""
    scores: dict[str, dict[str, float | None]] = defaultdict(dict)
    with running(list(CANDIDATES), out / "candidates") as (started, failures):
        for name, reason in failures.items():
            console.print(f"[yellow]candidate {name} did not start: {reason}")
        if not started:
            return scores
        targets = out / "targets.toml"
        write_targets_toml(started, targets)
        for label, recording in recordings.items():
            report = out / "reports" / label
            subprocess.call(
                [sys.executable, "-m", "compat_diff", "compare", str(recording), "--targets", str(targets),
                 "--report-dir", str(report), "--timeout", "60"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            doc = orjson.loads((report / "report.json").read_bytes())
            for target in doc["targets"]:
                scores[target["name"]][label] = target["score"]
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / ".work" / "sdk")
    args = parser.parse_args()
    console = Console()
    args.out.mkdir(parents=True, exist_ok=True)
    recordings: dict[str, Path] = {}
    for name, requirement in SDKS.items():
        python, version = sdk_python(name, requirement, args.out, console)
        label = f"boto3 {version}"
        out = args.out / f"{name}.jsonl"
        status = record(python, version, out, args.out / "moto" / name)
        if status != 0:
            console.print(f"[red]recording with {label} failed (exit {status})")
            return status
        recordings[label] = out
        console.print(f"recorded {SCENARIO.name} with {label} -> {out}")
    labels = list(recordings)
    changes = changes_markdown(labels, [wire_profile(path) for path in recordings.values()])
    (args.out / "changes.md").write_text(changes, encoding="utf-8")
    scores = rate(recordings, args.out, console)
    lines = ["| candidate | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    lines.insert(
        0, "Scores of the S3 candidates on scenarios/s3.py recorded with each SDK (reference: moto)."
    )
    lines.insert(1, "")
    for candidate, by_sdk in sorted(scores.items()):
        cells = [("n/a" if by_sdk.get(label) is None else f"{by_sdk[label]:.0%}") for label in labels]
        lines.append(f"| {candidate} | " + " | ".join(cells) + " |")
    (args.out / "sdk-matrix.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    console.print(changes)
    console.print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
