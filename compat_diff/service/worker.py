"""Workers and the executor interface.

An ``Executor`` runs the service's work: it takes shards and finished runs from the database and
drives them through the pipeline. Both engines do each unit of work with ``step``, which claims
it in the service's own tables under leases (runs.py), so any number of processes on one or many
machines share the work through the database, and a dead worker's shard is taken over once its
lease runs out. ``DbosExecutor`` (dbos_engine.py, the default) runs the units as DBOS workflows;
``TableExecutor`` runs them on plain worker threads. Another engine plugs in by implementing
``Executor``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Protocol

from sqlalchemy import select

from compat_diff.errors import CompatDiffError
from compat_diff.service import db
from compat_diff.service.finalize import finalize_run
from compat_diff.service.runs import (
    Claim,
    claim_finalize,
    claim_shard,
    complete_shard,
    due_schedules,
    fail_shard,
    heartbeat,
    release_dead_local_workers,
)
from compat_diff.service.shardwork import execute_shard
from compat_diff.service.store import Service

log = logging.getLogger("compat_diff.service")


class Executor(Protocol):
    """What the service needs from an engine: start working, and stop."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wait(self) -> None: ...


def make_executor(service: Service, threads: int) -> Executor:
    """The configured engine."""
    if service.config.engine == "dbos":
        from compat_diff.service.dbos_engine import DbosExecutor

        return DbosExecutor(service, threads)
    return TableExecutor(service, threads)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_name(index: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}:{uuid.uuid4().hex[:6]}"


class TableExecutor:
    def __init__(self, service: Service, threads: int) -> None:
        self.service = service
        self.threads = threads
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        release_dead_local_workers(self.service, socket.gethostname(), process_alive)
        for index in range(self.threads):
            thread = threading.Thread(
                target=self._loop, args=(worker_name(index),), name=f"compat-diff-worker-{index}", daemon=True
            )
            self._workers.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=self.service.config.replay_timeout + 5)

    def wait(self) -> None:
        """Block until stopped (``compat-diff worker``)."""
        while not self._stop.wait(1.0):
            pass

    def _loop(self, name: str) -> None:
        log.info("worker %s started", name)
        while not self._stop.is_set():
            try:
                worked = step(self.service, name)
            except Exception:
                # A database hiccup must not kill the worker; the lease protocol makes a retry safe.
                log.exception("worker %s: unexpected error, retrying", name)
                worked = False
            if not worked:
                self._stop.wait(self.service.config.poll_seconds)


def step(service: Service, name: str) -> bool:
    """One unit of work: a due schedule, a run to finalize, or a shard. False when there was none."""
    due_schedules(service, service.clock())
    finalizing = claim_finalize(service)
    if finalizing is not None:
        finalize_run(service, finalizing)
        return True
    claim = claim_shard(service, name)
    if claim is None:
        return False
    run_shard(service, claim)
    return True


def run_shard(service: Service, claim: Claim) -> bool:
    with service.engine.connect() as conn:
        suite_path = conn.execute(
            select(db.suites.c.path)
            .join(db.runs, db.runs.c.suite_id == db.suites.c.id)
            .where(db.runs.c.id == claim.run_id)
        ).scalar_one()
    beating = threading.Event()
    lost = threading.Event()

    def beat() -> None:
        interval = max(service.config.lease_seconds / 3, 0.2)
        while not beating.wait(interval):
            if not heartbeat(service, claim):
                lost.set()
                return

    heart = threading.Thread(target=beat, name=f"lease-{claim.shard_id}", daemon=True)
    heart.start()
    try:
        operations = execute_shard(service, claim, Path(suite_path))
    except CompatDiffError as error:
        log.warning("shard %s of run %s failed: %s", claim.key, claim.run_id, error)
        fail_shard(service, claim, str(error))
        return False
    except Exception as error:
        log.exception("shard %s of run %s failed inside compat-diff", claim.key, claim.run_id)
        fail_shard(service, claim, f"internal error: {type(error).__name__}: {error}")
        return False
    finally:
        beating.set()
        heart.join()
    if lost.is_set():
        log.warning(
            "shard %s of run %s: lease lost while running; its result will be refused",
            claim.key,
            claim.run_id,
        )
    return complete_shard(service, claim, operations)
