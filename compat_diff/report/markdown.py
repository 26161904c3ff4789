"""summary.md: a short Markdown table for a pull-request comment or a CI job summary: each
target's score, its per-service scores, the gate's decision, what changed since the baseline and
the findings that matter most."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compat_diff.model import SEVERITIES, SEVERITY_ORDER
from compat_diff.report.files import write_file
from compat_diff.report.result import Finding, FindingRef, RunResult, format_score

TOP_DIVERGENCES = 10
LISTED_CHANGES = 20


# Text from a recording, a report.json or a target name is data: Markdown and HTML in it must be
# shown, never interpreted, and nothing in it may end a table row or a code span.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_MARKDOWN = re.compile(r"([\\*_\[\]~|])")


def _one_line(value: Any, limit: int) -> str:
    text = _CONTROL.sub(lambda found: " " if found.group(0) in "\t\n\r" else "\ufffd", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(value: Any, limit: int = 60) -> str:
    """Plain text for a table cell or a sentence: one line, Markdown and HTML escaped, long values cut."""
    # A backtick would open a code span that escapes nothing: it becomes a quote.
    text = _MARKDOWN.sub(r"\\\1", _one_line(value, limit).replace("`", "'"))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code_text(value: Any, limit: int = 60) -> str:
    """Text for inside a code span (which shows HTML and Markdown as they are): one line, no
    backtick to end the span, pipes escaped for the table."""
    return _one_line(value, limit).replace("`", "'").replace("|", "\\|")


def top_divergences(result: RunResult, limit: int = TOP_DIVERGENCES) -> list[FindingRef]:
    """The most important findings: worst severity first, then the most frequent."""
    refs = [
        FindingRef(target.name, op.service, op.operation, finding)
        for target in result.targets
        for op in target.operations
        for finding in op.findings
    ]
    refs.sort(
        key=lambda ref: (
            SEVERITY_ORDER.get(ref.finding.severity, 9),
            -ref.finding.count,
            ref.target,
            ref.service,
            ref.operation,
            ref.finding.path,
        )
    )
    return refs[:limit]


def _status(finding: Finding) -> str:
    if finding.status == "known":
        return "known" + (f" ({_cell(finding.issue)})" if finding.issue else "")
    return _cell(finding.status or "")


def _finding_rows(refs: list[FindingRef], with_status: bool) -> list[str]:
    head = "| Severity | Target | Operation | Kind | Path | Count |" + (" Status |" if with_status else "")
    rule = "|:---|:---|:---|:---|:---|---:|" + (":---|" if with_status else "")
    lines = [head, rule]
    for ref in refs:
        finding = ref.finding
        row = (
            f"| {_cell(finding.severity)} | {_cell(ref.target)} "
            f"| {_cell(ref.service)}.{_cell(ref.operation)} | {_cell(finding.kind)} "
            f"| `{code_text(finding.path)}` | {_cell(finding.count)} |"
        )
        lines.append(row + (f" {_status(finding)} |" if with_status else ""))
    return lines


def render_summary(result: RunResult) -> str:
    targets = result.targets
    services = result.services
    recording = result.recording
    reference = (recording.get("header") or {}).get("reference")
    lines = ["## compat-diff report", ""]
    lines.append(
        f"{_cell(recording.get('exchanges', '?'))} recorded exchanges"
        + (f" against {_cell(reference)}" if reference else "")
        + f", {len(targets)} target{'s' if len(targets) != 1 else ''}."
    )
    lines.append("")
    header = ["Target", "Score", *(f"`{code_text(s)}`" for s in services), "Critical", "Major", "Minor"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join([":---", "---:", *(["---:"] * len(services)), "---:", "---:", "---:"]) + "|")
    for target in targets:
        by_service = {row.service: row.score for row in target.services}
        severities = target.severities
        row = [
            f"**{_cell(target.name)}**",
            f"**{format_score(target.score)}**",
            *(format_score(by_service[s]) if s in by_service else "-" for s in services),
            *(str(severities[s]) for s in SEVERITIES),
        ]
        lines.append("| " + " | ".join(row) + " |")
    for warning in (result.run or {}).get("setup_warnings", {}).values():
        lines += ["", f"> **Warning:** {_line(str(warning))}"]
    gate = result.gate
    lines += ["", f"**Gate: {'passed' if gate.passed else 'failed'}**"]
    lines += [f"- {_line(reason)}" for reason in gate.reasons]
    lines += _unscored(targets)
    lines += _changes(result)
    top = top_divergences(result)
    if top:
        lines += ["", "<details><summary>Top divergences</summary>", ""]
        lines += _finding_rows(top, with_status=result.baseline is not None or result.known is not None)
        lines += ["", "</details>"]
    else:
        lines += ["", "No divergences."]
    lines.append("")
    return "\n".join(lines)


# Exchanges a score leaves out, said under the table so a reader knows what the score does not cover.
_UNSCORED = ("not-run", "internal-error", "reference-unparseable")


def _unscored(targets: Any) -> list[str]:
    lines = []
    for target in targets:
        counts = target.verdicts
        parts = [f"{counts[verdict]} {verdict}" for verdict in _UNSCORED if counts.get(verdict)]
        if parts:
            lines.append(f"- {_cell(target.name)}: not scored: {', '.join(parts)}")
    return ["", *lines] if lines else []


def _line(text: str) -> str:
    return _cell(text, limit=300)


def _changes(result: RunResult) -> list[str]:
    lines: list[str] = []
    if result.baseline is not None:
        delta = result.baseline
        lines += ["", f"**Since the baseline: {len(delta.new)} new, {len(delta.fixed)} fixed**"]
        if delta.new:
            lines += ["", "New:", "", *_finding_rows(list(delta.new[:LISTED_CHANGES]), with_status=False)]
        if delta.fixed:
            lines += ["", "Fixed:", "", *_finding_rows(list(delta.fixed[:LISTED_CHANGES]), with_status=False)]
    if result.known is not None:
        lines += ["", f"{result.known.matched} known divergences (not failing the gate)."]
        if result.known.stale:
            lines += ["", "Known divergences that no longer happen (remove them from the file):", ""]
            lines += [f"- {_line(entry.describe())}" for entry in result.known.stale]
    return lines


def write_summary(result: RunResult, path: Path) -> Path:
    return write_file(path, render_summary(result))


def append_step_summary(result: RunResult, environ: Mapping[str, str]) -> Path | None:
    """Append the summary to GitHub Actions' job summary when ``GITHUB_STEP_SUMMARY`` names one."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(render_summary(result) + "\n")
    except OSError:
        # The job summary is a convenience; the report files are the record.
        return None
    return path
