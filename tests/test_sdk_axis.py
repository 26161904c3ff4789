"""`make sdk-axis`'s report of what a newer SDK sends differently (scripts/sdk_axis.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from compat_diff.recording import RecordingWriter
from compat_diff.testing import make_exchange, make_request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from sdk_axis import SDKS, changes_document, changes_markdown, matrix_markdown, wire_profile


def _recording(path: Path, headers: dict[str, str], notes: dict | None = None) -> Path:
    request = make_request("PUT", "http://127.0.0.1:5000/b/k", {"Host": "127.0.0.1:5000", **headers}, b"x")
    with RecordingWriter(path, header={"sdk": path.stem}) as writer:
        writer.write(make_exchange(1, request, service="s3", operation="PutObject", notes=notes or {}))
    return path


def test_new_checksum_headers_and_framing_are_reported(tmp_path: Path) -> None:
    old = _recording(tmp_path / "old.jsonl", {"Content-MD5": "abc", "X-Amz-Content-SHA256": "a" * 64})
    new = _recording(
        tmp_path / "new.jsonl",
        {
            "X-Amz-Checksum-Crc32": "AAAAAA==",
            "X-Amz-Sdk-Checksum-Algorithm": "CRC32",
            "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "Content-Encoding": "aws-chunked",
        },
        {"aws-chunked": {"trailer": "x-amz-checksum-crc32"}},
    )
    text = changes_markdown(["boto3 1.35", "boto3 1.44"], [wire_profile(old), wire_profile(new)])
    line = next(line for line in text.splitlines() if "s3 PutObject" in line)
    assert "new headers `content-encoding`, `x-amz-checksum-crc32`, `x-amz-sdk-checksum-algorithm`" in line
    assert "no longer sent `content-md5`" in line
    assert "`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`" in line
    assert "aws-chunked upload" in line and "AAAAAA==" not in line


def test_the_same_requests_report_nothing(tmp_path: Path) -> None:
    one = _recording(tmp_path / "one.jsonl", {"Content-MD5": "abc"})
    two = _recording(tmp_path / "two.jsonl", {"Content-MD5": "abc"})
    assert "nothing changed" in changes_markdown(["a", "b"], [wire_profile(one), wire_profile(two)])


def test_each_client_is_compared_with_its_own_older_version(tmp_path: Path) -> None:
    boto_old = _recording(tmp_path / "b1.jsonl", {"Content-MD5": "abc"})
    boto_new = _recording(tmp_path / "b2.jsonl", {"X-Amz-Checksum-Crc32": "AAAAAA=="})
    cli_old = _recording(tmp_path / "c1.jsonl", {"Content-MD5": "abc"})
    cli_new = _recording(tmp_path / "c2.jsonl", {"Content-MD5": "abc"})
    by_name = {sdk.name: sdk for sdk in SDKS}
    recorded = [
        (by_name["boto3-1.35"], "boto3 1.35.99", boto_old),
        (by_name["boto3-current"], "boto3 1.44.1", boto_new),
        (by_name["awscli-1.36"], "awscli 1.36.40", cli_old),
        (by_name["awscli-current"], "awscli 1.46.3", cli_new),
    ]
    text = changes_document(recorded)
    boto, cli = text.split("## boto3 1.44.1, against boto3 1.35.99")[1].split(
        "## awscli 1.46.3, against awscli 1.36.40"
    )
    assert "new headers `x-amz-checksum-crc32`" in boto
    assert "nothing changed" in cli and "Recorded with `scenarios/cli_s3.sh`" in text
    matrix = matrix_markdown(recorded, {"seaweedfs": {"boto3 1.35.99": 0.5, "awscli 1.46.3": 1.0}})
    assert "| candidate | boto3 1.35.99 | boto3 1.44.1 | awscli 1.36.40 | awscli 1.46.3 |" in matrix
    assert "| seaweedfs | 50% | n/a | n/a | 100% |" in matrix


def test_every_client_is_pinned_before_the_checksum_change_and_taken_at_its_newest() -> None:
    pins: dict[str, list[tuple[str, ...]]] = {}
    for sdk in SDKS:
        pins.setdefault(sdk.package, []).append(sdk.requirements)
        # Every version of a client runs its program from its own venv (the CLI through $AWS_CLI).
        runner = "bash" if sdk.package == "awscli" else "/venv/bin/python"
        assert sdk.command(Path("/venv"))[0] == runner
    # The first of each client holds botocore under 1.36 (boto3 1.35, awscli 1.36, aiobotocore
    # 2.17), the second is unpinned.
    assert pins == {
        "boto3": [("boto3<1.36",), ("boto3",)],
        "awscli": [("awscli<1.37",), ("awscli",)],
        "s3fs": [("s3fs", "aiobotocore<2.18"), ("s3fs",)],
    }
