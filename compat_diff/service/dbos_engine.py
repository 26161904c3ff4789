"""The DBOS engine (``engine = "dbos"``): DBOS's durable queues carry the service's work.

Each queued DBOS workflow runs one unit of work as a DBOS step: a due schedule, a run to
finalize, or a shard, whichever the service's claim protocol (runs.py) hands out next; that
protocol spreads the work over every process on the database, as with the table engine.

Each process has its own DBOS queue, with its own executor id, and listens to that queue only:
DBOS keeps a queue's settings in its database and applies them to every process that listens to
it, so a queue shared by all processes would run every process at the ``workers`` of whichever
started last. A process keeps its queue stocked while there is work, and the queue's
``worker_concurrency`` runs up to ``workers`` units of it at once.

A unit is not a particular shard, so nothing is lost when a process dies holding one: its
workflow stays PENDING under its executor id and is not re-run, while the shard it was working
on is taken again by whichever process claims it once the lease runs out. The claim protocol
stays the authority on who may write a shard's result, so a unit run twice counts once.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from dbos import DBOS

from compat_diff.service.runs import dead_here, has_work, release_dead_local_workers
from compat_diff.service.store import Service

log = logging.getLogger("compat_diff.service")

QUEUE = "compat-diff-work"
APPLICATION_NAME = "compat-diff-service"
# The version every process enqueues and dequeues under (see DbosExecutor).
APPLICATION_VERSION = "compat-diff-unit-1"
# Records of finished units deleted at once, at most.
PRUNE_BATCH = 1000
_service: Service | None = None


@DBOS.step()
def _one_unit() -> bool:
    from compat_diff.service.worker import step

    assert _service is not None
    name = f"{socket.gethostname()}:{os.getpid()}:dbos:{uuid.uuid4().hex[:6]}"
    return step(_service, name)


@DBOS.workflow()
def work_workflow() -> bool:
    return bool(_one_unit())


def _system_database(service: Service) -> str:
    url = service.config.database
    if url.startswith("sqlite"):
        return f"sqlite:///{(service.config.data / 'dbos.sqlite').resolve()}"
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class DbosExecutor:
    """Keeps this process's DBOS queue stocked with units of work while there is work to do; DBOS
    runs up to ``threads`` of them at once."""

    def __init__(self, service: Service, threads: int) -> None:
        global _service
        _service = service
        self.service = service
        self.threads = max(threads, 1)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        host = socket.gethostname()
        # Its own executor id: DBOS's start-up recovery re-runs the PENDING workflows of the
        # executor id a process starts with; under the shared default ("local") a process
        # starting up would re-run the units its live peers are working on.
        self.executor_id = f"{host}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.queue = f"{QUEUE}@{self.executor_id}"
        DBOS(
            config={
                "name": APPLICATION_NAME,
                "system_database_url": _system_database(service),
                "executor_id": self.executor_id,
                # One version for every compat-diff release: a unit means the same in all of them.
                "application_version": APPLICATION_VERSION,
                "max_executor_threads": self.threads + 4,
                "console_log_level": "WARNING",
            }
        )

    def start(self) -> None:
        from compat_diff.service.worker import process_alive

        release_dead_local_workers(self.service, socket.gethostname(), process_alive)
        DBOS.listen_queues([self.queue])
        DBOS.launch()
        try:
            forget_dead_local_queues(socket.gethostname(), process_alive)
        except Exception:  # housekeeping: a worker starts without it
            log.exception("dbos engine: could not delete the queues of dead processes")
        DBOS.register_queue(
            self.queue,
            worker_concurrency=self.threads,
            polling_interval_sec=min(self.service.config.poll_seconds, 1.0),
        )
        self._poller = threading.Thread(target=self._poll, name="compat-diff-dbos-poller", daemon=True)
        self._poller.start()

    def waiting_units(self) -> int:
        """Units on this process's queue not started yet (at most ``threads`` are counted)."""
        waiting = DBOS.list_queued_workflows(
            queue_name=self.queue, status="ENQUEUED", limit=self.threads, load_input=False, load_output=False
        )
        return len(waiting)

    def prune(self, now: datetime | None = None) -> int:
        """Delete the records of units finished more than ``dbos_keep_hours`` ago (any process's);
        returns how many. A unit's result lives in the service's tables, not in DBOS's."""
        keep = timedelta(hours=self.service.config.dbos_keep_hours)
        cutoff = ((now or datetime.now(UTC)) - keep).isoformat()
        finished = DBOS.list_workflows(
            status=["SUCCESS", "ERROR", "CANCELLED"],
            completed_before=cutoff,
            limit=PRUNE_BATCH,
            load_input=False,
            load_output=False,
        )
        ids = [workflow.workflow_id for workflow in finished]
        if ids:
            DBOS.delete_workflows(ids)
        return len(ids)

    def _poll(self) -> None:
        # Units waiting to start are counted, not units until they finish: one left PENDING for
        # ever (its process died, when the queue was shared by all processes) held its slot for
        # ever and the engine stopped taking work. DBOS's worker_concurrency caps those running.
        pruned_at = -math.inf
        # A quarter of the time records are kept, within [poll_seconds, one hour].
        every = min(3600.0, max(self.service.config.poll_seconds, self.service.config.dbos_keep_hours * 900))
        while not self._stop.is_set():
            if time.monotonic() - pruned_at >= every:
                pruned_at = time.monotonic()
                try:
                    self.prune()
                except Exception:  # housekeeping: the work goes on without it
                    log.exception("dbos engine: could not delete the records of old units")
            try:
                waiting = self.waiting_units()
                while waiting < self.threads and has_work(self.service) and not self._stop.is_set():
                    DBOS.enqueue_workflow(self.queue, work_workflow)
                    waiting += 1
            except Exception:
                log.exception("dbos engine: could not enqueue work, retrying")
            self._stop.wait(self.service.config.poll_seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=10)
        DBOS.destroy(workflow_completion_timeout_sec=int(self.service.config.replay_timeout))

    def wait(self) -> None:
        while not self._stop.wait(1.0):
            pass


def forget_dead_local_queues(host: str, alive: Any) -> int:
    """Delete the queues of this machine's processes that are gone (their units were only
    "take the next piece of work"; the shards they held come back through their leases)."""
    forgotten = 0
    for queue in DBOS.list_queues(application_name=APPLICATION_NAME):
        owner = queue.name.removeprefix(f"{QUEUE}@")
        if owner == queue.name:
            continue
        if dead_here(owner, host, alive):
            DBOS.delete_queue(queue.name)
            forgotten += 1
    return forgotten
