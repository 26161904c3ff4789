"""The run directory's format (docs/formats.md, "Run directories"), beside the recording's: its
identity and version, the migrations of run.json, the blob folder of an answers file and how one
line of answers.jsonl decodes. The replay writes it and the diff reads it through this module
only, so the two never disagree about a name or a version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compat_diff.errors import InputError
from compat_diff.model import HttpRequest, HttpResponse
from compat_diff.recording.codec import decode_request, decode_response
from compat_diff.recording.format import blob_dir_for

RUN_FORMAT = "compat-diff/run"
RUN_VERSION = 2

# Each entry upgrades a run.json header from version N to N+1; readers apply the chain in order.
RunMigration = Callable[[dict[str, Any]], dict[str, Any]]


def _run_v1_to_v2(header: dict[str, Any]) -> dict[str, Any]:
    # Version 2 answers may write a header name or value as {"base64": ...} (bytes that are not
    # UTF-8), as recordings do from their version 2; version-1 answers hold plain strings only.
    return header


RUN_MIGRATIONS: dict[int, RunMigration] = {1: _run_v1_to_v2}


def migrate_run_header(header: dict[str, Any], origin: str) -> dict[str, Any]:
    """A run.json header of any version this compat-diff knows, upgraded to ``RUN_VERSION``."""
    if header.get("format") != RUN_FORMAT:
        raise InputError(f"{origin} is not a compat-diff run header (format {RUN_FORMAT!r} expected).")
    version = header.get("version")
    if not isinstance(version, int) or version < 1 or version > RUN_VERSION:
        raise InputError(f"{origin} has version {version!r}; this compat-diff reads version {RUN_VERSION}.")
    while version < RUN_VERSION:
        header = RUN_MIGRATIONS[version](header)
        version += 1
        header["version"] = version
    return header


def answers_blob_dir(answers: Path) -> Path:
    """Where the bodies of an answers.jsonl live: named like a recording's blob folder."""
    return blob_dir_for(answers)


@dataclass(frozen=True, slots=True)
class Answer:
    """One line of ``answers.jsonl`` as read: what a candidate did with one recorded exchange."""

    seq: int
    outcome: str
    request: HttpRequest | None = None
    response: HttpResponse | None = None
    error: dict[str, Any] | None = None
    skipped: str | None = None
    duration_ms: float = 0.0
    broken_dependencies: tuple[dict[str, Any], ...] = ()


def decode_answer(obj: dict[str, Any], blob_dir: Path | None) -> Answer:
    request = obj.get("request")
    response = obj.get("response")
    outcome = str(obj.get("outcome") or ("answered" if response else "transport"))
    return Answer(
        seq=int(obj["seq"]),
        outcome=outcome,
        request=decode_request(request, blob_dir) if isinstance(request, dict) else None,
        response=decode_response(response, blob_dir) if isinstance(response, dict) else None,
        error=obj.get("error") if isinstance(obj.get("error"), dict) else None,
        skipped=obj.get("skipped"),
        duration_ms=float(obj.get("duration_ms") or 0.0),
        broken_dependencies=tuple(d for d in obj.get("broken_dependencies") or () if isinstance(d, dict)),
    )
