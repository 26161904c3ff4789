"""The small writers: junit.xml, summary.md and the badges, read back the way their consumers read them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest

from compat_diff.report import write_reports
from compat_diff.report.badge import badge_colour, badge_filename, render_badge
from compat_diff.report.document import format_score
from compat_diff.report.markdown import render_summary, top_divergences
from compat_diff.report.result import RunResult
from tests.report.sample import XSS, sample_report, write_details


@pytest.fixture
def written(tmp_path: Path) -> Path:
    doc, details = sample_report()
    write_reports(doc, tmp_path / "report", write_details(details, tmp_path / "details.jsonl"))
    return tmp_path / "report"


def test_every_file_is_written_and_report_json_round_trips(written: Path) -> None:
    names = sorted(path.name for path in written.iterdir())
    assert names == [
        "badge-rclone.svg",
        "badge-swift.svg",
        "details.jsonl",
        "index.html",
        "junit.xml",
        "report.json",
        "summary.md",
    ]
    doc, _ = sample_report()
    written_doc = orjson.loads((written / "report.json").read_bytes())
    assert RunResult.from_json(written_doc) == RunResult.from_json(doc)
    # The documented shape (spec section 4) is kept: more keys, none taken away.
    for written_target, target in zip(written_doc["targets"], doc["targets"], strict=True):
        assert set(target) <= set(written_target)
        for written_op, op in zip(written_target["operations"], sorted(
                target["operations"], key=lambda o: (o["service"], o["operation"])), strict=True):
            assert set(op) <= set(written_op)
            spec_keys = ("service", "operation", "exchanges", "matching", "verdict")
            assert {k: written_op[k] for k in spec_keys} == {k: op[k] for k in spec_keys}
    assert (written / "report.json").read_text().startswith('{\n  "format": "compat-diff/report"')


def test_details_already_in_the_report_dir_is_left_alone(tmp_path: Path) -> None:
    doc, details = sample_report()
    path = write_details(details, tmp_path / "details.jsonl")
    written = write_reports(doc, tmp_path, path)
    assert path in written
    assert path.read_bytes().count(b"\n") == len(details)


def test_junit_has_one_case_per_target_service_and_operation(written: Path) -> None:
    root = ET.parse(written / "junit.xml").getroot()
    cases = {(case.get("classname"), case.get("name")): case for case in root.iter("testcase")}
    assert set(cases) == {
        ("swift.s3", "ListBuckets"),
        ("swift.s3", "GetObject"),
        ("swift.ec2", "DescribeInstances"),
        ("swift.ec2", "RunInstances"),
        ("swift.s3", "DeleteBucket"),
        ("rclone.s3", "ListBuckets"),
        ("rclone.s3", "GetObject"),
    }
    assert root.get("tests") == "7" and root.get("failures") == "3" and root.get("skipped") == "1"
    failure = cases[("swift.s3", "GetObject")].find("failure")
    assert failure is not None
    # The message names the top divergence, with both sides as JSON (not Python reprs).
    message = failure.get("message", "")
    assert "1 of 1 compared exchanges diverge" in message
    top = 'top: major value at $.ContentType: reference "text/plain", candidate "application/octet-stream"'
    assert top in message
    assert "major value at $.ContentType" in (failure.text or "")
    assert "'text/plain'" not in (failure.text or "")
    assert "minor missing at $.Metadata['owner.team']" in (failure.text or "")
    not_implemented = cases[("swift.ec2", "RunInstances")].find("failure")
    assert not_implemented is not None and not_implemented.get("type") == "not-implemented"
    assert cases[("swift.s3", "DeleteBucket")].find("skipped") is not None
    assert list(cases[("rclone.s3", "GetObject")]) == []
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert suites["compat-diff swift"].get("failures") == "3"
    assert suites["compat-diff rclone"].get("failures") == "0"


def test_junit_minor_only_divergences_pass_but_stay_visible(tmp_path: Path) -> None:
    doc, _ = sample_report()
    operation = doc["targets"][1]["operations"][0]
    operation["divergences"] = [
        {
            "seq": 1,
            "kind": "header",
            "severity": "minor",
            "path": "$.ResponseMetadata.HTTPHeaders.server",
            "reference": "AmazonS3",
            "candidate": "rclone",
        }
    ]
    write_reports(doc, tmp_path)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    case = next(
        c
        for c in root.iter("testcase")
        if c.get("classname") == "rclone.s3" and c.get("name") == "ListBuckets"
    )
    assert case.find("failure") is None
    out = case.find("system-out")
    assert out is not None and "HTTPHeaders.server" in (out.text or "")


def test_junit_error_verdict_is_an_error(tmp_path: Path) -> None:
    doc, _ = sample_report()
    doc["targets"][1]["operations"][1]["verdict"] = "error"
    doc["targets"][1]["operations"][1]["matching"] = 0
    write_reports(doc, tmp_path)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert root.get("errors") == "1"


def test_summary_lists_scores_per_service_and_top_divergences(written: Path) -> None:
    text = (written / "summary.md").read_text()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| Target"))
    assert header == "| Target | Score | `ec2` | `s3` | Critical | Major | Minor |"
    assert "| **swift** | **25%** | 0% | 50% | 2 | 1 | 1 |" in lines
    assert "| **rclone** | **100%** | - | 100% | 0 | 0 | 0 |" in lines
    assert "against moto 5.0 (stand-in for AWS)" in text
    top = [line for line in lines if line.startswith("| critical") or line.startswith("| major")]
    assert top[0].startswith("| critical")
    assert any("s3.GetObject | value | `$.ContentType` | 1 |" in line for line in top)


def test_summary_cells_cannot_break_the_table() -> None:
    doc, _ = sample_report()
    doc["targets"][0]["operations"][1]["divergences"][0]["path"] = "$.A|B\nC"
    text = render_summary(RunResult.from_json(doc))
    row = next(line for line in text.splitlines() if "s3.GetObject | value" in line)
    assert "`$.A\\|B C`" in row
    assert row.count(" | ") == 5


def test_top_divergences_orders_by_severity_then_frequency() -> None:
    doc, _ = sample_report()
    ranked = [ref.finding.severity for ref in top_divergences(RunResult.from_json(doc))]
    assert ranked == ["critical", "critical", "major", "minor"]


def test_summary_without_divergences_says_so(tmp_path: Path) -> None:
    doc, _ = sample_report()
    doc["targets"] = doc["targets"][1:]
    assert "No divergences." in render_summary(RunResult.from_json(doc))


@pytest.mark.parametrize(
    ("score", "colour"),
    [
        (1.0, "green"),
        (0.95, "green"),
        (0.949, "yellow"),
        (0.8, "yellow"),
        (0.79, "orange"),
        (0.5, "orange"),
        (0.49, "red"),
        (0.0, "red"),
        (None, "lightgrey"),
    ],
)
def test_badge_colour_thresholds(score: float | None, colour: str) -> None:
    assert badge_colour(score) == colour


def test_badge_is_valid_svg_with_label_and_score(written: Path) -> None:
    root = ET.parse(written / "badge-swift.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "compat swift" in texts and "25%" in texts
    fills = [r.get("fill") for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert "#e05d44" in fills  # red: 25% is under 50%
    green = ET.fromstring(render_badge("compat rclone", 1.0))
    assert "#4c1" in [r.get("fill") for r in green.iter("{http://www.w3.org/2000/svg}rect")]


def test_badge_escapes_and_names_safely() -> None:
    svg = render_badge("compat <a&b>", 0.9)
    ET.fromstring(svg)
    assert "<a&b>" not in svg
    assert badge_filename("../evil target") == "badge-.._evil_target.svg"


def test_score_never_rounds_up_to_100() -> None:
    assert format_score(0.999) == "99%"
    assert format_score(1.0) == "100%"
    assert format_score(None) == "n/a"


def test_untrusted_text_stays_inert_in_xml_outputs(written: Path) -> None:
    junit = (written / "junit.xml").read_text()
    ET.fromstring(junit.encode())
    assert "<script>" not in junit
    assert XSS not in junit
