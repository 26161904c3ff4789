"""Starting and stopping candidates by name: the registry, ``start``/``stop``, ``running`` for several.

This is the API the demo, the compatibility matrix and the tests use. ``start`` gives every run its
own data directory and free ports, retries when another process grabbed a port between choosing and
binding it, and on any failure stops whatever it had started before raising one clear sentence.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Literal

from compat_diff.candidates import process
from compat_diff.candidates.base import CandidateSpec, LaunchContext, PortTaken, RunningCandidate
from compat_diff.candidates.ceph import CEPH
from compat_diff.candidates.ministack import MINISTACK
from compat_diff.candidates.openstack_ec2 import OPENSTACK_EC2
from compat_diff.candidates.servers import (
    DYNALITE,
    FAUXQS,
    KINESALITE,
    LOCALSTACK,
    MOTO,
    RCLONE,
    S3RVER,
    SEAWEEDFS,
)
from compat_diff.candidates.swift import SWIFT
from compat_diff.errors import CannotRun, CompatDiffError, InputError

CANDIDATES: dict[str, CandidateSpec] = {
    spec.name: spec
    for spec in (
        MOTO,
        SWIFT,
        CEPH,
        SEAWEEDFS,
        RCLONE,
        S3RVER,
        DYNALITE,
        KINESALITE,
        FAUXQS,
        LOCALSTACK,
        MINISTACK,
        OPENSTACK_EC2,
    )
}

_PORT_ATTEMPTS = 3


def lookup(name: str) -> CandidateSpec:
    """The spec registered under ``name``; an unknown name is an InputError listing the valid ones."""
    spec = CANDIDATES.get(name)
    if spec is None:
        valid = ", ".join(sorted(CANDIDATES))
        raise InputError(f"unknown candidate {name!r}; valid candidates are: {valid}.")
    return spec


def installed(name: str) -> tuple[bool, str]:
    """Whether a candidate's binaries are present, and the reason (with how to install) if not."""
    result = lookup(name).check_installed()
    return result.ok, result.reason


def _data_dir(base_dir: Path, name: str) -> Path:
    """A fresh directory for one run of ``name``, so parallel or repeated runs never share state."""
    base_dir.mkdir(parents=True, exist_ok=True)
    for index in range(1, 1000):
        candidate = base_dir / (name if index == 1 else f"{name}-{index}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise CannotRun(f"{name} cannot start: too many earlier run directories in {base_dir}.")


def start(
    name: str, base_dir: Path, *, timeout: float | None = None, port: int | None = None
) -> RunningCandidate:
    """Start candidate ``name`` with its data under ``base_dir`` and return it once it answers.

    ``port`` asks for a specific client-facing port (fails if it is taken); by default free ports
    are chosen. Raises CannotRun with one sentence when it is not installed, a port is taken, it
    crashed (with the tail of its log) or it did not become ready within ``timeout`` seconds.
    """
    spec = lookup(name)
    ok, reason = installed(name)
    if not ok:
        raise CannotRun(f"{name} is not installed: {reason}.")
    budget = timeout if timeout is not None else spec.start_timeout
    deadline = time.monotonic() + budget
    attempts = 1 if port is not None else _PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        ctx = LaunchContext(
            spec=spec, data_dir=_data_dir(base_dir, name), deadline=deadline, requested_port=port
        )
        try:
            return spec.launch(ctx)
        except PortTaken:
            _stop_context(ctx)
            if attempt == attempts or time.monotonic() >= deadline:
                raise
        except BaseException:
            # Includes KeyboardInterrupt: a half-started candidate must not outlive the caller.
            _stop_context(ctx)
            raise
    raise AssertionError("unreachable")


def _stop_context(ctx: LaunchContext) -> None:
    process.stop_sessions([proc.pid for _, proc in ctx.processes], grace=5.0)


def stop(candidate: RunningCandidate, *, grace: float | None = None) -> None:
    """Stop every process of a candidate (SIGTERM, then SIGKILL after ``grace``); safe to call twice.

    ``grace`` defaults to the candidate's own ``stop_grace``.
    """
    spec = CANDIDATES.get(candidate.name)
    if grace is None:
        grace = spec.stop_grace if spec is not None else 10.0
    survivors = process.stop_sessions(candidate.pids, grace=grace)
    if survivors:
        raise CannotRun(f"{candidate.name} could not be stopped: processes {survivors} survive SIGKILL.")
    if spec is not None and spec.cleanup is not None:
        spec.cleanup(candidate)


def is_healthy(candidate: RunningCandidate) -> tuple[bool, str]:
    """Whether all of a candidate's processes live and its health URL answers; the reason if not."""
    dead = [pid for pid in candidate.pids if not process.pid_alive(pid)]
    if dead:
        return False, f"process {', '.join(map(str, dead))} is gone"
    status = process.http_status(candidate.health_url or candidate.endpoint, timeout=2.0)
    if status is None:
        return False, f"{candidate.health_url or candidate.endpoint} does not answer"
    if candidate.health_status is not None and status != candidate.health_status:
        return False, f"{candidate.health_url} answers {status}, expected {candidate.health_status}"
    return True, "healthy"


def start_many(
    names: Iterable[str], base_dir: Path, *, timeout: float | None = None
) -> tuple[list[RunningCandidate], dict[str, str]]:
    """Start several candidates in parallel; return the started ones and a failure sentence per other.

    Unknown names fail before anything starts. One candidate failing does not stop the others.
    """
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        lookup(name)
    if not wanted:
        return [], {}
    pool = ThreadPoolExecutor(max_workers=min(len(wanted), 8), thread_name_prefix="candidate-start")
    futures = {name: pool.submit(start, name, base_dir, timeout=timeout) for name in wanted}
    try:
        wait(futures.values())
    except BaseException:
        # Interrupted while starting: let each start finish, then stop what did start.
        for future in futures.values():
            with contextlib.suppress(BaseException):
                stop(future.result())
        raise
    finally:
        pool.shutdown(wait=True)
    started: list[RunningCandidate] = []
    failures: dict[str, str] = {}
    for name, future in futures.items():
        error = future.exception()
        if error is None:
            started.append(future.result())
        elif isinstance(error, CompatDiffError):
            failures[name] = str(error)
        else:
            failures[name] = f"{name} failed to start: {error!r}"
    return started, failures


@contextlib.contextmanager
def running(
    names: Iterable[str],
    base_dir: Path,
    *,
    on_error: Literal["report", "raise"] = "report",
    timeout: float | None = None,
) -> Iterator[tuple[list[RunningCandidate], dict[str, str]]]:
    """Start several candidates for the duration of a ``with`` block, then stop them all.

    Yields the started candidates and ``{name: failure sentence}`` for those that failed. With
    ``on_error="raise"`` any failure stops the others and raises CannotRun naming every failure.
    Everything started is stopped on exit, including on KeyboardInterrupt.
    """
    started, failures = start_many(names, base_dir, timeout=timeout)
    try:
        if failures and on_error == "raise":
            details = " ".join(_one_line(message) for message in failures.values())
            raise CannotRun(f"{len(failures)} candidate(s) failed to start: {details}")
        yield started, failures
    finally:
        for candidate in started:
            with contextlib.suppress(CompatDiffError):
                stop(candidate)


def _one_line(message: str) -> str:
    first = message.splitlines()[0] if message else message
    return re.sub(r";? ?last lines of .*$", "", first).rstrip(":") or first
