"""Writing run directories for tests, exactly in the documented format (docs/formats.md)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from compat_diff.model import Exchange, HttpResponse
from compat_diff.recording import RecordingWriter
from compat_diff.recording.codec import BlobStore, BodyPolicy, encode_request, encode_response


def write_recording(path: Path, exchanges: Iterable[Exchange]) -> Path:
    with RecordingWriter(path, header={"reference": "moto"}) as writer:
        for exchange in exchanges:
            writer.write(exchange)
    return path


def answer_line(
    exchange: Exchange,
    response: HttpResponse | None,
    policy: BodyPolicy,
    *,
    outcome: str = "answered",
    error: dict[str, Any] | None = None,
    skipped: str | None = None,
    broken: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    request, _ = encode_request(exchange.request, policy)
    line: dict[str, Any] = {
        "seq": exchange.seq,
        "outcome": outcome,
        "request": request,
        "response": encode_response(response, policy)[0] if response else None,
        "duration_ms": 1.0,
    }
    if error is not None:
        line["error"] = error
    if skipped is not None:
        line["skipped"] = skipped
    if broken:
        line["broken_dependencies"] = broken
    return line


def write_run(run_dir: Path, recording: Path, targets: dict[str, list[dict[str, Any]]]) -> Path:
    """A run directory whose answers.jsonl per target holds the given lines (any order)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    header = {
        "format": "compat-diff/run",
        "version": 1,
        "created": "2026-01-01T00:00:00Z",
        "finished": "2026-01-01T00:00:01Z",
        "recording": {"path": str(recording.resolve()), "exchanges": 0},
        "targets": [{"name": name, "endpoint": "http://127.0.0.1:1"} for name in targets],
        "options": {},
    }
    (run_dir / "run.json").write_bytes(orjson.dumps(header))
    for name, lines in targets.items():
        folder = run_dir / "targets" / name
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "answers.jsonl").open("wb") as handle:
            for line in lines:
                handle.write(orjson.dumps(line) + b"\n")
    return run_dir


def policy_for(answers_dir: Path) -> BodyPolicy:
    return BodyPolicy(BlobStore(answers_dir / "answers.jsonl.blobs"))


def answers_for(
    exchanges: Iterable[Exchange], responses: Iterable[HttpResponse], run_dir: Path, target: str
) -> list[dict[str, Any]]:
    policy = policy_for(run_dir / "targets" / target)
    return [answer_line(e, r, policy) for e, r in zip(exchanges, responses, strict=True)]
