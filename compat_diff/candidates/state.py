"""The state file that lets ``candidates down`` or ``status`` in a later process find what ``up`` started.

``<state dir>/candidates.json`` holds one entry per running candidate (pids, ports, endpoint,
credentials, data directory) plus where the targets file was written. Readers and writers hold an
exclusive lock on ``<state dir>/candidates.lock`` so two commands never interleave their updates.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from compat_diff.candidates.base import RunningCandidate
from compat_diff.errors import InputError

STATE_FORMAT = "compat-diff/candidates-state"
STATE_VERSION = 1
STATE_FILE = "candidates.json"


@dataclass
class CandidatesState:
    candidates: dict[str, RunningCandidate] = field(default_factory=dict)
    targets_path: Path | None = None


def _to_json(candidate: RunningCandidate) -> dict[str, Any]:
    data = asdict(candidate)
    data["base_dir"] = str(candidate.base_dir)
    data["services"] = list(candidate.services)
    data["pids"] = list(candidate.pids)
    data["ports"] = list(candidate.ports)
    return data


def _from_json(data: dict[str, Any]) -> RunningCandidate:
    return RunningCandidate(
        name=str(data["name"]),
        endpoint=str(data["endpoint"]),
        region=str(data["region"]),
        access_key=str(data["access_key"]),
        secret_key=str(data["secret_key"]),
        services=tuple(str(service) for service in data["services"]),
        pids=tuple(int(pid) for pid in data["pids"]),
        base_dir=Path(data["base_dir"]),
        s3_addressing=str(data.get("s3_addressing", "path")),
        health_url=str(data.get("health_url", "")),
        health_status=data.get("health_status"),
        auth=data.get("auth", "none"),
        ports=tuple(int(port) for port in data.get("ports", ())),
    )


def read_state(state_dir: Path) -> CandidatesState:
    path = state_dir / STATE_FILE
    if not path.exists():
        return CandidatesState()
    try:
        raw = json.loads(path.read_text())
        if raw.get("format") != STATE_FORMAT or raw.get("version") != STATE_VERSION:
            raise ValueError("unexpected format or version")
        candidates = {name: _from_json(entry) for name, entry in raw.get("candidates", {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise InputError(
            f"the candidates state file {path} is damaged ({error}); stop its servers by hand and delete it."
        ) from error
    targets = raw.get("targets_path")
    return CandidatesState(candidates=candidates, targets_path=Path(targets) if targets else None)


def write_state(state_dir: Path, state: CandidatesState) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "targets_path": str(state.targets_path) if state.targets_path else None,
        "candidates": {name: _to_json(candidate) for name, candidate in sorted(state.candidates.items())},
    }
    temporary = state_dir / (STATE_FILE + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    temporary.replace(state_dir / STATE_FILE)


@contextlib.contextmanager
def locked_state(state_dir: Path) -> Iterator[CandidatesState]:
    """Read the state under an exclusive lock, and write it back when the block ends without error."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / "candidates.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = read_state(state_dir)
            yield state
            write_state(state_dir, state)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
