"""``compat-diff report``: re-render every report file from a report.json (or a report or run
directory) without replaying or re-diffing anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compat_diff.errors import InputError
from compat_diff.model import ExitStatus
from compat_diff.report import write_reports
from compat_diff.report.document import format_score, load_document, score_of


def run_report(source: Path, report_dir: Path, console: Any) -> int:
    """Render ``source`` into ``report_dir``; 0 when no target diverges, 1 otherwise (spec section 1).

    ``source`` is a report.json, a directory holding one, or a run directory (run.json without a
    report.json), which is diffed first with the default rules.
    """
    if not source.exists():
        raise InputError(f"{source} does not exist.")
    if source.is_dir():
        if (source / "report.json").is_file():
            source = source / "report.json"
        elif (source / "run.json").is_file():
            return _diff_run(source, report_dir, console)
        else:
            raise InputError(f"{source} holds neither a report.json nor a run.json: nothing to render.")
    elif source.name == "run.json":
        return _diff_run(source.parent, report_dir, console)
    doc = load_document(source)
    if not doc["targets"]:
        raise InputError(f"{source} holds no targets: the run it came from compared nothing.")
    details = source.with_name("details.jsonl")
    written = write_reports(doc, report_dir, details if details.is_file() else None)
    for target in doc["targets"]:
        console.print(f"{target['name']}: {format_score(score_of(target))} compatible "
                      f"({target.get('matching', '?')} of {target.get('exchanges', '?')} exchanges match)",
                      markup=False)
    console.print(f"wrote {', '.join(path.name for path in written)} to {report_dir}", markup=False)
    diverged = any(_diverges(target) for target in doc["targets"])
    return ExitStatus.DIVERGED if diverged else ExitStatus.OK


def _diverges(target: dict[str, Any]) -> bool:
    score = score_of(target)
    if score is not None and score < 1:
        return True
    failing = ("diverges", "not-implemented", "error")
    return any(op.get("verdict") in failing for op in target.get("operations", []))


def _diff_run(run_dir: Path, report_dir: Path, console: Any) -> int:
    # Imported here: the diff stage pulls in botocore and deepdiff, which re-rendering a
    # report.json never needs.
    from compat_diff.compare.run import run_diff

    return int(run_diff(run_dir=run_dir, report_dir=report_dir, normalizer_paths=[], default_rules=True,
                        fail_under=None, console=console))
