"""The run directory's format (docs/formats.md, "Run directories"), beside the recording's: its
identity and version, the migrations of run.json and of answers.jsonl lines, the blob folder of an
answers file, and the one ``Answer`` with its one encoder and one decoder. The replay writes it and
the diff reads it through this module only, so the two never disagree about a name or a version.

A body that is byte for byte the recorded exchange's on the same side (the request sent is the
recorded request's, the candidate answered the reference's bytes) is not stored a second time: the
line says ``{"reference": SHA256, "size": N}`` and the decoder takes the recorded exchange's body,
so a run against a faithful candidate costs little more than its recording.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from compat_diff.errors import CannotRun, InputError
from compat_diff.model import Body, Exchange, HttpRequest, HttpResponse
from compat_diff.recording.codec import BodyPolicy, decode_request, decode_response, encode_headers
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


def _answer_v1_to_v2(line: dict[str, Any]) -> dict[str, Any]:
    # A version-1 answer line's headers are plain strings, which version 2 reads unchanged.
    return line


# Each entry upgrades one answers.jsonl line of a version-N run to N+1 (the run's version is in run.json).
ANSWER_MIGRATIONS: dict[int, RunMigration] = {1: _answer_v1_to_v2}

# What a target did with a recorded exchange (docs/formats.md); the first four carry an error or reason.
# Below this size a body costs no more than naming the reference's digest.
_SHARED_MIN_SIZE = 128
OUTCOMES = ("answered", "transport", "too-large", "skipped", "not-run", "internal-error")


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


# A target name is a folder of the run directory and a file name in reports: a short, safe alphabet.
_TARGET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_target_name(name: object) -> str:
    """``name`` when it is a usable target name; raises ValueError with the rule otherwise."""
    if not isinstance(name, str) or not _TARGET_NAME.fullmatch(name) or ".." in name:
        shown = name if isinstance(name, str) and len(name) <= 80 else type(name).__name__
        raise ValueError(
            f"the target name {shown!r} is not allowed: use up to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..'"
        )
    return name


def answers_blob_dir(answers: Path) -> Path:
    """Where the bodies of an answers.jsonl live: named like a recording's blob folder."""
    return blob_dir_for(answers)


@dataclass(frozen=True, slots=True)
class Answer:
    """One line of ``answers.jsonl``: what a candidate did with one recorded exchange."""

    seq: int
    # answered | transport | too-large | skipped | not-run | internal-error
    outcome: str
    request: HttpRequest | None = None
    response: HttpResponse | None = None
    error: dict[str, Any] | None = None
    skipped: str | None = None
    duration_ms: float = 0.0
    broken_dependencies: tuple[dict[str, Any], ...] = ()
    attempts: int = 1
    # A poll asked again until the recorded state: {"attempts", "waited_ms", "reached"}.
    polled: dict[str, Any] | None = None


def encode_answer(answer: Answer, policy: BodyPolicy, recorded: Exchange | None = None) -> dict[str, Any]:
    """The JSON line of an answer; a body equal to the ``recorded`` exchange's body on the same side
    (the request sent, the response received) is not stored again, only named by its digest."""
    line: dict[str, Any] = {"seq": answer.seq, "outcome": answer.outcome}
    request, response = answer.request, answer.response if answer.outcome == "answered" else None
    line["request"] = (
        None
        if request is None
        else {
            "method": request.method,
            "url": request.url,
            "headers": encode_headers(request.headers),
            "body": _encode_body(request.body, policy, recorded.request.body if recorded else None),
        }
    )
    line["response"] = (
        None
        if response is None
        else {
            "status": response.status,
            "headers": encode_headers(response.headers),
            "body": _encode_body(response.body, policy, recorded.response.body if recorded else None),
        }
    )
    if answer.outcome in ("transport", "too-large", "internal-error") and answer.error:
        line["error"] = answer.error
    if answer.outcome in ("skipped", "not-run") and answer.skipped:
        line["skipped"] = answer.skipped
    line["duration_ms"] = round(answer.duration_ms, 3)
    if answer.broken_dependencies:
        line["broken_dependencies"] = list(answer.broken_dependencies)
    if answer.attempts > 1:
        line["attempts"] = answer.attempts
    if answer.polled:
        line["polled"] = answer.polled
    return line


def decode_answer(
    obj: dict[str, Any],
    blob_dir: Path | None,
    recorded: Exchange | None = None,
    version: int | None = None,
) -> Answer:
    """An answers.jsonl line of a run of ``version`` (default: current), migrated; a body stored as
    equal to the ``recorded`` exchange's is that exchange's body."""
    if version is not None:
        while version < RUN_VERSION:
            obj = ANSWER_MIGRATIONS[version](obj)
            version += 1
    request = obj.get("request")
    response = obj.get("response")
    outcome = str(obj.get("outcome") or ("answered" if response else "transport"))
    return Answer(
        seq=int(obj["seq"]),
        outcome=outcome,
        request=(
            _with_body(decode_request, request, blob_dir, recorded.request.body if recorded else None)
            if isinstance(request, dict)
            else None
        ),
        response=(
            _with_body(decode_response, response, blob_dir, recorded.response.body if recorded else None)
            if isinstance(response, dict)
            else None
        ),
        error=obj.get("error") if isinstance(obj.get("error"), dict) else None,
        skipped=obj.get("skipped"),
        duration_ms=float(obj.get("duration_ms") or 0.0),
        broken_dependencies=tuple(d for d in obj.get("broken_dependencies") or () if isinstance(d, dict)),
        attempts=int(obj.get("attempts") or 1),
        polled=obj.get("polled") if isinstance(obj.get("polled"), dict) else None,
    )


def body_digest(body: Body) -> str | None:
    """The sha256 of a body's bytes (known for blobs and digests, computed for inline bodies)."""
    if body.sha256:
        return body.sha256
    if body.storage == "inline":
        return hashlib.sha256(body.inline or b"").hexdigest()
    return None


def _encode_body(body: Body, policy: BodyPolicy, recorded: Body | None) -> dict[str, Any]:
    # A digest-only body (a streamed upload's) is already as small as naming the recorded one.
    shareable = body.available and body.size > _SHARED_MIN_SIZE
    if shareable and recorded is not None and recorded.size == body.size:
        digest = body_digest(body)
        if digest is not None and digest == body_digest(recorded):
            return {"reference": digest, "size": body.size}
    blobs = policy.blobs
    if (
        body.storage == "blob"
        and body.sha256
        and blobs is not None
        and body.blob_path is not None
        and body.blob_path.parent == blobs.directory
        and body.blob_path.exists()
    ):
        # Spooled into this run's blob folder while it was read (under a private name until now):
        # stored under its digest by a rename, never read back into memory (an identical answer
        # stored before is the same file).
        target = blobs.path_for(body.sha256)
        if body.blob_path != target:
            try:
                os.replace(body.blob_path, target)
            except OSError as error:
                raise CannotRun(f"cannot write {target}: {error.strerror or error}") from None
        return {"blob": body.sha256, "size": body.size}
    return policy.encode(body)[0]


_Message = TypeVar("_Message", HttpRequest, HttpResponse)


def _with_body(
    decode: Callable[[dict[str, Any], Path | None], _Message],
    obj: dict[str, Any],
    blob_dir: Path | None,
    recorded: Body | None,
) -> _Message:
    body = obj.get("body")
    if not (isinstance(body, dict) and "reference" in body):
        return decode(obj, blob_dir)
    digest = str(body["reference"])
    size = int(body.get("size") or 0)
    if recorded is not None and recorded.size == size and body_digest(recorded) == digest:
        shared = recorded
    else:
        # The recording it came from is not at hand (or changed): the digest is all we know.
        shared = Body(inline=None, storage="digest", sha256=digest, size=size)
    return replace(decode({**obj, "body": None}, blob_dir), body=shared)
