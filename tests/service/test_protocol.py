"""The shard protocol: claims under leases, results written once, late writes refused, the score
computed from the rows, per-endpoint concurrency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from compat_diff.service import db
from compat_diff.service.finalize import finalize_run
from compat_diff.service.runs import (
    claim_finalize,
    claim_shard,
    complete_shard,
    create_run,
    heartbeat,
    progress,
)
from compat_diff.service.store import Principal, Service
from compat_diff.service.worker import step

from .conftest import SECRET, service_config

ADMIN = Principal(admin=True)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _setup(
    tmp_path: Path, suite_dir: Path, moto_url: str, clock: Clock | None = None, **settings: object
) -> Service:
    service = Service(service_config(tmp_path / "data", **settings), clock=clock or Clock())
    service.register_suite(suite_dir)
    service.create_provider("acme")
    service.add_endpoint(
        ADMIN, "acme", {"name": "moto", "endpoint": moto_url, "access_key": "AKIATEST", "secret_key": SECRET}
    )
    return service


def _op(service: str, operation: str, exchanges: int, matching: int) -> dict[str, object]:
    return {
        "service": service,
        "operation": operation,
        "exchanges": exchanges,
        "compared": exchanges,
        "matching": matching,
        "verdict": "match" if matching == exchanges else "diverges",
        "verdicts": {"match": matching, "diverges": exchanges - matching},
    }


def test_a_late_write_from_a_presumed_dead_worker_is_refused(tmp_path: Path, suite_dir: Path) -> None:
    clock = Clock()
    service = _setup(tmp_path, suite_dir, "http://127.0.0.1:9", clock)
    run = create_run(service, ADMIN, "acme", "moto", "mini")
    first = claim_shard(service, "worker-a")
    assert first is not None and first.attempt == 1
    # worker-a stops beating; its lease runs out and worker-b takes the same shard over.
    clock.now += timedelta(seconds=service.config.lease_seconds + 1)
    second = claim_shard(service, "worker-b")
    assert second is not None and second.key == first.key and second.attempt == 2
    assert not heartbeat(service, first)
    assert complete_shard(service, second, [_op("sqs", "CreateQueue", 2, 2)])
    # worker-a comes back and writes: refused, and nothing it sent is counted.
    assert not complete_shard(service, first, [_op("sqs", "CreateQueue", 2, 0), _op("sqs", "Bogus", 5, 5)])
    with service.engine.connect() as conn:
        rows = conn.execute(
            select(db.operation_results).where(db.operation_results.c.run_id == run["id"])
        ).all()
        written = conn.execute(select(db.shard_results)).all()
    assert [(r.operation, r.matching) for r in rows] == [("CreateQueue", 2)]
    assert [(w.key, w.attempt, w.worker) for w in written] == [(first.key, 2, "worker-b")]


def test_a_result_is_written_once_even_by_the_same_attempt(tmp_path: Path, suite_dir: Path) -> None:
    service = _setup(tmp_path, suite_dir, "http://127.0.0.1:9")
    create_run(service, ADMIN, "acme", "moto", "mini")
    claim = claim_shard(service, "w")
    assert claim is not None
    assert complete_shard(service, claim, [_op("sqs", "CreateQueue", 1, 1)])
    assert not complete_shard(service, claim, [_op("sqs", "CreateQueue", 1, 1)])
    assert service.count(db.operation_results) == 1


def test_one_endpoint_gets_at_most_its_concurrency(tmp_path: Path, suite_dir: Path) -> None:
    service = _setup(tmp_path, suite_dir, "http://127.0.0.1:9", endpoint_concurrency=1)
    create_run(service, ADMIN, "acme", "moto", "mini")
    assert claim_shard(service, "a") is not None
    # Two shards are pending, but the endpoint already has one in flight.
    assert claim_shard(service, "b") is None


def test_the_score_comes_from_the_rows_once_every_shard_is_done(tmp_path: Path, suite_dir: Path) -> None:
    service = _setup(tmp_path, suite_dir, "http://127.0.0.1:9", endpoint_concurrency=4)
    run = create_run(service, ADMIN, "acme", "moto", "mini")
    first = claim_shard(service, "a")
    second = claim_shard(service, "b")
    assert first is not None and second is not None
    assert complete_shard(service, first, [_op("sqs", "CreateQueue", 4, 3)])
    assert claim_finalize(service) is None  # one shard is still running
    assert complete_shard(service, second, [_op("sts", "GetCallerIdentity", 6, 6)])
    finalizing = claim_finalize(service)
    assert finalizing is not None and claim_finalize(service) is None
    assert finalize_run(service, finalizing)
    with service.engine.connect() as conn:
        row = conn.execute(select(db.runs).where(db.runs.c.id == run["id"])).one()
    assert row.state == "finished"
    assert row.score == 9 / 10
    assert row.summary["services"] == {"sqs": 0.75, "sts": 1.0}
    assert row.summary["verdict"] == "fail" and row.summary["required_failing"] == ["sqs.CreateQueue"]
    assert progress(service, run["id"])["exchanges_done"] == 44


def test_a_worker_step_replays_a_shard_through_the_pipeline(
    tmp_path: Path, suite_dir: Path, moto: object
) -> None:
    service = _setup(tmp_path, suite_dir, moto.url)  # type: ignore[attr-defined]
    run = create_run(service, ADMIN, "acme", "moto", "mini")
    while step(service, "w"):
        pass
    with service.engine.connect() as conn:
        row = conn.execute(select(db.runs).where(db.runs.c.id == run["id"])).one()
    assert row.state == "finished", row.error
    assert row.summary["counts"]["exchanges"] == 44
    report = tmp_path / "data" / "runs" / str(run["id"]) / "report"
    assert (report / "report.json").exists() and (report / "index.html").exists()


def test_a_restart_releases_the_shards_of_dead_local_workers_at_once(tmp_path: Path, suite_dir: Path) -> None:
    from compat_diff.service.runs import release_dead_local_workers

    service = _setup(tmp_path, suite_dir, "http://127.0.0.1:9", endpoint_concurrency=4)
    create_run(service, ADMIN, "acme", "moto", "mini")
    dead = claim_shard(service, "host-a:4242:0:abc")
    living = claim_shard(service, "host-a:4343:0:def")
    assert dead is not None and living is not None
    assert claim_shard(service, "host-a:1:0:x") is None  # both shards are held
    assert release_dead_local_workers(service, "host-a", lambda pid: pid == 4343) == 1
    retaken = claim_shard(service, "host-a:1:0:x")
    assert retaken is not None and retaken.key == dead.key and retaken.attempt == 2


def test_a_finished_runs_verdict_follows_capability_changes(tmp_path: Path, suite_dir: Path) -> None:
    from compat_diff.service.finalize import describe_run

    service = _setup(tmp_path, suite_dir, "http://127.0.0.1:9", endpoint_concurrency=4)
    run = create_run(service, ADMIN, "acme", "moto", "mini")
    for worker in ("a", "b"):
        claim = claim_shard(service, worker)
        assert claim is not None
        rows = (
            [_op("sqs", "CreateQueue", 2, 1)]
            if claim.key.startswith("sqs")
            else [_op("sts", "GetCallerIdentity", 1, 1)]
        )
        assert complete_shard(service, claim, rows)
    finalizing = claim_finalize(service)
    assert finalizing is not None and finalize_run(service, finalizing)
    assert describe_run(service, run["id"])["verdict"] == "fail"
    service.set_capability("mini", "sqs", "CreateQueue", "advisory")
    described = describe_run(service, run["id"])
    assert described["verdict"] == "pass" and described["attested_verdict"] == "fail"


def test_a_cancelled_run_gives_out_no_more_shards_and_refuses_results(
    tmp_path: Path, suite_dir: Path
) -> None:
    from compat_diff.service.runs import cancel_run

    service = _setup(tmp_path, suite_dir, "http://127.0.0.1:9", endpoint_concurrency=4)
    run = create_run(service, ADMIN, "acme", "moto", "mini")
    claim = claim_shard(service, "a")
    assert claim is not None
    assert cancel_run(service, ADMIN, run["id"])["state"] == "cancelled"
    assert claim_shard(service, "b") is None
    assert not complete_shard(service, claim, [_op("sqs", "CreateQueue", 1, 1)])
    assert claim_finalize(service) is None
    assert service.count(db.operation_results) == 0
