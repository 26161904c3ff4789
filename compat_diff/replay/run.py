"""`compat-diff replay`: read the recording, resolve the targets, replay, write the run directory.

Returns 0 when at least one target answered (the diff decides 0/1 afterwards) and raises
:class:`CannotRun` (exit 3) when no target answered anything at all.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from compat_diff.aws.signing import Clock, system_clock
from compat_diff.errors import CannotRun, InputError, RecordingError, TargetError
from compat_diff.model import ExitStatus
from compat_diff.recording import open_recording
from compat_diff.replay.answers import DEFAULT_MAX_ANSWER_BYTES
from compat_diff.replay.cleanup import DEFAULT_CLEANUP_SECONDS, clean_target
from compat_diff.replay.engine import DEFAULT_UNRESPONSIVE_AFTER, ReplayOptions, TargetState, replay
from compat_diff.replay.idmap import DependencyIndex
from compat_diff.replay.names import NameScope, created_names, new_run_id
from compat_diff.replay.pacing import check_rate, stricter
from compat_diff.replay.polls import DEFAULT_POLL_TIMEOUT
from compat_diff.replay.preflight import SetupWatch
from compat_diff.replay.preflight_run import preflight as check_targets
from compat_diff.replay.resume import INTERRUPTED as INTERRUPTED_CALL
from compat_diff.replay.resume import Previous, read_previous, read_run_header
from compat_diff.replay.rundir import Answer, RunDirectory, TargetOutput
from compat_diff.replay.settings import ReplaySettings, load_replay_settings
from compat_diff.replay.targets import Target, load_targets
from compat_diff.replay.timeshift import recording_start


def run_replay(
    recording: Path,
    targets: list[str],
    targets_file: Path | None,
    allow_aws: bool,
    out: Path,
    concurrency: int = 8,
    timeout: float = 30.0,
    read_only: bool = False,
    retry_throttled: int = 0,
    console: Console | None = None,
    *,
    env: Mapping[str, str] | None = None,
    clock: Clock = system_clock,
    profile: str | None = None,
    region: str | None = None,
    max_answer_bytes: int | None = None,
    unresponsive_after: int | None = None,
    timeshift: bool = True,
    keep_resources: bool = False,
    cleanup_seconds: float = DEFAULT_CLEANUP_SECONDS,
    preflight: bool = False,
    resume: bool = False,
    poll_timeout: float = DEFAULT_POLL_TIMEOUT,
    max_rate: float | None = None,
) -> int:
    """Replay ``recording`` against the targets into the run directory ``out``.

    With ``resume``, ``out`` is an interrupted run: its answers are kept and the calls it did not
    send are replayed. ``max_rate`` limits the requests per second sent to each target (a target's
    own ``max_rate`` in the targets file applies too; the lower one wins). Returns 0, or
    :data:`INTERRUPTED` after Ctrl-C or SIGTERM (the run directory then holds what ran, the rest
    marked not-run).
    """
    console = console or Console(stderr=True)
    resolved = load_targets(
        list(targets), targets_file, allow_aws=allow_aws, env=env, profile=profile, region=region
    )
    if max_rate is not None:
        try:
            max_rate = check_rate(max_rate, "--max-rate")
        except ValueError as error:
            raise InputError(str(error)) from None
        resolved = [replace(target, max_rate=stricter(target.max_rate, max_rate)) for target in resolved]
    settings = load_replay_settings(targets_file) if targets_file is not None else ReplaySettings()
    # The command line wins over the targets file, which wins over the defaults.
    max_answer_bytes = max_answer_bytes or settings.max_answer_bytes or DEFAULT_MAX_ANSWER_BYTES
    unresponsive_after = unresponsive_after or settings.unresponsive_after or DEFAULT_UNRESPONSIVE_AFTER
    # The replay sends the blobs it reads, so each must be the recording's own, unaltered.
    opened = open_recording(recording, verify_blobs=True)
    with _collector_paused():
        exchanges = list(opened)
    unsafe = [problem for problem in opened.problems if problem.unsafe]
    if unsafe:
        more = f" (and {len(unsafe) - 1} more such line(s))" if len(unsafe) > 1 else ""
        raise RecordingError(
            f"line {unsafe[0].line} of {recording} is damaged: {unsafe[0].reason}{more}; "
            "nothing was replayed"
        )
    for problem in opened.problems:
        console.print(
            f"warning: line {problem.line} of {recording} is damaged and was skipped: {problem.reason}",
            markup=False,
        )
    for target in resolved:
        if target.credentials_source == "placeholder":
            console.print(
                f"warning: no AWS credentials found for target {target.name}; signing with placeholder keys "
                "(fine for emulators that do not check signatures)",
                markup=False,
            )
    if preflight:
        _preflight(resolved, exchanges, console)
    started_at = recording_start(exchanges) if timeshift else None
    time_shift = clock() - started_at if started_at is not None else None
    created = created_names(exchanges)
    previous = _previous_run(out, resolved) if resume else {}
    scopes = {
        target.name: NameScope(
            previous[target.name][0] if resume else new_run_id(), created, scoped=target.names == "run-scoped"
        )
        for target in resolved
    }
    options = ReplayOptions(
        concurrency=concurrency,
        timeout=timeout,
        read_only=read_only,
        retry_throttled=retry_throttled,
        clock=clock,
        max_answer_bytes=max_answer_bytes,
        unresponsive_after=unresponsive_after,
        time_shift=time_shift,
        poll_timeout=poll_timeout,
    )
    with _collector_paused():
        index = DependencyIndex.build(exchanges)

    run_dir = RunDirectory(out)
    run_dir.start(
        recording={
            "path": str(Path(recording).resolve()),
            "exchanges": len(exchanges),
            "header": opened.header,
        },
        targets=[{**target.describe(), "run_id": scopes[target.name].run_id} for target in resolved],
        options={
            "concurrency": concurrency,
            "timeout": timeout,
            "read_only": read_only,
            "retry_throttled": retry_throttled,
            "max_answer_bytes": max_answer_bytes,
            "unresponsive_after": unresponsive_after,
            "time_shift_s": round(time_shift.total_seconds(), 3) if time_shift is not None else None,
            "keep_resources": keep_resources,
            "resumed": resume,
            "poll_timeout": poll_timeout,
        },
    )
    outputs = {
        target.name: run_dir.target(target.name, previous[target.name][1].lines if resume else None)
        for target in resolved
    }
    answered_before = {name: entry[1].responses for name, entry in previous.items()}
    started = time.perf_counter()
    watch = SetupWatch()
    states: list[TargetState] = []
    interrupted = False
    try:
        states = _replay_with_progress(
            exchanges, resolved, index, options, outputs, console, scopes, watch, answered_before
        )
    except KeyboardInterrupt:
        interrupted = True
        # Every call not answered yet is written as not-run, so the report covers the part that ran.
        for output in outputs.values():
            for exchange in exchanges:
                if exchange.seq not in output.seqs:
                    output.write(Answer(exchange.seq, "not-run", skipped=INTERRUPTED_CALL))
    finally:
        for output in outputs.values():
            output.close()
        # Also on Ctrl-C: what was created is known and deleted unless the user keeps it.
        cleanup = _after_run(resolved, scopes, outputs, keep_resources, cleanup_seconds, console)
    elapsed = time.perf_counter() - started

    for state in states:
        outputs[state.target.name].write_idmap(state.idmap.evidence(state.target.name))
    summary = {state.target.name: _target_summary(state) for state in states}
    if interrupted:
        run_dir.finish(
            cleanup=cleanup,
            interrupted=True,
            problems=[{"line": problem.line, "reason": problem.reason} for problem in opened.problems],
            summary={name: {"answered": len(output.seqs)} for name, output in outputs.items()},
            elapsed_s=round(elapsed, 3),
        )
        sent = ", ".join(
            f"{name} {len(output.seqs)}/{len(exchanges)}" for name, output in outputs.items()
        )
        console.print(
            f"interrupted: calls done per target: {sent}; the others are recorded as not-run in {out}. "
            f"To continue where it stopped: compat-diff replay {recording} <the same targets> --resume {out}"
            + (
                ""
                if keep_resources
                else " (what the run created was deleted: resume a run started with "
                "--keep-resources to continue on the same resources)"
            ),
            markup=False,
        )
        return INTERRUPTED
    for name, warning in watch.warnings().items():
        summary[name]["setup_warning"] = warning
        console.print(f"WARNING: {warning}", markup=False, style="bold red")
    run_dir.finish(
        cleanup=cleanup,
        problems=[{"line": problem.line, "reason": problem.reason} for problem in opened.problems],
        summary=summary,
        elapsed_s=round(elapsed, 3),
    )

    attempted = False
    for state in states:
        if state.answered == 0 and state.errors:
            attempted = True
            console.print(f"target {state.target.name} was not reachable: {state.first_error}", markup=False)
        elif state.errors:
            attempted = True
            kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(state.errors.items()))
            console.print(f"target {state.target.name}: transport errors: {kinds}", markup=False)
        if state.answered:
            attempted = True
        if state.too_large:
            console.print(
                f"target {state.target.name}: {state.too_large} answer(s) larger than "
                f"{max_answer_bytes} bytes were cut off and recorded as too-large (--max-answer-bytes)",
                markup=False,
            )
        if state.unresponsive is not None:
            console.print(
                f"target {state.target.name} stopped answering: {state.unresponsive}; "
                f"{state.not_run} remaining call(s) were not run",
                markup=False,
            )
    internal = [state for state in states if state.internal_errors]
    if internal:
        first = internal[0]
        count = sum(state.internal_errors for state in internal)
        raise CannotRun(
            f"{count} call(s) failed inside compat-diff itself, not because of a candidate "
            f"(target {first.target.name}, {first.first_internal_error}); they are recorded as "
            f"internal-error in {out} and excluded from scores. Unless the cause is on this machine "
            "(a full disk, permissions), this is a bug: please report it"
        )
    if attempted and not any(state.answered for state in states):
        reasons = "; ".join(f"{state.target.name}: {state.first_error}" for state in states)
        raise CannotRun(f"no target was reachable ({reasons})")
    console.print(
        f"replayed {len(exchanges)} exchanges against {len(states)} target(s) in {elapsed:.1f}s; "
        f"run directory: {out}",
        markup=False,
    )
    return int(ExitStatus.OK)


# The exit status of an interrupted replay (as for SIGINT), and what its unsent calls say.
INTERRUPTED = 130


def _previous_run(out: Path, targets: list[Target]) -> dict[str, tuple[str, Previous]]:
    """Each target's run id and answers from the interrupted run in ``out``."""
    header = read_run_header(out)
    run_ids = {
        str(entry.get("name")): str(entry.get("run_id") or new_run_id())
        for entry in header.get("targets", [])
        if isinstance(entry, dict)
    }
    for target in targets:
        if target.name not in run_ids:
            raise InputError(
                f"--resume {out}: target {target.name!r} is not one of the run's targets "
                f"({', '.join(sorted(run_ids))})"
            )
    return {target.name: (run_ids[target.name], read_previous(out, target.name)) for target in targets}


# Seconds between progress lines when there is no terminal to draw a bar on.
PROGRESS_LINE_SECONDS = 5.0


def _replay_with_progress(
    exchanges: list[Any],
    targets: list[Target],
    index: DependencyIndex,
    options: ReplayOptions,
    outputs: dict[str, TargetOutput],
    console: Console,
    scopes: dict[str, NameScope] | None = None,
    watch: SetupWatch | None = None,
    previous: dict[str, dict[int, Any]] | None = None,
) -> list[TargetState]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[errors]}"),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
        disable=not console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}
    errors: dict[str, int] = {}
    started = time.perf_counter()
    # The bar redraws a few times a second at most; updating it per answer cost more than writing it.
    shown: dict[str, float] = {}
    total = len(exchanges)
    recorded = {exchange.seq: exchange for exchange in exchanges}

    def on_answer(target: Target, answer: Answer) -> None:
        output = outputs[target.name]
        output.write(answer, recorded.get(answer.seq))
        if watch is not None and answer.outcome == "answered" and answer.response is not None:
            watch.note(target.name, answer.response)
        if answer.outcome == "transport":
            errors[target.name] = errors.get(target.name, 0) + 1
        if not progress.live.is_started:
            _log_line(target.name, output.lines)
            return
        now = time.perf_counter()
        done = output.lines
        if now - shown.get(target.name, 0.0) < 0.1 and done < total:
            return
        shown[target.name] = now
        failures = errors.get(target.name, 0)
        progress.update(
            tasks[target.name],
            completed=done,
            rate=f"{done / max(now - started, 1e-6):,.0f}/s",
            errors=f"{failures} errors" if failures else "",
        )

    # Without a terminal (a CI log) a line every few seconds per target keeps the log alive.
    logged: dict[str, float] = {}

    def _log_line(name: str, done: int) -> None:
        now = time.perf_counter()
        if now - logged.get(name, started) < PROGRESS_LINE_SECONDS and done < total:
            return
        logged[name] = now
        failures = errors.get(name, 0)
        console.print(
            f"{name}: replayed {done}/{total} ({done / max(now - started, 1e-6):,.0f}/s"
            f"{f', {failures} errors' if failures else ''})",
            markup=False,
        )

    with progress:
        for target in targets:
            tasks[target.name] = progress.add_task(target.name, total=total, rate="", errors="")
        # The recording and its index stay in memory for the whole replay; the collector need not
        # walk them again at every full collection the replay's own garbage triggers.
        gc.freeze()
        try:
            blob_dirs = {name: output.blob_dir for name, output in outputs.items()}
            with _sigterm_interrupts():
                return asyncio.run(
                    replay(exchanges, targets, index, options, on_answer, blob_dirs, scopes, previous)
                )
        finally:
            gc.unfreeze()


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the replay like Ctrl-C does: answers kept, the rest not-run, cleanup done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        # Handled as a Ctrl-C: asyncio.run's own SIGINT handling cancels the replay between awaits,
        # where raising KeyboardInterrupt here could land in the middle of the event loop's own code.
        signal.raise_signal(signal.SIGINT)

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic collection while the recording is loaded and indexed.

    Loading makes only acyclic data (frozen dataclasses, strings, bytes), so collecting finds
    nothing; yet each 25% of growth set off a full collection over everything loaded so far, about
    half the cost of the collector over a whole replay of small calls.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _target_summary(state: TargetState) -> dict[str, Any]:
    return {
        "answered": state.answered,
        "transport_errors": dict(state.errors),
        "mapped_ids": len(state.idmap.mappings),
        "unresolved": len(state.idmap.unresolved),
        "too_large": state.too_large,
        "not_run": state.not_run,
        "unresponsive": state.unresponsive,
        "internal_errors": state.internal_errors,
    }


def _after_run(
    targets: list[Target],
    scopes: dict[str, NameScope],
    outputs: dict[str, TargetOutput],
    keep_resources: bool,
    seconds: float,
    console: Console,
) -> dict[str, Any]:
    """Write each target's names.json, then delete what the run created (unless kept)."""
    done: dict[str, Any] = {}
    for target in targets:
        scope = scopes[target.name]
        evidence = scope.evidence(target.name)
        outputs[target.name].write_json("names.json", evidence)
        if keep_resources:
            done[target.name] = {"kept": len(evidence["created"])}
            continue
        if not evidence["created"]:
            continue
        outcome = clean_target(
            target, evidence["created"], outputs[target.name].directory / "cleanup.jsonl", seconds
        )
        done[target.name] = outcome.to_json()
        console.print(outcome.sentence(), markup=False)
    if keep_resources and any(entry["kept"] for entry in done.values()):
        console.print(
            "resources the run created were kept (--keep-resources); "
            "delete them later with: compat-diff cleanup RUN_DIR",
            markup=False,
        )
    return done


def _preflight(targets: list[Target], exchanges: list[Any], console: Console) -> None:
    """Check each target before replaying; stop when one is unusable by its set-up alone."""
    recorded = list(dict.fromkeys(exchange.service for exchange in exchanges if exchange.service))
    checks = check_targets(targets, recorded, timeout=10.0)
    for check in checks:
        if not check.ok or check.problem:
            console.print(f"preflight: {check.line}", markup=False)
    for target in targets:
        own = [check for check in checks if check.target == target.name]
        if own and all(check.fatal for check in own):
            raise TargetError(
                f"target {target.name} is not set up for a replay: {own[0].line[5:]} "
                "(compat-diff check-targets shows every check; --no-preflight replays anyway)"
            )
