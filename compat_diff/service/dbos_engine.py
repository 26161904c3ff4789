"""The DBOS engine (``engine = "dbos"``): DBOS's durable queue carries the service's work.

Each queued DBOS workflow runs one unit of work as a DBOS step: a due schedule, a run to
finalize, or a shard. DBOS hands queued workflows out across every process on the database and
re-runs the workflow of a process that died; the service's own claim protocol (runs.py) stays
the authority on who may write a shard's result, so a step DBOS runs twice counts once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any

from dbos import DBOS

from compat_diff.service.runs import has_work, release_dead_local_workers
from compat_diff.service.store import Service

log = logging.getLogger("compat_diff.service")

QUEUE = "compat-diff-work"
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
    """Keeps up to ``threads`` units of work queued in DBOS while there is work to do."""

    def __init__(self, service: Service, threads: int) -> None:
        global _service
        _service = service
        self.service = service
        # One unit at a time per process: with several DBOS queue workers in one process, runs
        # were seen to stall with shards left pending; scale the DBOS engine with processes.
        if threads > 1:
            log.warning("the dbos engine runs one unit of work at a time per process (asked for %d)", threads)
        self.threads = 1
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._handles: list[Any] = []
        DBOS(
            config={
                "name": "compat-diff-service",
                "system_database_url": _system_database(service),
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

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self._handles = [h for h in self._handles if h.get_status().status in ("ENQUEUED", "PENDING")]
                while len(self._handles) < self.threads and has_work(self.service):
                    self._handles.append(DBOS.enqueue_workflow(QUEUE, work_workflow))
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
