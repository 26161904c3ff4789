"""CI over time, through the CLI on answers from two real moto servers: a baseline (fail only on
what is new, list what is fixed), a known-divergences file, ``--fail-under`` per target and
service, progress lines without a terminal and the GitHub job summary."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from rundir import answer_line, policy_for, write_recording, write_run

from compat_diff.cli import main
from compat_diff.compare.run import ProgressLines
from compat_diff.model import Exchange, HttpResponse
from compat_diff.testing import make_response


def _seq(reference: list[Exchange], operation: str) -> int:
    return next(e.seq for e in reference if e.operation == operation)


def _wrong_content_type(response: HttpResponse) -> HttpResponse:
    headers = tuple(
        (name, "application/x-wrong" if name.lower() == "content-type" else value)
        for name, value in response.headers
    )
    return replace(response, headers=headers)


NOT_IMPLEMENTED = make_response(
    501,
    {"Content-Type": "application/xml"},
    "<Error><Code>NotImplemented</Code><Message>no</Message></Error>",
)


def _run(tmp_path: Path, name: str, moto_pair, broken: dict[int, HttpResponse]) -> Path:
    reference, candidate = moto_pair
    recording = tmp_path / "rec.jsonl"
    if not recording.exists():
        write_recording(recording, reference)
    run_dir = tmp_path / name
    policy = policy_for(run_dir / "targets" / "clone")
    lines = [
        answer_line(e, broken.get(e.seq, c.response), policy)
        for e, c in zip(reference, candidate, strict=True)
    ]
    return write_run(run_dir, recording, {"clone": lines})


def _diff(run_dir: Path, report: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    outcome = CliRunner().invoke(main, ["diff", str(run_dir), "--report-dir", str(report), *extra], env=env)
    return outcome.exit_code, outcome.output


@pytest.fixture
def before_and_after(tmp_path: Path, moto_pair) -> tuple[Path, Path, int, int]:
    """A baseline report where GetObject diverges, and a run where GetObject is fixed but
    ListBuckets newly answers NotImplemented."""
    reference, candidate = moto_pair
    get_object, list_buckets = _seq(reference, "GetObject"), _seq(reference, "ListBuckets")
    get_response = next(c.response for e, c in zip(reference, candidate, strict=True) if e.seq == get_object)
    old = _run(tmp_path, "old-run", moto_pair, {get_object: _wrong_content_type(get_response)})
    code, output = _diff(old, tmp_path / "old")
    assert code == 1, output
    new = _run(tmp_path, "new-run", moto_pair, {list_buckets: NOT_IMPLEMENTED})
    return tmp_path / "old" / "report.json", new, get_object, list_buckets


def test_a_baseline_fails_on_the_new_divergence_and_lists_the_fixed_one(
    tmp_path: Path, before_and_after
) -> None:
    baseline, new_run, _, list_buckets = before_and_after
    summary_file = tmp_path / "job-summary.md"
    report = tmp_path / "new"
    code, output = _diff(
        new_run, report, "--baseline", str(baseline), env={"GITHUB_STEP_SUMMARY": str(summary_file)}
    )
    assert code == 1
    # console
    # (the wrong content type was two findings: the modeled member and the content type family)
    assert "against the baseline" in output and "1 new, 2 fixed" in output
    assert "new: clone: s3.ListBuckets: critical status" in output
    assert "fixed: clone: s3.GetObject: major value at $.ContentType" in output
    assert "gate: clone: 1 operation with new divergences, first s3.ListBuckets" in output
    # report.json
    doc = json.loads((report / "report.json").read_text())
    assert [(f["operation"], f["path"]) for f in doc["baseline"]["new"]] == [
        ("ListBuckets", "$.ResponseMetadata.HTTPStatusCode")
    ]
    assert [(f["operation"], f["path"]) for f in doc["baseline"]["fixed"]] == [
        ("GetObject", "$.ContentType"),
        ("GetObject", "$.ResponseMetadata.ContentType"),
    ]
    assert doc["gate"]["passed"] is False
    # Markdown, also appended to the GitHub job summary
    summary = (report / "summary.md").read_text()
    assert "**Since the baseline: 1 new, 2 fixed**" in summary
    assert "`$.ContentType`" in summary.split("Fixed:")[1]
    assert summary_file.read_text().strip() == summary.strip()
    # JUnit: the new one fails its case, the fixed one is listed on the suite
    root = ET.parse(report / "junit.xml").getroot()
    failure = next(c for c in root.iter("testcase") if c.get("name") == "ListBuckets").find("failure")
    assert failure is not None and f"seq {list_buckets}" in (failure.text or "")
    assert "new: critical status" in (failure.text or "")
    suite_out = root.find("testsuite/system-out")
    assert suite_out is not None and "fixed: s3.GetObject: major value at $.ContentType" in (
        suite_out.text or ""
    )
    # HTML carries both lists for its gate card
    html = (report / "index.html").read_text()
    assert '"fixed":[{"target":"clone","service":"s3","operation":"GetObject"' in html
    # Re-rendered from report.json, the decision and both lists are the same.
    again = CliRunner().invoke(main, ["report", str(report), "--report-dir", str(tmp_path / "again")])
    assert again.exit_code == 1
    assert (tmp_path / "again" / "summary.md").read_text() == summary


def test_only_old_divergences_pass_against_their_baseline(tmp_path: Path, before_and_after) -> None:
    baseline, _, _, _ = before_and_after
    old_run = tmp_path / "old-run"
    code, output = _diff(old_run, tmp_path / "again", "--baseline", str(baseline.parent))
    assert code == 0, output
    assert "0 new, 0 fixed" in output
    root = ET.parse(tmp_path / "again" / "junit.xml").getroot()
    assert root.get("failures") == "0"
    # Still visible, marked as unchanged since the baseline.
    case = next(c for c in root.iter("testcase") if c.get("name") == "GetObject")
    assert "unchanged: major value at $.ContentType" in (case.findtext("system-out") or "")
    doc = json.loads((tmp_path / "again" / "report.json").read_text())
    assert doc["targets"][0]["score"] < 1


def test_known_divergences_stay_visible_do_not_fail_and_stale_ones_are_reported(
    tmp_path: Path, before_and_after
) -> None:
    _, new_run, _, _ = before_and_after
    known = tmp_path / "known.yaml"
    known.write_text(
        "known:\n"
        "  - service: s3\n"
        "    operation: ListBuckets\n"
        "    path: $.ResponseMetadata.HTTPStatusCode\n"
        "    reason: the clone has no ListBuckets yet\n"
        "    issue: https://example.org/clone/issues/7\n"
        "  - service: s3\n"
        "    path: $.ContentType\n"
        "    reason: fixed long ago\n"
    )
    code, output = _diff(new_run, tmp_path / "report", "--known", str(known))
    assert code == 0, output
    assert (
        "known divergences that no longer happen" in output and "s3 $.ContentType (fixed long ago)" in output
    )
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    list_buckets = next(op for op in doc["targets"][0]["operations"] if op["operation"] == "ListBuckets")
    assert list_buckets["verdict"] == "not-implemented"  # still not matching: the score says so
    finding = list_buckets["findings"][0]
    assert (finding["status"], finding["reason"], finding["issue"]) == (
        "known",
        "the clone has no ListBuckets yet",
        "https://example.org/clone/issues/7",
    )
    assert doc["known"]["stale"] == [{"service": "s3", "path": "$.ContentType", "reason": "fixed long ago"}]
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "known (https://example.org/clone/issues/7)" in summary and "no longer happen" in summary
    root = ET.parse(tmp_path / "report" / "junit.xml").getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == "ListBuckets")
    assert case.find("failure") is None
    assert "known: critical status" in (case.findtext("system-out") or "")


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("known: {}", "needs a top-level 'known:' list"),
        ("known:\n  - path: $.A\n", "'reason' is required"),
        ("known:\n  - path: $.A[\n    reason: r\n", "entry 1"),
        ("known:\n  - path: $.A\n    reason: r\n    colour: red\n", "unknown key 'colour'"),
    ],
)
def test_a_bad_known_file_is_one_sentence_and_exit_2(
    tmp_path: Path, moto_pair, text: str, sentence: str
) -> None:
    run_dir = _run(tmp_path, "run", moto_pair, {})
    known = tmp_path / "known.yaml"
    known.write_text(text)
    code, output = _diff(run_dir, tmp_path / "report", "--known", str(known))
    assert code == 2 and sentence in output and "Traceback" not in output


def test_fail_under_per_service_and_target_names_what_fell_short(tmp_path: Path, before_and_after) -> None:
    _, new_run, _, _ = before_and_after
    doc_path = tmp_path / "r1" / "report.json"
    code, output = _diff(new_run, tmp_path / "r1", "--fail-under", "s3=100%")
    assert code == 1
    doc = json.loads(doc_path.read_text())
    s3 = next(row for row in doc["targets"][0]["services"] if row["service"] == "s3")
    assert s3["score"] < 1
    assert "gate: clone/s3: score" in output and "(--fail-under s3=1)" in output
    # Re-rendering the report applies the same thresholds: the same decision, the same reason.
    again = CliRunner().invoke(main, ["report", str(tmp_path / "r1"), "--report-dir", str(tmp_path / "r1b")])
    assert again.exit_code == 1 and "gate: clone/s3: score" in again.output
    # Other services are not held to a service threshold.
    dynamodb_only = _diff(new_run, tmp_path / "r2", "--fail-under", "dynamodb=1.0")
    assert dynamodb_only[0] == 0, dynamodb_only[1]
    assert _diff(new_run, tmp_path / "r3", "--fail-under", "clone/s3=0.5")[0] == 0
    assert _diff(new_run, tmp_path / "r4", "--fail-under", "clone=50%", "--fail-under", "s3=0.5")[0] == 0
    code, output = _diff(new_run, tmp_path / "r5", "--fail-under", "clone=99.9%")
    assert code == 1 and "gate: clone: score" in output


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        ("1.5", "between 0 and 1"),
        ("ninety", "is not a score"),
        ("nosuch=0.9", "'nosuch' is neither a target (clone) nor a service"),
        ("a/b/c=0.9", "TARGET/SERVICE"),
        ("other/s3=0.9", "no target 'other'"),
    ],
)
def test_a_bad_fail_under_is_one_sentence_and_exit_2(
    tmp_path: Path, moto_pair, value: str, sentence: str
) -> None:
    run_dir = _run(tmp_path, "run", moto_pair, {})
    code, output = _diff(run_dir, tmp_path / "report", "--fail-under", value)
    assert code == 2, output
    assert sentence in output and "Traceback" not in output


def test_without_a_terminal_progress_is_a_line_every_few_seconds(tmp_path: Path, moto_pair) -> None:
    run_dir = _run(tmp_path, "run", moto_pair, {})
    code, output = _diff(run_dir, tmp_path / "report")
    assert code == 0
    total = len(moto_pair[0])
    assert f"compared {total}/{total} exchanges" in output

    class Log:
        is_terminal = False
        lines: list[str] = []

        def print(self, text: str, markup: bool = False) -> None:
            self.lines.append(text)

    now = [0.0]
    log = Log()
    progress = ProgressLines(log, total=100, verb="compared", interval=5.0, clock=lambda: now[0])
    for step in range(1, 11):
        now[0] = step * 1.0  # one second per ten exchanges: a line every five
        progress.advance(10)
    assert [line.split(" (")[0] for line in log.lines] == [
        "compared 50/100 exchanges",
        "compared 100/100 exchanges",
    ]


def test_compare_checks_the_gate_options_before_replaying(tmp_path: Path, moto_pair) -> None:
    recording = write_recording(tmp_path / "rec.jsonl", moto_pair[0])
    report = tmp_path / "report"
    outcome = CliRunner().invoke(
        main,
        [
            "compare",
            str(recording),
            "--target",
            "x=http://127.0.0.1:9",
            "--report-dir",
            str(report),
            "--fail-under",
            "ninety",
        ],
    )
    assert outcome.exit_code == 2 and "is not a score" in outcome.output
    assert not (report / "run").exists()  # nothing was replayed


def test_compare_in_a_ci_log_prints_progress_lines_and_fills_the_job_summary(
    tmp_path: Path, moto_pair
) -> None:
    import os

    import goldenlib

    from compat_diff.testing import run_cli

    recording = write_recording(tmp_path / "rec.jsonl", moto_pair[0])
    total = len(moto_pair[0])
    summary = tmp_path / "job-summary.md"
    with goldenlib.moto_server() as url:
        result = run_cli(
            "compare",
            str(recording),
            "--target",
            f"fresh={url}",
            "--report-dir",
            str(tmp_path / "report"),
            "--fail-under",
            "0",
            env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
            timeout=180,
        )
    assert result.returncode == 0, result.stderr
    # Not a terminal: plain lines instead of a bar, the last one at the end of each stage.
    assert f"fresh: replayed {total}/{total}" in result.stderr
    assert f"compared {total}/{total} exchanges" in result.stdout
    assert "## compat-diff report" in summary.read_text()
