"""Writing the run directory (docs/formats.md, "Run directories"): run.json, one answers.jsonl and
one idmap.json per target. Lines are encoded by the run format (``recording.runformat``), so a
candidate's answer is stored exactly like a recorded one, and a body equal to the recorded one is
not stored twice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import orjson

from compat_diff.errors import CannotRun, InputError
from compat_diff.model import Exchange
from compat_diff.recording import BlobStore, BodyPolicy, now_iso
from compat_diff.recording.runformat import (
    RUN_FORMAT,
    RUN_VERSION,
    Answer,
    answers_blob_dir,
    check_target_name,
    encode_answer,
)

__all__ = ["Answer", "RunDirectory", "TargetOutput"]


class TargetOutput:
    """answers.jsonl (appended as answers complete) and idmap.json of one target."""

    def __init__(self, directory: Path, keep: list[bytes] | None = None) -> None:
        self.directory = directory
        answers = directory / "answers.jsonl"
        self.blob_dir = answers_blob_dir(answers)
        self.policy = BodyPolicy(BlobStore(self.blob_dir))
        self._handle: IO[bytes] = _open(answers)
        self.lines = 0
        # Blobs the written lines name: a body spooled while it was read but then found equal to the
        # recorded one is named by no line, and is removed on close.
        self._kept_blobs: set[str] = set()
        # The seqs written so far: an interrupted run marks the others not-run.
        self.seqs: set[int] = set()
        for line in keep or ():
            # A resumed run keeps the answers of the calls that ran before, byte for byte.
            self._handle.write(line.rstrip(b"\n") + b"\n")
            kept = orjson.loads(line)
            self._note_blobs(kept)
            self.seqs.add(int(kept["seq"]))
            self.lines += 1

    def _note_blobs(self, line: dict[str, Any]) -> None:
        for part in (line.get("request"), line.get("response")):
            body = part.get("body") if isinstance(part, dict) else None
            if isinstance(body, dict) and "blob" in body:
                self._kept_blobs.add(str(body["blob"]))

    def write(self, answer: Answer, recorded: Exchange | None = None) -> None:
        """Append one answer to the ``recorded`` exchange (whose bodies it need not repeat)."""
        try:
            line = encode_answer(answer, self.policy, recorded)
            self._note_blobs(line)
            self._handle.write(orjson.dumps(line) + b"\n")
            self.lines += 1
            self.seqs.add(answer.seq)
            # Flushing now and then keeps a crashed run's file readable without paying a syscall per answer.
            if self.lines % 256 == 0:
                self._handle.flush()
        except OSError as error:
            raise CannotRun(
                f"cannot write {self.directory / 'answers.jsonl'}: {error.strerror or error}"
            ) from None

    def write_idmap(self, evidence: dict[str, Any]) -> None:
        _write_json(self.directory / "idmap.json", evidence)

    def write_json(self, name: str, document: dict[str, Any]) -> None:
        _write_json(self.directory / name, document)

    def close(self) -> None:
        if not self._handle.closed:
            try:
                self._handle.close()
            except OSError as error:
                raise CannotRun(
                    f"cannot write {self.directory / 'answers.jsonl'}: {error.strerror or error}"
                ) from None
        if self.blob_dir.is_dir():
            for blob in self.blob_dir.iterdir():
                if blob.is_file() and blob.name not in self._kept_blobs:
                    blob.unlink(missing_ok=True)


class RunDirectory:
    """One replay's output folder; run.json is written at the start and completed at the end."""

    def __init__(self, path: Path) -> None:
        if path.exists() and not path.is_dir():
            raise InputError(f"run directory {path} exists and is not a directory")
        self.path = path
        self.header: dict[str, Any] = {}
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CannotRun(f"cannot create the run directory {path}: {error.strerror or error}") from None

    def start(
        self, recording: dict[str, Any], targets: list[dict[str, Any]], options: dict[str, Any]
    ) -> None:
        self.header = {
            "format": RUN_FORMAT,
            "version": RUN_VERSION,
            "created": now_iso(),
            "finished": None,
            "recording": recording,
            "targets": targets,
            "options": options,
            "problems": [],
        }
        _write_json(self.path / "run.json", self.header)

    def target(self, name: str, keep: list[bytes] | None = None) -> TargetOutput:
        try:
            directory = self.path / "targets" / check_target_name(name)
        except ValueError as error:
            raise InputError(f"{error}.") from None
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CannotRun(
                f"cannot write the run directory {directory}: {error.strerror or error}"
            ) from None
        return TargetOutput(directory, keep)

    def finish(self, **extra: Any) -> None:
        self.header.update(extra)
        self.header["finished"] = now_iso()
        _write_json(self.path / "run.json", self.header)


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("wb")
    except OSError as error:
        raise CannotRun(f"cannot write {path}: {error.strerror or error}") from None


def _write_json(path: Path, obj: Any) -> None:
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)  # no half-written file left behind
        raise CannotRun(f"cannot write {path}: {error.strerror or error}") from None
