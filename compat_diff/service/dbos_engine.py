"""The DBOS engine (``engine = "dbos"``): DBOS's durable queue carries the service's work.

Each queued DBOS workflow runs one unit of work as a DBOS step: a due schedule, a run to
finalize, or a shard, whichever the service's claim protocol (runs.py) hands out next. The queue
is shared by every process on the database; DBOS caps how many units run at once in each process
(the queue's ``worker_concurrency``) and any process may take any queued unit.

A unit is not a particular shard, so nothing is lost when a process dies holding one: its
workflow stays PENDING under that process's executor id and is not re-run, while the shard it was
working on is taken again by whichever process claims it once the lease runs out, exactly as with
the table engine. The claim protocol stays the authority on who may write a shard's result, so a
unit run twice counts once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from dbos import DBOS

from compat_diff.service.runs import has_work, release_dead_local_workers
from compat_diff.service.store import Service

log = logging.getLogger("compat_diff.service")

QUEUE = "compat-diff-work"
# The version every process enqueues and dequeues under (see DbosExecutor).
APPLICATION_VERSION = "compat-diff-unit-1"
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
    """Keeps DBOS's queue stocked with units of work while there is work to do; DBOS runs up to
    ``threads`` of them at once in this process."""

    def __init__(self, service: Service, threads: int) -> None:
        global _service
        _service = service
        self.service = service
        self.threads = max(threads, 1)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        DBOS(
            config={
                "name": "compat-diff-service",
                "system_database_url": _system_database(service),
                # Each process is its own executor: DBOS's start-up recovery re-runs the PENDING
                # workflows of the executor id it starts with, and with the shared default
                # ("local") a process starting up would re-run the units its live peers are
                # working on. A dead process's shard comes back through its lease instead.
                "executor_id": f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
                # Every process takes every unit: DBOS hands a queued workflow only to processes
                # of the version that enqueued it, and a unit means the same in every version.
                "application_version": APPLICATION_VERSION,
                "max_executor_threads": self.threads + 4,
                "console_log_level": "WARNING",
            }
        )

    def start(self) -> None:
        from compat_diff.service.worker import process_alive

        release_dead_local_workers(self.service, socket.gethostname(), process_alive)
        DBOS.launch()
        DBOS.register_queue(QUEUE, worker_concurrency=self.threads)
        self._poller = threading.Thread(target=self._poll, name="compat-diff-dbos-poller", daemon=True)
        self._poller.start()

    def waiting_units(self) -> int:
        """Units queued and not yet taken by any process (at most ``threads`` are counted)."""
        waiting = DBOS.list_queued_workflows(
            queue_name=QUEUE, status="ENQUEUED", limit=self.threads, load_input=False, load_output=False
        )
        return len(waiting)

    def _poll(self) -> None:
        # Only units nobody has taken yet are counted. Counting the units this process enqueued
        # until they finish stalled the engine: any process may take a unit, and one taken by a
        # process that then died stays PENDING for ever, so its slot never came free.
        while not self._stop.is_set():
            try:
                waiting = self.waiting_units()
                while waiting < self.threads and has_work(self.service) and not self._stop.is_set():
                    DBOS.enqueue_workflow(QUEUE, work_workflow)
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
