"""Results per test and error conformance, from a report's details and its recording's sessions."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from compat_diff.report.tests import build, conformance_class, to_json, to_markdown

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from matrix import error_conformance_markdown


def _detail(seq: int, status: int, verdict: str = "match", kinds: tuple[str, ...] = ()) -> dict:
    return {
        "target": "cand",
        "seq": seq,
        "service": "sqs",
        "operation": "SendMessage",
        "verdict": verdict,
        "divergences": [{"kind": kind, "path": "$.x"} for kind in kinds],
        "reference": {"response": {"status": status}},
    }


def test_conformance_classes() -> None:
    assert conformance_class(_detail(1, 200)) is None  # the reference did not refuse it
    assert conformance_class(_detail(1, 400)) == "same-code"
    assert conformance_class(_detail(1, 400, "diverges", ("error-code",))) == "same-status"
    assert conformance_class(_detail(1, 400, "diverges", ("error-code", "status"))) == "different"
    assert conformance_class(_detail(1, 400, "error", ("transport",))) == "different"
    assert conformance_class(_detail(1, 400, "not-run")) == "not-compared"


def test_tests_are_the_recording_sessions_with_their_steps(tmp_path: Path) -> None:
    recording = tmp_path / "r.jsonl"
    lines = [{"format": "compat-diff/recording", "version": 1}]
    for seq, session, step in ((1, "t::a", "setup"), (2, "t::a", "call"), (3, "t::b", "call")):
        lines.append({"seq": seq, "session": session, "notes": {"step": step}})
    recording.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    details = tmp_path / "details.jsonl"
    rows = [_detail(1, 200), _detail(2, 400, "diverges", ("status",)), _detail(3, 404)]
    details.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    view = build(recording, details)
    assert view.named
    doc = to_json(view)
    tests = {t["test"]: t for t in doc["targets"][0]["tests"]}
    assert tests["t::a"]["verdict"] == "diverges" and tests["t::a"]["matching"] == 1
    assert tests["t::a"]["diverging"][0]["step"] == "call"
    assert [(s["step"], s["verdict"], s["matching"]) for s in tests["t::a"]["steps"]] == [
        ("setup", "match", 1),
        ("call", "diverges", 0),
    ]
    assert tests["t::b"]["verdict"] == "match"
    assert doc["targets"][0]["error_conformance"]["total"] == {
        "same-code": 1,
        "same-status": 0,
        "different": 1,
        "not-compared": 0,
    }
    markdown = to_markdown(view)
    assert "1 of 2 tests match" in markdown and "`t::a`" in markdown
    table = "\n".join(error_conformance_markdown(doc))
    assert "| cand | 2 | 1 (50%) | 0 (0%) | 1 (50%) |" in table


def test_a_test_verdict_is_its_worst_exchange_and_unnamed_sessions_are_not_tests(tmp_path: Path) -> None:
    recording = tmp_path / "r.jsonl"
    lines = [{"format": "compat-diff/recording", "version": 1}]
    lines += [{"seq": seq, "session": "main", "notes": {}} for seq in (1, 2, 3)]
    recording.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    details = tmp_path / "details.jsonl"
    rows = [_detail(1, 200), _detail(2, 200, "error", ("transport",)), _detail(3, 200, "not-run")]
    details.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    view = build(recording, details)
    assert not view.named  # one session the recorder was given, no test named by a control request
    (test,) = to_json(view)["targets"][0]["tests"]
    assert (test["verdict"], test["exchanges"], test["compared"], test["matching"]) == ("error", 3, 2, 1)


def test_a_hostile_test_id_stays_inside_its_row_of_tests_md(tmp_path: Path) -> None:
    hostile = "t::x[`a|b`\n| y | z |]"
    recording = tmp_path / "r.jsonl"
    lines = [
        {"format": "compat-diff/recording", "version": 1},
        {"seq": 1, "session": hostile, "notes": {"step": "call"}},
    ]
    recording.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    details = tmp_path / "details.jsonl"
    details.write_text(json.dumps(_detail(1, 200, "diverges", ("value",))) + "\n")
    rows = [line for line in to_markdown(build(recording, details)).splitlines() if line.startswith("| `")]
    assert len(rows) == 1
    # Three cells: every pipe of the id is escaped, and its code span closes in the row.
    assert len(re.findall(r"(?<!\\)\|", rows[0])) == 4 and rows[0].count("`") % 2 == 0
