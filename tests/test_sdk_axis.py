"""`make sdk-axis`'s report of what a newer SDK sends differently (scripts/sdk_axis.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from compat_diff.recording import RecordingWriter
from compat_diff.testing import make_exchange, make_request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from sdk_axis import changes_markdown, wire_profile


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
