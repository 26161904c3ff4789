"""The report document (docs/formats.md): its identity, validation and loading from disk.

Every writer reads this one dict; this module is where a document from another tool, another
version or a damaged file is refused with one sentence before any writer sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from compat_diff.errors import InputError

FORMAT = "compat-diff/report"
VERSION = 1

VERDICTS = ("match", "diverges", "not-implemented", "error", "skipped")
SEVERITIES = ("critical", "major", "minor")


def validate_document(doc: Any, origin: str) -> dict[str, Any]:
    """Check the keys every writer relies on; ``origin`` names the input in the error sentence."""
    if not isinstance(doc, dict):
        raise InputError(f"{origin} is not a compat-diff report (expected a JSON object).")
    if doc.get("format") != FORMAT:
        raise InputError(f"{origin} is not a compat-diff report (format is {doc.get('format')!r}, "
                         f"expected {FORMAT!r}).")
    version = doc.get("version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise InputError(f"{origin} is a report of version {version!r}; this compat-diff reads version "
                         f"{VERSION} (upgrade compat-diff to read newer reports).")
    targets = doc.get("targets")
    if not isinstance(targets, list):
        raise InputError(f"{origin} has no 'targets' list.")
    for index, target in enumerate(targets):
        if not isinstance(target, dict) or not isinstance(target.get("name"), str):
            raise InputError(f"{origin}: target #{index + 1} has no name.")
        if not isinstance(target.get("operations", []), list):
            raise InputError(f"{origin}: target {target['name']!r} has 'operations' that are not a list.")
    return doc


def load_document(path: Path) -> dict[str, Any]:
    """Read and validate a report.json."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a report.json.") from None
    except OSError as error:
        raise InputError(f"{path} cannot be read: {error.strerror}.") from None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON ({error}).") from None
    return validate_document(doc, origin=str(path))


def iter_details(path: Path) -> Iterator[dict[str, Any]]:
    """Stream details.jsonl; a damaged line (e.g. a truncated last line) is skipped, not fatal,
    because the exchange view is evidence on top of the report, not the report itself."""
    with path.open("rb") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record


def score_of(entry: dict[str, Any]) -> float | None:
    """A target's, service's or operation's score, derived from its counts when the key is absent."""
    score = entry.get("score")
    if isinstance(score, int | float):
        return float(score)
    if "score" in entry:
        return None  # an explicit null: nothing was compared (e.g. every exchange skipped)
    exchanges = entry.get("exchanges")
    matching = entry.get("matching")
    if isinstance(exchanges, int) and isinstance(matching, int) and exchanges > 0:
        return matching / exchanges
    return None


def services_of(target: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-service rows of a target: the document's own when present, else summed from operations."""
    given = target.get("services")
    if isinstance(given, list) and given:
        return given
    rows: dict[str, dict[str, Any]] = {}
    for operation in target.get("operations", []):
        name = operation.get("service") or "unknown"
        row = rows.setdefault(name, {"service": name, "exchanges": 0, "matching": 0, "operations": 0})
        row["exchanges"] += int(operation.get("exchanges") or 0)
        row["matching"] += int(operation.get("matching") or 0)
        row["operations"] += 1
    for row in rows.values():
        row["score"] = row["matching"] / row["exchanges"] if row["exchanges"] else None
    return sorted(rows.values(), key=lambda row: row["service"])


def verdict_counts(target: dict[str, Any]) -> dict[str, int]:
    given = target.get("verdicts")
    if isinstance(given, dict):
        return {verdict: int(given.get(verdict, 0)) for verdict in VERDICTS}
    counts = dict.fromkeys(VERDICTS, 0)
    for operation in target.get("operations", []):
        verdict = operation.get("verdict")
        if verdict in counts:
            counts[verdict] += 1
    return counts


def severity_counts(target: dict[str, Any]) -> dict[str, int]:
    given = target.get("severities")
    if isinstance(given, dict):
        return {severity: int(given.get(severity, 0)) for severity in SEVERITIES}
    counts = dict.fromkeys(SEVERITIES, 0)
    for operation in target.get("operations", []):
        for divergence in operation.get("divergences", []):
            severity = divergence.get("severity")
            if severity in counts:
                counts[severity] += 1
    return counts


def format_score(score: float | None) -> str:
    """A score as users read it: a whole percent, except never rounding a near-miss up to 100%."""
    if score is None:
        return "n/a"
    percent = score * 100
    if percent < 100 and round(percent) == 100:
        return "99%"
    return f"{round(percent)}%"
