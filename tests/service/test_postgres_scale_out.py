"""The service on PostgreSQL with two worker processes: runs of a suite against two endpoints
spread over both workers, one worker is SIGKILLed mid-run, and the results equal those of the
same runs on the embedded SQLite service."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from compat_diff.service import db
from compat_diff.testing import moto_server, stop_process

from .conftest import ADMIN, SECRET, make_suite, service_env, start_service, start_worker
from .postgres import start_postgres

pytestmark = pytest.mark.live

RECORDINGS = ("s3_minimal.jsonl", "sqs.jsonl", "sts.jsonl", "iam.jsonl")
CONFIG = """
[service]
lease_seconds = 3
poll_seconds = 0.2
endpoint_concurrency = 1
suites = [{suite!r}]
engine = {engine!r}
"""


def _runs(server: Any, urls: list[str]) -> list[int]:  # the same runs on any service
    _, created = server.call("POST", "/api/v1/providers", {"name": "acme"}, ADMIN)
    ids = []
    for index, url in enumerate(urls):
        status, answer = server.call(
            "POST",
            "/api/v1/providers/acme/endpoints",
            {"name": f"e{index}", "endpoint": url, "access_key": "AKIAKEY", "secret_key": SECRET},
            created["token"],
        )
        assert status == 201, answer
        _, run = server.call(
            "POST",
            "/api/v1/runs",
            {"provider": "acme", "endpoint": f"e{index}", "suite": "four"},
            created["token"],
        )
        ids.append(run["id"])
    return ids


def _operations(server: Any, run_id: int) -> dict[str, tuple[int, int]]:
    _, operations = server.call("GET", f"/api/v1/runs/{run_id}/operations")
    return {name: (op["exchanges"], op["compared"]) for name, op in operations.items()}


@pytest.mark.parametrize("engine", ["table", "dbos"])
def test_two_workers_on_postgresql_one_killed_equal_the_embedded_run(tmp_path: Path, engine: str) -> None:
    suite = make_suite(tmp_path / "suite", RECORDINGS, "four")
    config = tmp_path / "service.toml"
    config.write_text(CONFIG.format(suite=str(suite), engine=engine))
    with moto_server() as first, moto_server() as second:
        # The embedded service: SQLite, two workers in the serve process (with the same engine).
        embedded = start_service(tmp_path / "embedded", config, workers=2)
        try:
            embedded_ids = _runs(embedded, [first.url, second.url])
            embedded_runs = [embedded.wait_run(i) for i in embedded_ids]
            expected = [_operations(embedded, i) for i in embedded_ids]
        finally:
            embedded.stop()

        postgres = start_postgres()
        env = service_env(COMPAT_DIFF_DATABASE_URL=postgres.url)
        data = tmp_path / "scaled"
        server = start_service(data, config, workers=0, env=env)
        workers = [start_worker(data, config, env=env), start_worker(data, config, env=env)]
        try:
            ids = _runs(server, [first.url, second.url])
            deadline = time.monotonic() + 120
            while True:
                running = [
                    server.call("GET", f"/api/v1/runs/{i}")[1]["progress"]["shards"].get("running", 0)
                    for i in ids
                ]
                if sum(running) >= 2:
                    break
                assert time.monotonic() < deadline
                time.sleep(0.05)
            engine = create_engine(postgres.url)
            with engine.connect() as conn:
                holders = (
                    conn.execute(select(db.shards.c.worker).where(db.shards.c.state == "running"))
                    .scalars()
                    .all()
                )
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            runs = [server.wait_run(i) for i in ids]
            observed = [_operations(server, i) for i in ids]
            with engine.connect() as conn:
                by_worker = conn.execute(select(db.shard_results.c.worker, db.shard_results.c.attempt)).all()
            engine.dispose()
        finally:
            for worker in workers:
                stop_process(worker)
            server.stop()
            postgres.stop()
    for run, calm in zip(runs, embedded_runs, strict=True):
        assert run["state"] == "finished", run
        assert run["counts"]["exchanges"] == calm["counts"]["exchanges"]
        assert run["counts"]["compared"] == calm["counts"]["compared"]
    assert observed == expected
    # The work was spread over both worker processes; the killed one's shard was taken again, and
    # every shard was written exactly once.
    assert len({holder.rsplit(":", 2)[0] for holder in holders}) == 2
    assert max(attempt for _, attempt in by_worker) >= 2
    assert len(by_worker) == 2 * 4
