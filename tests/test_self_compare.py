"""Self-compare: what was recorded against one moto server (the stand-in for AWS), replayed against
a fresh one, gives zero divergences with the default normalizer packs. A false alarm here would
be a false alarm against every candidate.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from compat_diff.candidates import RunningCandidate, start, stop

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = sorted((ROOT / "recordings").glob("*.jsonl"))
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    "AWS_ACCESS_KEY_ID": "AKIAREPLAYTARGET0001",
    "AWS_SECRET_ACCESS_KEY": "replay-target-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture
def fresh_moto(tmp_path: Path) -> Iterator[RunningCandidate]:
    server = start("moto", tmp_path / "moto")
    yield server
    stop(server)


def compare(recording: Path, endpoint: str, report_dir: Path) -> tuple[int, dict, str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "compat_diff",
            "compare",
            str(recording),
            "--target",
            f"fresh={endpoint}",
            "--report-dir",
            str(report_dir),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    doc = (
        orjson.loads((report_dir / "report.json").read_bytes())
        if (report_dir / "report.json").exists()
        else {}
    )
    return result.returncode, doc, result.stderr


def divergences_of(doc: dict) -> list[tuple[str, int, str, str]]:
    return [
        (op["operation"], d["seq"], d["kind"], d["path"])
        for target in doc["targets"]
        for op in target["operations"]
        for d in op["divergences"]
    ]


def test_every_service_has_a_bundled_recording() -> None:
    names = {path.stem for path in RECORDINGS}
    assert {"s3", "ec2", "iam", "sts", "sqs", "sns", "dynamodb", "kinesis", "cloudwatch"} <= names


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda p: p.stem)
def test_bundled_recording_against_a_fresh_moto_has_no_divergence(
    recording: Path, fresh_moto: RunningCandidate, tmp_path: Path
) -> None:
    status, doc, stderr = compare(recording, fresh_moto.endpoint, tmp_path / "report")
    assert doc, stderr
    target = doc["targets"][0]
    assert divergences_of(doc) == []
    assert target["matching"] == target["exchanges"] == doc["recording"]["exchanges"]
    assert status == 0, stderr


def test_a_fresh_recording_of_a_stateful_scenario_self_compares(tmp_path: Path) -> None:
    # Recorded now, through the real proxy, so the recorder and replayer of this very tree are checked.
    recording = tmp_path / "sqs.jsonl"
    reference = start("moto", tmp_path / "reference")
    try:
        env = {
            **ENV,
            "AWS_ENDPOINT_URL": reference.endpoint,
            "AWS_ACCESS_KEY_ID": "AKIARECORDINGOWNER01",
            "AWS_SECRET_ACCESS_KEY": "recording-secret",
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "compat_diff",
                "record",
                "--out",
                str(recording),
                "--session",
                "sqs",
                "--",
                sys.executable,
                str(ROOT / "scenarios" / "sqs.py"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stderr
    finally:
        stop(reference)
    assert b"recording-secret" not in recording.read_bytes()
    candidate = start("moto", tmp_path / "candidate")
    try:
        status, doc, stderr = compare(recording, candidate.endpoint, tmp_path / "report")
    finally:
        stop(candidate)
    assert divergences_of(doc) == []
    assert doc["targets"][0]["exchanges"] >= 30
    assert status == 0, stderr
