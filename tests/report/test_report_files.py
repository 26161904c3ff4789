"""Report files are written atomically, and a report directory that cannot take them is one
sentence and an exit status, never a traceback or a half-written file.

Run as the real command (`python -m compat_diff report`). A full disk is a real one: a tiny tmpfs
when the tests run as root (mounting needs it), otherwise a file-size limit on the process
(``RLIMIT_FSIZE``, the same write error as far as the writer can tell). A read-only directory is a
read-only mount as root (root ignores permission bits) and a mode-0555 directory otherwise.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from compat_diff.report.files import write_file
from tests.report.sample import sample_report, write_details


def _source(tmp_path: Path, details_copies: int = 1) -> Path:
    """A report.json and a details.jsonl beside it (``details_copies`` times the sample's lines)."""
    doc, details = sample_report()
    source = tmp_path / "source"
    source.mkdir()
    (source / "report.json").write_bytes(orjson.dumps(doc))
    write_details(details * details_copies, source / "details.jsonl")
    return source / "report.json"


def _render(
    source: Path, report_dir: Path, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compat_diff", "report", str(source), "--report-dir", str(report_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        preexec_fn=preexec,
    )


def _one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def _no_partial_files(directory: Path) -> None:
    leftovers = [
        path.name for path in directory.rglob("*") if path.name.startswith(".") or "partial" in path.name
    ]
    assert leftovers == []


def _tmpfs(path: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir(exist_ok=True)
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    mounted: list[Path] = []
    yield mounted
    for path in mounted:
        subprocess.run(["umount", str(path)], check=False)


def test_a_report_dir_that_is_a_file_is_an_input_error(tmp_path: Path) -> None:
    source = _source(tmp_path)
    blocker = tmp_path / "report"
    blocker.write_text("not a directory")
    result = _render(source, blocker)
    assert result.returncode == 2
    assert "exists and is not a directory" in _one_sentence(result)
    assert blocker.read_text() == "not a directory"
    # And one level down: a file where a parent directory should be.
    result = _render(source, blocker / "inner")
    assert result.returncode == 2, result.stderr
    _one_sentence(result)


def test_a_read_only_report_dir_is_exit_3_and_one_sentence(tmp_path: Path, mounts: list[Path]) -> None:
    source = _source(tmp_path)
    report = tmp_path / "report"
    if _tmpfs(report, "ro,size=1m"):
        mounts.append(report)
    elif os.geteuid() == 0:
        pytest.skip("root ignores permission bits and may not mount here: no read-only directory to test")
    else:
        report.mkdir()
        report.chmod(0o555)
    result = _render(source, report)
    if not mounts:
        report.chmod(0o755)
    assert result.returncode == 3, result.stderr
    sentence = _one_sentence(result)
    assert "cannot write" in sentence and ("read-only" in sentence or "permission denied" in sentence)
    assert list(report.iterdir()) == []


def test_a_full_disk_leaves_no_half_written_file(tmp_path: Path, mounts: list[Path]) -> None:
    # Enough details that copying them into the report directory cannot fit.
    source = _source(tmp_path, details_copies=400)
    assert (source.parent / "details.jsonl").stat().st_size > 1_000_000
    report = tmp_path / "report"
    preexec = None
    if _tmpfs(report, "size=256k"):
        mounts.append(report)
    else:
        report.mkdir()

        def preexec() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    # A report rendered before, complete; the failed render must not leave it half-replaced.
    write_file(report / "summary.md", "previous summary\n")
    write_file(report / "report.json", '{"previous": true}\n')
    result = _render(source, report, preexec)
    assert result.returncode == 3, result.stderr
    sentence = _one_sentence(result)
    assert "cannot write" in sentence and "details.jsonl" in sentence
    assert "disk is full" in sentence or "size this process may write" in sentence
    _no_partial_files(report)
    assert not (report / "details.jsonl").exists()
    # The previous report.json is still whole (the old one, or a complete new one).
    json.loads((report / "report.json").read_text())
    assert (report / "summary.md").read_text() == "previous summary\n"


def test_writes_are_atomic_renames(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    inode = target.stat().st_ino
    write_file(target, b"new")
    assert target.read_text() == "new" and target.stat().st_ino != inode
    _no_partial_files(tmp_path)
