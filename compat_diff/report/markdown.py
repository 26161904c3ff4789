"""summary.md: a short Markdown table for a pull-request comment: each target's score, its
per-service scores and the divergences that matter most."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from compat_diff.report.document import SEVERITIES, format_score, score_of, services_of, severity_counts

TOP_DIVERGENCES = 10
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def _cell(value: Any) -> str:
    """Table cells must not break the table: pipes and newlines are escaped, long values cut."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return text if len(text) <= 60 else text[:59] + "…"


def top_divergences(doc: dict[str, Any], limit: int = TOP_DIVERGENCES) -> list[tuple[tuple[str, ...], int]]:
    """The most important divergence patterns: worst severity first, then the most frequent.

    A pattern is (severity, target, service, operation, kind, path): one line per fixable problem
    rather than one per exchange.
    """
    patterns: Counter[tuple[str, ...]] = Counter()
    for target in doc["targets"]:
        for operation in target.get("operations", []):
            for divergence in operation.get("divergences", []):
                patterns[(str(divergence.get("severity")), target["name"], str(operation.get("service")),
                          str(operation.get("operation")), str(divergence.get("kind")),
                          str(divergence.get("path")))] += 1
    ranked = sorted(patterns.items(), key=lambda item: (SEVERITY_RANK.get(item[0][0], 9), -item[1], item[0]))
    return ranked[:limit]


def render_summary(doc: dict[str, Any]) -> str:
    targets = doc["targets"]
    services = sorted({row["service"] for target in targets for row in services_of(target)})
    recording = doc.get("recording") or {}
    reference = (recording.get("header") or {}).get("reference")
    lines = ["## compat-diff report", ""]
    lines.append(f"{recording.get('exchanges', '?')} recorded exchanges"
                 + (f" against {_cell(reference)}" if reference else "")
                 + f", {len(targets)} target{'s' if len(targets) != 1 else ''}.")
    lines.append("")
    header = ["Target", "Score", *(f"`{_cell(s)}`" for s in services), "Critical", "Major", "Minor"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join([":---", "---:", *(["---:"] * len(services)), "---:", "---:", "---:"]) + "|")
    for target in targets:
        by_service = {row["service"]: score_of(row) for row in services_of(target)}
        severities = severity_counts(target)
        row = [f"**{_cell(target['name'])}**", f"**{format_score(score_of(target))}**",
               *(format_score(by_service[s]) if s in by_service else "-" for s in services),
               *(str(severities[s]) for s in SEVERITIES)]
        lines.append("| " + " | ".join(row) + " |")
    top = top_divergences(doc)
    if top:
        lines += ["", "<details><summary>Top divergences</summary>", "",
                  "| Severity | Target | Operation | Kind | Path | Count |",
                  "|:---|:---|:---|:---|:---|---:|"]
        for (severity, target_name, service, operation, kind, path), count in top:
            lines.append(f"| {severity} | {_cell(target_name)} | {_cell(service)}.{_cell(operation)} "
                         f"| {kind} | `{_cell(path)}` | {count} |")
        lines += ["", "</details>"]
    else:
        lines += ["", "No divergences."]
    lines.append("")
    return "\n".join(lines)


def write_summary(doc: dict[str, Any], path: Path) -> Path:
    path.write_text(render_summary(doc), encoding="utf-8")
    return path
