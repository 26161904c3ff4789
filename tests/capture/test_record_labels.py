"""`record --label KEY=VALUE` writes provenance into the recording's header, where reports read it."""

from __future__ import annotations

import sys
from pathlib import Path

from compat_diff.recording import open_recording
from tests.capture.conftest import record


def test_labels_land_in_the_header(tmp_path: Path, confdir: Path) -> None:
    out = tmp_path / "r.jsonl"
    result = record(
        out,
        confdir,
        [sys.executable, "-c", "pass"],
        "--label",
        "reference=moto 5 (stand-in for AWS)",
        "--label",
        "scenario=s3=minimal",
    )
    assert result.returncode == 0, result.stderr
    header = open_recording(out).header
    assert header["reference"] == "moto 5 (stand-in for AWS)"
    assert header["scenario"] == "s3=minimal"
    assert header["client"] == Path(sys.executable).name


def test_a_label_without_a_value_or_on_a_reserved_key_is_a_usage_error(tmp_path: Path, confdir: Path) -> None:
    for label, words in (("no-equals-sign", "KEY=VALUE"), ("version=9", "set by compat-diff itself")):
        result = record(
            tmp_path / "r.jsonl", confdir, [sys.executable, "-c", "print('ran')"], "--label", label
        )
        assert result.returncode == 2
        assert words in result.stderr and "Traceback" not in result.stderr
        assert "ran" not in result.stdout
