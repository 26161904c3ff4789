"""`compat-diff coverage`: operations per service counted from a real recording file, set against the
botocore model, in both the table and the JSON form."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from compat_diff.coverage import coverage_of, run_coverage
from compat_diff.errors import RecordingError
from compat_diff.recording import RecordingWriter
from compat_diff.testing import make_exchange, make_request, make_response

CALLS = [
    ("s3", "CreateBucket", 200),
    ("s3", "PutObject", 200),
    ("s3", "PutObject", 200),
    ("s3", "GetObject", 404),
    ("sqs", "SendMessage", 200),
    (None, None, 403),  # an unsigned call to a host nothing identifies
]


def _write_recording(path: Path) -> Path:
    with RecordingWriter(path) as writer:
        for seq, (service, operation, status) in enumerate(CALLS, start=1):
            writer.write(
                make_exchange(
                    seq,
                    make_request("PUT", f"http://127.0.0.1:9/{seq}"),
                    make_response(status),
                    service=service,
                    operation=operation,
                )
            )
    return path


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, soft_wrap=True), buffer


def test_json_counts_operations_per_service_against_the_model(tmp_path: Path) -> None:
    recording = _write_recording(tmp_path / "rec.jsonl")
    console, buffer = _console()

    assert run_coverage(recording, console, as_json=True) == 0

    document = json.loads(buffer.getvalue())
    assert document["exchanges"] == 6
    assert document["unidentified"] == 1
    s3, sqs = document["services"]
    assert s3["service"] == "s3"
    assert s3["exercised"] == {"CreateBucket": 1, "GetObject": 1, "PutObject": 2}
    assert s3["exchanges"] == 4
    # The model knows far more S3 operations than this recording calls.
    assert s3["operations_available"] > 90
    assert "DeleteBucket" in s3["never_called"]
    assert "PutObject" not in s3["never_called"]
    assert len(s3["never_called"]) == s3["operations_available"] - 3
    assert s3["ratio"] == pytest.approx(3 / s3["operations_available"], abs=1e-4)
    assert sqs["exercised"] == {"SendMessage": 1}
    assert "ReceiveMessage" in sqs["never_called"]


def test_table_names_services_counts_and_never_called_operations(tmp_path: Path) -> None:
    recording = _write_recording(tmp_path / "rec.jsonl")
    console, buffer = _console()

    assert run_coverage(recording, console) == 0

    text = buffer.getvalue()
    s3_row = next(line for line in text.splitlines() if line.strip("│ ").startswith("s3 "))
    cells = [cell.strip() for cell in s3_row.strip("│").split("│")]
    assert cells[:3] == ["s3", "4", "3"]
    assert int(cells[3]) > 90 and cells[4].endswith("%")
    assert "s3: never called" in text and "DeleteBucket" in text
    assert "1 not attributed to any operation" in text


def test_operations_outside_the_model_and_unknown_services_are_reported_not_hidden() -> None:
    exchanges = [
        make_exchange(1, service="s3", operation="FrobnicateBucket"),
        make_exchange(2, service="s3", operation="GetObject"),
        make_exchange(3, service="not-a-service", operation="DoThing"),
    ]

    report = coverage_of(exchanges)

    by_name = {service.service: service for service in report.services}
    s3, unknown = by_name["s3"], by_name["not-a-service"]
    assert s3.outside_model == ("FrobnicateBucket",)
    assert s3.ratio == pytest.approx(1 / len(s3.available))
    assert unknown.service == "not-a-service"
    assert unknown.available == () and unknown.ratio is None and unknown.never_called == ()


def test_a_file_that_is_not_a_recording_is_an_input_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.jsonl"
    bogus.write_text('{"hello": "world"}\n', encoding="utf-8")
    console, _ = _console()

    with pytest.raises(RecordingError, match="not a compat-diff recording"):
        run_coverage(bogus, console)
