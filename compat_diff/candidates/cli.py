"""``compat-diff candidates up|down|status [NAMES...]``: the command's behaviour, called by cli.py.

``up`` starts candidates in the background and records them in the state directory so that a
later ``down`` or ``status`` (another process) can find them; it also writes a targets file.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Protocol

from compat_diff.candidates.base import RunningCandidate
from compat_diff.candidates.lifecycle import CANDIDATES, installed, is_healthy, lookup, start_many, stop
from compat_diff.candidates.state import CandidatesState, locked_state
from compat_diff.candidates.targets import write_targets_toml
from compat_diff.errors import CompatDiffError, InputError
from compat_diff.model import ExitStatus

ACTIONS = ("up", "down", "status")
DEFAULT_TARGETS_FILE = "targets.toml"


class Console(Protocol):
    """The part of rich's Console this module uses."""

    def print(self, *objects: Any, **kwargs: Any) -> None: ...


def run_candidates(
    action: str, names: list[str], state_dir: Path, targets_out: Path | None, console: Console
) -> int:
    """Run one ``candidates`` action; returns the exit status (0 ok, 3 when a candidate failed).

    Unknown actions or candidate names raise InputError (exit 2) before anything starts.
    """
    if action not in ACTIONS:
        raise InputError(f"unknown candidates action {action!r}; use one of: {', '.join(ACTIONS)}.")
    for name in names:
        lookup(name)
    if action == "up":
        return _up(names, state_dir, targets_out, console)
    if action == "down":
        return _down(names, state_dir, targets_out, console)
    return _status(names, state_dir, console)


def _say(console: Console, line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)  # one line per candidate


def _describe(candidate: RunningCandidate) -> str:
    pids = ",".join(map(str, candidate.pids))
    return f"{candidate.name} at {candidate.endpoint} ({', '.join(candidate.services)}; pids {pids})"


def _up(names: list[str], state_dir: Path, targets_out: Path | None, console: Console) -> int:
    explicit = bool(names)
    wanted = list(dict.fromkeys(names)) if explicit else list(CANDIDATES)
    failures: dict[str, str] = {}
    with locked_state(state_dir) as state:
        to_start = []
        for name in wanted:
            current = state.candidates.get(name)
            if current is not None:
                healthy, reason = is_healthy(current)
                if healthy:
                    _say(console, f"already running: {_describe(current)}")
                    continue
                _say(console, f"{name} was recorded as running but {reason}; restarting it")
                _forget(state, name)
            ok, reason = installed(name)
            if not ok:
                if explicit:
                    failures[name] = f"{name} is not installed: {reason}."
                else:
                    _say(console, f"skipped {name}: {reason}")
                continue
            to_start.append(name)
        if to_start:
            _say(console, f"starting {', '.join(to_start)} ...")
        started, start_failures = start_many(to_start, state_dir / "data")
        failures.update(start_failures)
        for candidate in started:
            state.candidates[candidate.name] = candidate
            _say(console, f"started {_describe(candidate)}")
        for name, message in failures.items():
            _say(console, f"FAILED {name}: {message}")
        _write_targets(state, state_dir, targets_out, console)
    return int(ExitStatus.CANNOT_RUN if failures else ExitStatus.OK)


def _forget(state: CandidatesState, name: str) -> None:
    """Stop whatever is left of a recorded candidate and drop it (and its data) from the state."""
    candidate = state.candidates.pop(name)
    try:
        stop(candidate)
    except CompatDiffError:
        pass
    shutil.rmtree(candidate.base_dir, ignore_errors=True)


def _down(names: list[str], state_dir: Path, targets_out: Path | None, console: Console) -> int:
    with locked_state(state_dir) as state:
        wanted = list(dict.fromkeys(names)) if names else sorted(state.candidates)
        if not wanted:
            _say(console, "no candidates are running")
        for name in wanted:
            if name not in state.candidates:
                _say(console, f"{name} is not running")
                continue
            _forget(state, name)
            _say(console, f"stopped {name}")
        _write_targets(state, state_dir, targets_out, console)
    return int(ExitStatus.OK)


def _write_targets(
    state: CandidatesState, state_dir: Path, targets_out: Path | None, console: Console
) -> None:
    path = targets_out or state.targets_path or state_dir / DEFAULT_TARGETS_FILE
    running = [state.candidates[name] for name in sorted(state.candidates)]
    if not running:
        if path.exists():
            path.unlink()
        state.targets_path = None
        return
    write_targets_toml(running, path)
    state.targets_path = path
    _say(console, f"targets for {len(running)} running candidate(s) written to {path}")


def _status(names: list[str], state_dir: Path, console: Console) -> int:
    unhealthy = 0
    with locked_state(state_dir) as state:
        # Recorded candidates come first: one started by another version may no longer be registered.
        shown = list(dict.fromkeys(names)) if names else list(dict.fromkeys([*state.candidates, *CANDIDATES]))
        for name in shown:
            current = state.candidates.get(name)
            if current is not None:
                healthy, reason = is_healthy(current)
                unhealthy += 0 if healthy else 1
                _say(
                    console,
                    f"{name:<11} {'running' if healthy else 'BROKEN':<8} {current.endpoint}  {reason}",
                )
                continue
            ok, reason = installed(name)
            _say(console, f"{name:<11} {'stopped':<8} {'installed' if ok else 'not installed: ' + reason}")
    return int(ExitStatus.CANNOT_RUN if unhealthy else ExitStatus.OK)
