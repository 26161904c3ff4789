"""One result model: every output agrees on what an operation's exchanges mean.

The case that used to disagree: an operation with one matching and one skipped exchange had
exit status 0 and a 100% score while junit.xml carried a failure for it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner
from rundir import answer_line, policy_for, write_recording, write_run

from compat_diff.cli import main
from compat_diff.model import Exchange
from compat_diff.report.html import render_html
from compat_diff.report.result import RunResult


def _skipped_plus_matching(tmp_path: Path, moto_pair: tuple[list[Exchange], list[Exchange]]) -> Path:
    reference, candidate = moto_pair
    # A second ListBuckets (a fresh seq), which the replay skipped: the operation now has one
    # matching and one skipped exchange.
    again = next(e for e in reference if e.operation == "ListBuckets")
    again = replace(again, seq=max(e.seq for e in reference) + 1)
    recording = write_recording(tmp_path / "rec.jsonl", [*reference, again])
    policy = policy_for(tmp_path / "run" / "targets" / "moto")
    lines = [answer_line(e, c.response, policy) for e, c in zip(reference, candidate, strict=True)]
    lines.append(answer_line(again, None, policy, outcome="skipped", skipped="read-only: skipped"))
    return write_run(tmp_path / "run", recording, {"moto": lines})


def _list_buckets(doc: dict) -> dict:
    return next(op for op in doc["targets"][0]["operations"] if op["operation"] == "ListBuckets")


def test_a_skipped_plus_matching_operation_is_consistent_in_every_output(tmp_path: Path, moto_pair) -> None:
    run_dir = _skipped_plus_matching(tmp_path, moto_pair)
    report = tmp_path / "report"
    summary_file = tmp_path / "step-summary.md"
    outcome = CliRunner().invoke(
        main,
        ["diff", str(run_dir), "--report-dir", str(report)],
        env={"GITHUB_STEP_SUMMARY": str(summary_file)},
    )
    # exit status
    assert outcome.exit_code == 0, outcome.output
    assert "moto: score 100%" in outcome.output
    # report.json
    doc = json.loads((report / "report.json").read_text())
    op = _list_buckets(doc)
    assert (op["exchanges"], op["compared"], op["matching"], op["score"]) == (2, 1, 1, 1.0)
    assert op["verdict"] == "match" and op["verdicts"] == {"match": 1, "skipped": 1}
    assert doc["targets"][0]["score"] == 1.0 and doc["gate"]["passed"] is True
    # junit.xml: no failure for it, and the skipped exchange stays visible
    root = ET.parse(report / "junit.xml").getroot()
    assert root.get("failures") == "0" and root.get("errors") == "0"
    case = next(c for c in root.iter("testcase") if c.get("name") == "ListBuckets")
    assert case.find("failure") is None and case.find("skipped") is None
    assert "1 skipped" in (case.findtext("system-out") or "")
    # summary.md (and the GitHub job summary, which is the same text)
    summary = (report / "summary.md").read_text()
    assert "| **moto** | **100%** |" in summary and "**Gate: passed**" in summary
    assert summary_file.read_text().strip() == summary.strip()
    # badge
    assert ">100%</text>" in next(report.glob("badge-*.svg")).read_text()
    # HTML: the operations table reads the same verdict and counts
    html = (report / "index.html").read_text()
    assert (
        '"operation":"ListBuckets","exchanges":2,"compared":1,"matching":1,"score":1.0,"verdict":"match"'
        in html
    )
    # re-rendering from report.json gives the same exit status
    again = CliRunner().invoke(main, ["report", str(report), "--report-dir", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output


def test_old_reports_read_with_the_same_definitions(tmp_path: Path) -> None:
    """A report.json from before the result model (no per-operation verdict counts) still reads:
    the matching-plus-skipped operation passes in every output rendered from it."""
    old = {
        "format": "compat-diff/report",
        "version": 1,
        "recording": {"path": "rec.jsonl", "exchanges": 2},
        "targets": [
            {
                "name": "old",
                "score": 1.0,
                "exchanges": 2,
                "compared": 1,
                "matching": 1,
                "operations": [
                    {
                        "service": "s3",
                        "operation": "ListBuckets",
                        "exchanges": 2,
                        "compared": 1,
                        "matching": 1,
                        "verdict": "match",
                        "divergences": [],
                    },
                ],
            }
        ],
    }
    result = RunResult.from_json(old)
    op = result.targets[0].operations[0]
    assert (op.exchanges, op.compared, op.matching, op.verdict, op.score) == (2, 1, 1, "match", 1.0)
    assert result.gate.passed
    source = tmp_path / "report.json"
    source.write_text(json.dumps(old))
    outcome = CliRunner().invoke(main, ["report", str(source), "--report-dir", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    root = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    assert root.get("failures") == "0"
    assert "ListBuckets" in render_html(result, None)


def test_unscored_outcomes_are_shown_and_too_large_fails(tmp_path: Path, moto_pair) -> None:
    reference, candidate = moto_pair
    recording = write_recording(tmp_path / "rec.jsonl", reference)
    policy = policy_for(tmp_path / "run" / "targets" / "moto")
    outcomes = ["too-large", "not-run", "reference-unparseable", "internal-error"]
    lines = []
    for index, (exchange, answer) in enumerate(zip(reference, candidate, strict=True)):
        if index < len(outcomes):
            line = answer_line(exchange, None, policy, outcome=outcomes[index])
            line["error"] = {"kind": outcomes[index], "message": "why it was not compared"}
            lines.append(line)
        else:
            lines.append(answer_line(exchange, answer.response, policy))
    run_dir = write_run(tmp_path / "run", recording, {"moto": lines})
    outcome = CliRunner().invoke(main, ["diff", str(run_dir), "--report-dir", str(tmp_path / "report")])
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    target = doc["targets"][0]
    for verdict in outcomes:
        assert target["verdicts"][verdict] == 1
    # A too-large answer is the candidate's: it is compared and fails; the other three are not compared.
    assert target["compared"] == len(reference) - len(outcomes) + 1
    assert target["matching"] == target["compared"] - 1
    assert target["score"] < 1.0
    # An internal error of compat-diff is never the candidate's fault, but the gate does not pass on it.
    assert outcome.exit_code == 1
    assert "internal error of compat-diff" in outcome.output
