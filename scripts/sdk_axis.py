"""`make sdk-axis`: the SDK as an axis. Records the same S3 scenario under pinned versions of each
client (each in its own virtual environment), reports what changed on the wire between a client's
versions, and rates the S3 candidates this machine can run against each recording.

boto3 1.36 and the AWS CLI v1 1.37 (both on botocore 1.36, January 2025) turned on default
integrity checksums (CRC32 headers, `aws-chunked` uploads with trailing checksums); many
S3-compatible stores broke that day. A rating recorded with one SDK version cannot see it: this
one records each client at the last version before the change and at its newest:

- boto3 (`boto3<1.36`, `boto3`) running scenarios/s3.py;
- the AWS CLI v1 (`awscli<1.37`, `awscli`) running scenarios/cli_s3.sh;
- s3fs on aiobotocore (`aiobotocore<2.18`, the newest) running the s3fs client driver
  (clients/run_client.py s3fs).

Writes under --out (default .work/sdk): one recording per SDK (labelled `sdk=boto3 X.Y.Z`,
`sdk=awscli X.Y.Z` or `sdk=s3fs X (aiobotocore Y)` in its header), changes.md (new headers,
framing and defaults per operation, against the client's oldest version) and sdk-matrix.md (each
candidate's score per SDK). The
recordings are made against a moto server (the stand-in for AWS). The virtual environments are
made once, from the package index, the first time the script runs (set-up, not test time).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson
from rich.console import Console

from compat_diff.candidates import running, write_targets_toml
from compat_diff.recording import read_recording

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sdk:
    """One client at one pinned version: its venv's name, the package it is, what pip installs,
    and the program it records (the same for every version of a client)."""

    name: str
    package: str
    requirements: tuple[str, ...]
    scenario: str
    arguments: tuple[str, ...] = ()
    # A package under the client whose version decides its defaults, named in the label too.
    underneath: str | None = None

    @property
    def program(self) -> str:
        """What it runs, as a reader names it (``clients/run_client.py s3fs``)."""
        return " ".join((self.scenario, *self.arguments[:1]))

    def command(self, venv: Path) -> list[str]:
        if self.scenario.endswith(".sh"):
            return ["bash", str(ROOT / self.scenario), *self.arguments]
        return [str(venv / "bin" / "python"), str(ROOT / self.scenario), *self.arguments]

    def environment(self, venv: Path) -> dict[str, str]:
        # The AWS CLI scenarios call $AWS_CLI: the venv's own `aws`, whatever is on PATH.
        return {"AWS_CLI": str(venv / "bin" / "aws")} if self.package == "awscli" else {}


# Unpinned means the newest version the package index offers. s3fs follows botocore through
# aiobotocore: 2.17 is its last release on botocore 1.35, 2.18 moved to botocore 1.36.
SDKS = (
    Sdk("boto3-1.35", "boto3", ("boto3<1.36",), "scenarios/s3.py"),
    Sdk("boto3-current", "boto3", ("boto3",), "scenarios/s3.py"),
    Sdk("awscli-1.36", "awscli", ("awscli<1.37",), "scenarios/cli_s3.sh"),
    Sdk("awscli-current", "awscli", ("awscli",), "scenarios/cli_s3.sh"),
    Sdk("s3fs-botocore-1.35", "s3fs", ("s3fs", "aiobotocore<2.18"), "clients/run_client.py",
        ("s3fs", "--bucket", "sdk-axis-s3fs"), underneath="aiobotocore"),
    Sdk("s3fs-current", "s3fs", ("s3fs",), "clients/run_client.py",
        ("s3fs", "--bucket", "sdk-axis-s3fs"), underneath="aiobotocore"),
)  # fmt: skip
CANDIDATES = ("seaweedfs", "rclone")
RECORDING_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIARECORDINGOWNER01",
    "AWS_SECRET_ACCESS_KEY": "recording-secret-never-stored",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Headers whose presence or value says how a client frames and checks what it sends.
FRAMING = ("content-encoding", "x-amz-content-sha256", "x-amz-trailer", "x-amz-decoded-content-length")


def sdk_venv(sdk: Sdk, base: Path, console: Console) -> tuple[Path, str, str]:
    """The venv holding ``sdk.requirements`` (made once), the client's version in it, and the
    label its recording and columns carry (``boto3 1.35.99``)."""
    venv = base / "venvs" / sdk.name
    python = venv / "bin" / "python"
    if not python.exists():
        console.print(f"creating {venv} with {' '.join(sdk.requirements)}")
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", *sdk.requirements])
    packages = [sdk.package] + ([sdk.underneath] if sdk.underneath else [])
    versions = subprocess.check_output(
        [str(python), "-c", "import sys; from importlib.metadata import version; "
         "print(*(version(name) for name in sys.argv[1:]))", *packages],
        text=True,
    ).split()  # fmt: skip
    label = f"{sdk.package} {versions[0]}"
    if sdk.underneath:
        label += f" ({sdk.underneath} {versions[1]})"
    return venv, versions[0], label


def record(sdk: Sdk, venv: Path, label: str, out: Path, work: Path) -> int:
    with running(["moto"], work) as (references, failures):
        if failures:
            return 3
        env = {
            **os.environ,
            **RECORDING_ENV,
            **sdk.environment(venv),
            "AWS_ENDPOINT_URL": references[0].endpoint,
        }
        env.pop("AWS_PROFILE", None)
        return subprocess.call(
            [
                sys.executable,
                "-m",
                "compat_diff",
                "record",
                "--out",
                str(out),
                "--force",  # a run again (after a new SDK release) replaces the last recordings
                "--session",
                "s3",
                "--label",
                "reference=moto server (stand-in for AWS)",
                "--label",
                f"sdk={label}",
                "--label",
                f"scenario={sdk.program}",
                "--",
                *sdk.command(venv),
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
    """One client's section of changes.md: each later version against the first."""
    base_label, base = labels[0], profiles[0]
    lines = []
    for label, profile in zip(labels[1:], profiles[1:], strict=True):
        lines += [f"## {label}, against {base_label}", ""]
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


def changes_document(recorded: list[tuple[Sdk, str, Path]]) -> str:
    """changes.md: per client, what its later versions send that its oldest did not."""
    lines = ["# What changed on the wire between versions of each client", ""]
    for package in dict.fromkeys(sdk.package for sdk, _, _ in recorded):
        mine = [(label, path, sdk) for sdk, label, path in recorded if sdk.package == package]
        lines += [f"Recorded with `{mine[0][2].program}`.", ""]
        lines.append(
            changes_markdown([label for label, _, _ in mine], [wire_profile(path) for _, path, _ in mine])
        )
    return "\n".join(lines)


def matrix_markdown(recorded: list[tuple[Sdk, str, Path]], scores: dict[str, dict[str, float | None]]) -> str:
    """sdk-matrix.md: one row per candidate, one column per SDK."""
    labels = [label for _, label, _ in recorded]
    scenarios = ", ".join(
        f"{package} on {program}"
        for package, program in dict.fromkeys((sdk.package, sdk.program) for sdk, _, _ in recorded)
    )
    lines = [
        f"Scores of the S3 candidates on the S3 scenarios recorded with each SDK ({scenarios}; "
        "reference: moto). Compare a client's columns with each other: two clients ran different "
        "scenarios.",
        "",
        "| candidate | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for candidate, by_sdk in sorted(scores.items()):
        cells = [("n/a" if by_sdk.get(label) is None else f"{by_sdk[label]:.0%}") for label in labels]
        lines.append(f"| {candidate} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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
    recorded: list[tuple[Sdk, str, Path]] = []
    for sdk in SDKS:
        venv, _, label = sdk_venv(sdk, args.out, console)
        out = args.out / f"{sdk.name}.jsonl"
        status = record(sdk, venv, label, out, args.out / "moto" / sdk.name)
        if status != 0:
            console.print(f"[red]recording {sdk.program} with {label} failed (exit {status})")
            return status
        recorded.append((sdk, label, out))
        console.print(f"recorded {sdk.program} with {label} -> {out}")
    changes = changes_document(recorded)
    (args.out / "changes.md").write_text(changes, encoding="utf-8")
    scores = rate({label: path for _, label, path in recorded}, args.out, console)
    matrix = matrix_markdown(recorded, scores)
    (args.out / "sdk-matrix.md").write_text(matrix, encoding="utf-8")
    console.print(changes, markup=False)
    console.print(matrix, markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
