"""Writing the run directory (docs/formats.md, "Run directories"): run.json, one answers.jsonl and
one idmap.json per target. Bodies go through the recording codec, so a candidate's answer is
stored exactly like a recorded one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from compat_diff.errors import CannotRun, InputError
from compat_diff.model import HttpRequest, HttpResponse
from compat_diff.recording import BlobStore, BodyPolicy, now_iso
from compat_diff.recording.codec import encode_request, encode_response
from compat_diff.recording.runformat import RUN_FORMAT, RUN_VERSION, answers_blob_dir


@dataclass
class Answer:
    """What one target did with one recorded exchange."""

    seq: int
    # answered | transport | too-large | skipped | not-run | internal-error (docs/formats.md)
    outcome: str
    request: HttpRequest | None = None
    response: HttpResponse | None = None
    error: dict[str, Any] | None = None
    skipped: str | None = None
    duration_ms: float = 0.0
    broken_dependencies: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 1
    # A poll asked again until the recorded state: {"attempts", "waited_ms", "reached"}.
    polled: dict[str, Any] | None = None

    def to_json(self, policy: BodyPolicy) -> dict[str, Any]:
        line: dict[str, Any] = {"seq": self.seq, "outcome": self.outcome}
        line["request"] = encode_request(self.request, policy)[0] if self.request is not None else None
        line["response"] = (
            _encode_answer(self.response, policy)
            if self.response is not None and self.outcome == "answered"
            else None
        )
        if self.outcome in ("transport", "too-large", "internal-error") and self.error:
            line["error"] = self.error
        if self.outcome in ("skipped", "not-run") and self.skipped:
            line["skipped"] = self.skipped
        line["duration_ms"] = round(self.duration_ms, 3)
        if self.broken_dependencies:
            line["broken_dependencies"] = self.broken_dependencies
        if self.attempts > 1:
            line["attempts"] = self.attempts
        if self.polled:
            line["polled"] = self.polled
        return line


def _encode_answer(response: HttpResponse, policy: BodyPolicy) -> dict[str, Any]:
    body = response.body
    blobs = policy.blobs
    if (
        body.storage == "blob"
        and body.sha256
        and blobs is not None
        and body.blob_path == blobs.path_for(body.sha256)
        and body.blob_path.exists()
    ):
        # Spooled straight into this run's blob folder while it was read: not read back into memory.
        return {
            "status": response.status,
            "headers": [list(pair) for pair in response.headers],
            "body": {"blob": body.sha256, "size": body.size},
        }
    return encode_response(response, policy)[0]


class TargetOutput:
    """answers.jsonl (appended as answers complete) and idmap.json of one target."""

    def __init__(self, directory: Path, keep: list[bytes] | None = None) -> None:
        self.directory = directory
        answers = directory / "answers.jsonl"
        self.blob_dir = answers_blob_dir(answers)
        self.policy = BodyPolicy(BlobStore(self.blob_dir))
        self._handle: IO[bytes] = _open(answers)
        self.lines = 0
        # The seqs written so far: an interrupted run marks the others not-run.
        self.seqs: set[int] = set()
        for line in keep or ():
            # A resumed run keeps the answers of the calls that ran before, byte for byte.
            self._handle.write(line.rstrip(b"\n") + b"\n")
            self.seqs.add(int(orjson.loads(line)["seq"]))
            self.lines += 1

    def write(self, answer: Answer) -> None:
        self._handle.write(orjson.dumps(answer.to_json(self.policy)) + b"\n")
        self.lines += 1
        self.seqs.add(answer.seq)
        # Flushing now and then keeps a crashed run's file readable without paying a syscall per answer.
        if self.lines % 256 == 0:
            self._handle.flush()

    def write_idmap(self, evidence: dict[str, Any]) -> None:
        _write_json(self.directory / "idmap.json", evidence)

    def write_json(self, name: str, document: dict[str, Any]) -> None:
        _write_json(self.directory / name, document)

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


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
        directory = self.path / "targets" / name
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
        raise CannotRun(f"cannot write {path}: {error.strerror or error}") from None
