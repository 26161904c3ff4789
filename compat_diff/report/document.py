"""The report document (docs/formats.md): its identity, validation and loading from disk.

Every writer reads the typed result (``report.result``); this module is where a document from
another tool, another version or a damaged file is refused with one sentence before it becomes one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from compat_diff.errors import InputError
from compat_diff.model import SEVERITIES, VERDICTS
from compat_diff.report.result import FORMAT, VERSION, RunResult, format_score


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


def load_result(path: Path) -> RunResult:
    """Read a report.json into the typed result document."""
    return _typed(load_document(path), str(path))


def as_result(doc: RunResult | dict[str, Any], origin: str = "the report document") -> RunResult:
    """The typed result, converting a report.json-shaped dict once at the edge."""
    if isinstance(doc, RunResult):
        return doc
    return _typed(validate_document(doc, origin), origin)


def _typed(doc: dict[str, Any], origin: str) -> RunResult:
    # validate_document checks the frame; a value of the wrong type deeper down (a count that is
    # text, a list that is a number) is the document's fault too, said in one sentence.
    try:
        return RunResult.from_json(doc)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        reason = f"{type(error).__name__}: {error}" if isinstance(error, KeyError) else str(error)
        raise InputError(
            f"{origin} is not a valid compat-diff report (a value has the wrong type: {reason})."
        ) from None


__all__ = ["FORMAT", "SEVERITIES", "VERDICTS", "VERSION", "as_result", "format_score", "iter_details",
           "load_document", "load_result", "validate_document"]
