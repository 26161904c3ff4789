"""The command line's outer contract: help that teaches, usage errors as exit 2 without tracebacks."""

from __future__ import annotations

import pytest

from compat_diff.testing import run_cli

COMMANDS = [
    "record",
    "inspect",
    "replay",
    "diff",
    "compare",
    "report",
    "learn-noise",
    "coverage",
    "candidates",
]


def test_top_level_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert len(result.stdout.splitlines()) > 4


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_flag_is_a_usage_error(command: str) -> None:
    result = run_cli(command, "--no-such-flag")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "no-such-flag" in result.stderr or "Missing" in result.stderr


def test_inspect_of_a_missing_file_is_one_sentence(tmp_path) -> None:
    result = run_cli("inspect", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_inspect_of_a_file_that_is_not_a_recording(tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    result = run_cli("inspect", str(path))
    assert result.returncode == 2
    assert "not a compat-diff recording" in result.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert "compat-diff" in result.stdout
