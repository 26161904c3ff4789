"""The report writers: one result document (``report.result.RunResult``), many outputs.

``write_reports`` is the single entry point the diff stage calls; each output format lives in
its own module and reads only the result (and, for the HTML exchange view, details.jsonl).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from compat_diff.report.document import as_result
from compat_diff.report.files import report_directory, write_with
from compat_diff.report.result import RunResult
from compat_diff.report.tests import TestsView

__all__ = ["write_reports"]


def write_reports(
    doc: RunResult | dict[str, Any],
    report_dir: Path,
    details_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    tests: TestsView | None = None,
) -> list[Path]:
    """Write report.json, index.html, junit.xml, summary.md and one badge per target; with
    ``tests`` (the results per test of a test-suite recording), tests.json and tests.md too, and
    the HTML report's per-test section.

    ``details_path`` is a details.jsonl for the HTML exchange view; it is copied into
    ``report_dir`` unless it already lives there. With ``GITHUB_STEP_SUMMARY`` in ``environ``,
    the Markdown summary is appended to the file it names too. Returns the files written,
    report.json first.
    """
    from compat_diff.report.badge import write_badges
    from compat_diff.report.html import write_html
    from compat_diff.report.json_writer import write_json
    from compat_diff.report.junit import write_junit
    from compat_diff.report.markdown import append_step_summary, write_summary
    from compat_diff.report.tests import write_tests

    result = as_result(doc)
    report_directory(report_dir)
    details_in_dir: Path | None = None
    if details_path is not None and details_path.exists():
        details_in_dir = report_dir / "details.jsonl"
        if details_path.resolve() != details_in_dir.resolve():
            write_with(details_in_dir, lambda out: _copy(details_path, out))
    written = [write_json(result, report_dir / "report.json")]
    if details_in_dir is not None:
        written.append(details_in_dir)
    written.append(write_html(result, report_dir / "index.html", details_in_dir, tests))
    if tests is not None:
        written.extend(write_tests(tests, report_dir))
    written.append(write_junit(result, report_dir / "junit.xml"))
    written.append(write_summary(result, report_dir / "summary.md"))
    written.extend(write_badges(result, report_dir))
    if environ is not None:
        append_step_summary(result, environ)
    return written


def _copy(source: Path, out: IO[bytes]) -> None:
    with source.open("rb") as data:
        shutil.copyfileobj(data, out)
