"""Resuming an interrupted replay: what each target already answered, read back from the run.

An interrupted run marks every call it did not send as ``not-run`` (``skipped: "interrupted
..."``). Resuming keeps every other answer line byte for byte, learns the candidate's ids from the
kept answers again (the run ids in run.json keep the names the same), and replays the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from compat_diff.errors import InputError
from compat_diff.model import HttpResponse
from compat_diff.recording.runformat import answers_blob_dir, decode_answer

INTERRUPTED = "interrupted before it was sent"


@dataclass
class Previous:
    """One target's answers from the interrupted run."""

    lines: list[bytes] = field(default_factory=list)
    # seq -> the candidate's answer (None when the call was not answered: skipped, transport ...)
    responses: dict[int, HttpResponse | None] = field(default_factory=dict)


def read_run_header(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    try:
        header = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"--resume {run_dir}: not a run directory (no run.json)") from None
    except (OSError, orjson.JSONDecodeError) as error:
        raise InputError(f"--resume {run_dir}: cannot read run.json: {error}") from None
    if not isinstance(header, dict):
        raise InputError(f"--resume {run_dir}: run.json is not a run description")
    return header


def read_previous(run_dir: Path, target: str) -> Previous:
    answers = run_dir / "targets" / target / "answers.jsonl"
    previous = Previous()
    if not answers.exists():
        return previous
    blob_dir = answers_blob_dir(answers)
    for raw in answers.read_bytes().splitlines():
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue  # a line cut by the interruption: that call is replayed again
        if obj.get("outcome") == "not-run" and str(obj.get("skipped", "")).startswith(INTERRUPTED):
            continue
        answer = decode_answer(obj, blob_dir)
        previous.lines.append(raw)
        previous.responses[answer.seq] = answer.response if answer.outcome == "answered" else None
    return previous
