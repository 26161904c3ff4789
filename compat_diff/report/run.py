"""``compat-diff report``: re-render every report file from a report.json (or a report or run
directory) without replaying or re-diffing anything."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compat_diff.errors import InputError
from compat_diff.model import ExitStatus
from compat_diff.report import write_reports
from compat_diff.report.document import load_result
from compat_diff.report.result import format_score
from compat_diff.report.tests import build_tests_view


def run_report(source: Path, report_dir: Path, console: Any, environ: Mapping[str, str] | None = None) -> int:
    """Render ``source`` into ``report_dir``; the exit status is the result's gate (spec section 1),
    with the thresholds, baseline and known divergences the report was made with.

    ``source`` is a report.json, a directory holding one, or a run directory (run.json without a
    report.json), which is diffed first with the default rules.
    """
    if not source.exists():
        raise InputError(f"{source} does not exist.")
    if source.is_dir():
        if (source / "report.json").is_file():
            source = source / "report.json"
        elif (source / "run.json").is_file():
            return _diff_run(source, report_dir, console, environ)
        else:
            raise InputError(f"{source} holds neither a report.json nor a run.json: nothing to render.")
    elif source.name == "run.json":
        return _diff_run(source.parent, report_dir, console, environ)
    result = load_result(source)
    if not result.targets:
        raise InputError(f"{source} holds no targets: the run it came from compared nothing.")
    details = source.with_name("details.jsonl")
    tests = build_tests_view(Path(str(result.recording.get("path") or "")), details)
    written = write_reports(
        result, report_dir, details if details.is_file() else None, environ=environ, tests=tests
    )
    for target in result.targets:
        console.print(
            f"{target.name}: {format_score(target.score)} compatible "
            f"({target.matching} of {target.compared} compared exchanges match)",
            markup=False,
        )
    gate = result.gate
    for reason in gate.reasons:
        console.print(f"gate: {reason}", markup=False)
    console.print(f"wrote {', '.join(path.name for path in written)} to {report_dir}", markup=False)
    return ExitStatus.OK if gate.passed else ExitStatus.DIVERGED


def _diff_run(run_dir: Path, report_dir: Path, console: Any, environ: Mapping[str, str] | None) -> int:
    # Imported here: the diff stage pulls in botocore and deepdiff, which re-rendering a
    # report.json never needs.
    from compat_diff.compare.run import run_diff

    return int(
        run_diff(
            run_dir=run_dir,
            report_dir=report_dir,
            normalizer_paths=[],
            default_rules=True,
            fail_under=None,
            console=console,
            environ=environ,
        )
    )
