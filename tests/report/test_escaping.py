"""Text that comes from a recording, a report.json or a target name is data in summary.md and
junit.xml: it cannot add table columns or rows, close a code span, inject HTML, or make the XML
unreadable. Rendered by the real command (`python -m compat_diff report`) from a crafted report.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import orjson

from compat_diff.testing import run_cli
from tests.report.sample import sample_report

EVIL = "a|b`c\n| x | y |\r<script>alert(1)</script>\x00\x01\x1b[31m*bold* [link](http://e) &amp;"


def _crafted(tmp_path: Path) -> Path:
    doc, _ = sample_report()
    doc["recording"]["header"]["reference"] = EVIL
    target = doc["targets"][0]
    target["name"] = "swift" + EVIL
    for op in target["operations"]:
        op["operation"] = op["operation"] + EVIL
        for divergence in op["divergences"]:
            divergence["path"] = divergence["path"] + EVIL
            divergence["message"] = EVIL
            divergence["candidate"] = EVIL
    path = tmp_path / "report.json"
    path.write_bytes(orjson.dumps(doc))
    return path


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_summary_and_junit_keep_crafted_text_as_data(tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = run_cli("report", str(_crafted(tmp_path)), "--report-dir", str(report))
    assert result.returncode in (0, 1), result.stderr

    summary = (report / "summary.md").read_text()
    # Outside code spans (which show their text as it is) markup is escaped.
    outside_code = re.sub(r"`[^`]*`", "", summary)
    assert "<script>" not in outside_code and "&lt;script&gt;" in outside_code
    assert not re.search(r"[\x00-\x08\x0b-\x1f]", summary)
    header = 0
    for line in summary.splitlines():
        if line.startswith("|"):
            # Every row of a table has as many cell separators as its header.
            columns = _unescaped_pipes(line)
            if line.startswith(("| Target", "| Severity")):
                header = columns
            assert columns == header, line
            # Code spans open and close within the row.
            assert line.count("`") % 2 == 0, line
        else:
            assert "| x | y |" not in line, "crafted text started a table row of its own"
    assert r"\[link\]" in summary and r"\*bold\*" in summary

    root = ET.parse(report / "junit.xml").getroot()  # the file stays well-formed XML
    text = ET.tostring(root, encoding="unicode")
    assert "<script>" in "".join(root.itertext()) + "".join(
        value for element in root.iter() for value in element.attrib.values()
    )
    assert "\x1b" not in text and "\x00" not in text and "\ufffd" in text
