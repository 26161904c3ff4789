"""Reading a run directory (docs/formats.md) without holding it in memory.

``answers.jsonl`` is written in completion order, not in seq order, so it is indexed once by seq
to a byte offset; workers then seek to the answers they need. The recording is indexed the same
way so each worker streams its own slice of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from compat_diff.errors import InputError, RecordingError
from compat_diff.recording import decode_exchange, open_recording
from compat_diff.recording.format import duplicate_seq_message
from compat_diff.recording.runformat import (
    RUN_FORMAT,
    RUN_VERSION,
    Answer,
    answers_blob_dir,
    check_target_name,
    decode_answer,
    migrate_run_header,
)

# The digits after "seq": (spaces or a stray '-' before them are skipped, as they always were).
_SEQ_DIGITS = re.compile(rb"[ -]*([0-9]+)")


@dataclass
class RunInfo:
    """``run.json`` read and checked."""

    path: Path
    header: dict[str, Any]
    recording: Path
    targets: list[dict[str, Any]] = field(default_factory=list)
    # The version the run was written in (its answers.jsonl lines migrate from it as they are read).
    version: int = RUN_VERSION

    def answers_path(self, target: str) -> Path:
        return self.path / "targets" / target / "answers.jsonl"


def read_run(run_dir: Path) -> RunInfo:
    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is not a run directory (it does not exist or is not a folder).")
    head_path = run_dir / "run.json"
    try:
        header = orjson.loads(head_path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{run_dir} is not a run directory: run.json is missing.") from None
    except orjson.JSONDecodeError as error:
        raise InputError(f"{head_path} is not valid JSON ({error}).") from None
    if not isinstance(header, dict):
        raise InputError(f"{head_path} is not a compat-diff run header (format {RUN_FORMAT!r} expected).")
    written = header.get("version")
    header = migrate_run_header(header, str(head_path))
    recording = (header.get("recording") or {}).get("path")
    if not recording:
        raise InputError(f"{head_path} does not name its recording.")
    recording_path = Path(recording)
    if not recording_path.is_absolute():
        recording_path = (run_dir / recording_path).resolve()
    if not recording_path.exists():
        raise RecordingError(f"the recording {recording_path} named by {head_path} does not exist.")
    targets = [t for t in header.get("targets") or [] if isinstance(t, dict) and t.get("name")]
    if not targets:
        raise InputError(f"{head_path} lists no targets.")
    for target in targets:
        # The name becomes a folder under targets/: a crafted run.json must not reach outside it.
        try:
            check_target_name(target["name"])
        except ValueError as error:
            raise InputError(f"{head_path}: {error}.") from None
    return RunInfo(
        path=run_dir,
        header=header,
        recording=recording_path,
        targets=targets,
        version=written if isinstance(written, int) else RUN_VERSION,
    )


def index_lines(path: Path, skip_header: bool = False, *, unique: bool = False) -> dict[int, int]:
    """seq -> byte offset of its line; only the ``seq`` key is decoded cheaply per line.

    With ``unique`` (a recording), two lines with one seq raise :class:`RecordingError` naming
    both lines: keeping either would drop the other exchange without a word.
    """
    index: dict[int, int] = {}
    lines: dict[int, int] = {}
    with path.open("rb") as handle:
        offset = 0
        number = 1
        if skip_header:
            offset = len(handle.readline())
            number = 2
        for raw in handle:
            seq = _seq_of(raw)
            if seq is not None:
                if unique and seq in index:
                    raise RecordingError(duplicate_seq_message(path, seq, lines[seq], number))
                index[seq] = offset
                lines[seq] = number
            offset += len(raw)
            number += 1
    return index


def _seq_of(raw: bytes) -> int | None:
    # Lines start with {"seq": N ... as both writers put seq first; fall back to a full decode.
    start = raw.find(b'"seq":')
    if 0 <= start < 16:
        found = _SEQ_DIGITS.match(raw, start + 6, start + 40)
        if found:
            return int(found.group(1))
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    seq = obj.get("seq") if isinstance(obj, dict) else None
    return seq if isinstance(seq, int) else None


def read_line_at(handle: IO[bytes], offset: int) -> dict[str, Any] | None:
    handle.seek(offset)
    raw = handle.readline()
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


__all__ = [
    "RUN_FORMAT",
    "RUN_VERSION",
    "Answer",
    "RunInfo",
    "answers_blob_dir",
    "decode_answer",
    "decode_exchange",
    "index_lines",
    "open_recording",
    "read_line_at",
    "read_run",
]
