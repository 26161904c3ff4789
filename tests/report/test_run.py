"""``compat-diff report``: re-rendering from a report.json or a directory, and one-sentence refusals."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson

from compat_diff import testing
from compat_diff.report import write_reports
from tests.report.sample import sample_report, write_details


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return testing.run_cli(*args, timeout=120)


def make_report(directory: Path) -> Path:
    doc, details = sample_report()
    write_reports(doc, directory, write_details(details, directory.parent / "details.jsonl"))
    return directory / "report.json"


def test_rerender_from_report_json_uses_details_beside_it(tmp_path: Path) -> None:
    source = make_report(tmp_path / "first")
    result = run_cli("report", str(source), "--report-dir", str(tmp_path / "again"))
    assert result.returncode == 1, result.stderr  # swift diverges
    assert "swift: 25% compatible" in result.stdout
    again = tmp_path / "again"
    assert orjson.loads((again / "report.json").read_bytes()) == orjson.loads(source.read_bytes())
    assert (again / "details.jsonl").read_bytes() == (tmp_path / "first" / "details.jsonl").read_bytes()
    assert (again / "index.html").read_text().count('id="cd-chunk-') == 1
    assert (again / "junit.xml").is_file() and (again / "summary.md").is_file()
    assert (again / "badge-swift.svg").is_file()


def test_rerender_from_a_directory_in_place(tmp_path: Path) -> None:
    make_report(tmp_path / "report")
    (tmp_path / "report" / "index.html").unlink()
    result = run_cli("report", str(tmp_path / "report"), "--report-dir", str(tmp_path / "report"))
    assert result.returncode == 1, result.stderr
    assert (tmp_path / "report" / "index.html").is_file()


def test_a_report_without_divergences_exits_0(tmp_path: Path) -> None:
    doc, _ = sample_report()
    doc["targets"] = doc["targets"][1:]
    (tmp_path / "report.json").write_bytes(orjson.dumps(doc))
    result = run_cli("report", str(tmp_path / "report.json"), "--report-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "index.html").is_file()


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_missing_source(tmp_path: Path) -> None:
    line = refusal(run_cli("report", str(tmp_path / "nope.json"), "--report-dir", str(tmp_path / "out")))
    assert "does not exist" in line


def test_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text('{"format": "compat-diff/report", "version": 1, "targ')
    line = refusal(run_cli("report", str(tmp_path / "report.json"), "--report-dir", str(tmp_path / "out")))
    assert "is not valid JSON" in line


def test_another_format(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text('{"format": "compat-diff/recording", "version": 1}')
    line = refusal(run_cli("report", str(tmp_path / "report.json"), "--report-dir", str(tmp_path / "out")))
    assert "is not a compat-diff report" in line


def test_a_newer_version(tmp_path: Path) -> None:
    doc, _ = sample_report()
    doc["version"] = 99
    (tmp_path / "report.json").write_bytes(orjson.dumps(doc))
    line = refusal(run_cli("report", str(tmp_path / "report.json"), "--report-dir", str(tmp_path / "out")))
    assert "version 99" in line


def test_an_empty_run(tmp_path: Path) -> None:
    doc, _ = sample_report()
    doc["targets"] = []
    (tmp_path / "report.json").write_bytes(orjson.dumps(doc))
    line = refusal(run_cli("report", str(tmp_path / "report.json"), "--report-dir", str(tmp_path / "out")))
    assert "holds no targets" in line
    assert not (tmp_path / "out").exists()


def test_a_directory_with_nothing_to_render(tmp_path: Path) -> None:
    line = refusal(run_cli("report", str(tmp_path), "--report-dir", str(tmp_path / "out")))
    assert "neither a report.json nor a run.json" in line
