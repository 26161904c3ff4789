"""Runs and their shards: the claim, heartbeat and write-once protocol that makes every shard
count exactly once, whatever workers die, and the finalizing step that scores from the rows.

A shard is claimed by raising its attempt number under a lease; only the holder of the current
attempt may write its result, and the result table's unique (run, shard) key refuses a second
write. A worker presumed dead (its lease ran out) whose write arrives late is refused; its shard
was given to another attempt. The score is computed from the stored rows once every shard is
done, never incremented.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from compat_diff.errors import InputError
from compat_diff.service import db
from compat_diff.service.store import Forbidden, NotFound, Principal, Service, aware, new_id
from compat_diff.service.suites import shards_of

log = logging.getLogger("compat_diff.service")

STATES = ("queued", "running", "finished", "failed", "cancelled")
ACTIVE = ("queued", "running")
# A shard whose worker died this many times is given up (a poison shard must not loop forever).
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Claim:
    shard_id: int
    run_id: int
    key: str
    recording: str
    session: str
    endpoint_id: int
    attempt: int
    worker: str


@dataclass(frozen=True)
class FinalizeClaim:
    run_id: int
    attempt: int


def create_run(
    service: Service, principal: Principal, provider: str, endpoint: str, suite: str, trigger: str = "api"
) -> dict[str, Any]:
    provider_row = service.provider_for(principal, provider)
    endpoint_row = service.endpoint_row(provider_row.id, endpoint)
    return create_run_for(service, endpoint_row, suite, trigger)


def create_run_for(service: Service, endpoint_row: Any, suite: str, trigger: str) -> dict[str, Any]:
    suite_row = service.suite_row(suite)
    claimed = set(endpoint_row.services or ())
    recordings = {r["path"]: set(r["services"]) for r in suite_row.manifest["recordings"]}
    shards = [
        shard
        for shard in shards_of(suite_row.manifest)
        if not claimed or recordings[shard.recording] & claimed
    ]
    if not shards:
        raise InputError(
            f"suite {suite} exercises none of the services the endpoint claims ({', '.join(claimed)})."
        )
    now = service.clock()
    with service.engine.begin() as conn:
        run_id = new_id(
            conn.execute(
                insert(db.runs).values(
                    endpoint_id=endpoint_row.id,
                    suite_id=suite_row.id,
                    state="queued",
                    trigger=trigger,
                    created=now,
                    shards_total=len(shards),
                    finalize_attempt=0,
                )
            )
        )
        conn.execute(
            insert(db.shards),
            [
                {
                    "run_id": run_id,
                    "key": shard.key,
                    "recording": shard.recording,
                    "session": shard.session,
                    "exchanges": shard.exchanges,
                    "endpoint_id": endpoint_row.id,
                    "state": "pending",
                    "attempt": 0,
                }
                for shard in shards
            ],
        )
    log.info("run %s queued: suite %s, %d shards (%s)", run_id, suite, len(shards), trigger)
    return {"id": run_id, "state": "queued"}


def cancel_run(service: Service, principal: Principal, run_id: int) -> dict[str, Any]:
    run = run_row(service, run_id)
    endpoint = service.endpoint_by_id(run.endpoint_id)
    if not principal.may_act_for(endpoint.provider_id):
        raise Forbidden("this token may not cancel that run.")
    with service.engine.begin() as conn:
        changed = conn.execute(
            update(db.runs)
            .where(db.runs.c.id == run_id, db.runs.c.state.in_(ACTIVE))
            .values(state="cancelled", finished=service.clock())
        ).rowcount
        conn.execute(
            update(db.shards)
            .where(db.shards.c.run_id == run_id, db.shards.c.state.in_(("pending", "running")))
            .values(state="cancelled")
        )
    return {"id": run_id, "state": "cancelled" if changed else run.state}


def run_row(service: Service, run_id: int) -> Any:
    with service.engine.connect() as conn:
        row = conn.execute(select(db.runs).where(db.runs.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"no run {run_id}.")
    return row


def claim_shard(service: Service, worker: str) -> Claim | None:
    """Take the next free shard (or one whose lease ran out) within its endpoint's concurrency limit."""
    now = service.clock()
    lease = now + timedelta(seconds=service.config.lease_seconds)
    with service.engine.begin() as conn:
        candidates = conn.execute(
            select(db.shards)
            .join(db.runs, db.runs.c.id == db.shards.c.run_id)
            .where(
                db.runs.c.state.in_(ACTIVE),
                or_(
                    db.shards.c.state == "pending",
                    and_(db.shards.c.state == "running", db.shards.c.lease_until < now),
                ),
            )
            .order_by(db.shards.c.run_id, db.shards.c.id)
            .limit(50)
        ).all()
        busy: dict[int, int] = {}
        for shard in candidates:
            if shard.attempt >= MAX_ATTEMPTS:
                conn.execute(
                    update(db.shards)
                    .where(db.shards.c.id == shard.id, db.shards.c.attempt == shard.attempt)
                    .values(state="failed", error=f"gave up after {shard.attempt} attempts")
                )
                continue
            if shard.endpoint_id not in busy:
                # Locks the endpoint's row on PostgreSQL; SQLite's IMMEDIATE transaction already
                # serializes claims.
                conn.execute(
                    select(db.endpoints.c.id).where(db.endpoints.c.id == shard.endpoint_id).with_for_update()
                )
                busy[shard.endpoint_id] = conn.execute(
                    select(func.count())
                    .select_from(db.shards)
                    .where(
                        db.shards.c.endpoint_id == shard.endpoint_id,
                        db.shards.c.state == "running",
                        db.shards.c.lease_until >= now,
                    )
                ).scalar_one()
            if busy[shard.endpoint_id] >= service.config.endpoint_concurrency:
                continue
            taken = conn.execute(
                update(db.shards)
                .where(
                    db.shards.c.id == shard.id,
                    db.shards.c.attempt == shard.attempt,
                    db.shards.c.state == shard.state,
                )
                .values(state="running", attempt=shard.attempt + 1, worker=worker, lease_until=lease)
            ).rowcount
            if not taken:
                continue
            conn.execute(
                update(db.runs)
                .where(db.runs.c.id == shard.run_id, db.runs.c.state == "queued")
                .values(state="running", started=now)
            )
            if shard.attempt:
                log.info(
                    "shard %s of run %s taken again (attempt %d)", shard.key, shard.run_id, shard.attempt + 1
                )
            return Claim(
                shard_id=shard.id,
                run_id=shard.run_id,
                key=shard.key,
                recording=shard.recording,
                session=shard.session,
                endpoint_id=shard.endpoint_id,
                attempt=shard.attempt + 1,
                worker=worker,
            )
    return None


def dead_here(name: str, host: str, alive: Any) -> bool:
    """Whether ``name`` (``host:pid:...``, how workers and queues are named) is of a process of
    this machine that is gone."""
    owner_host, _, rest = name.partition(":")
    pid = rest.partition(":")[0]
    return owner_host == host and pid.isdigit() and not alive(int(pid))


def release_dead_local_workers(service: Service, host: str, alive: Any) -> int:
    """Expire the leases held by workers of this machine whose process is gone (a restart after
    a crash), so their shards are taken again at once instead of when the lease runs out."""
    now = service.clock()
    released = 0
    with service.engine.begin() as conn:
        held = conn.execute(
            select(db.shards.c.id, db.shards.c.attempt, db.shards.c.worker).where(
                db.shards.c.state == "running", db.shards.c.worker.like(f"{host}:%")
            )
        ).all()
        for shard in held:
            if not dead_here(str(shard.worker), host, alive):
                continue
            released += conn.execute(
                update(db.shards)
                .where(db.shards.c.id == shard.id, db.shards.c.attempt == shard.attempt)
                .values(lease_until=now - timedelta(seconds=1))
            ).rowcount
    if released:
        log.info("%d shard(s) of a dead worker on this machine released", released)
    return released


def has_work(service: Service) -> bool:
    """Whether a worker would find something: a free or abandoned shard, a run to finalize, a due
    schedule (a cheap look, so an engine can wait without claiming)."""
    now = service.clock()
    with service.engine.connect() as conn:
        shard = conn.execute(
            select(db.shards.c.id)
            .join(db.runs, db.runs.c.id == db.shards.c.run_id)
            .where(
                db.runs.c.state.in_(ACTIVE),
                or_(
                    db.shards.c.state == "pending",
                    and_(db.shards.c.state == "running", db.shards.c.lease_until < now),
                ),
            )
            .limit(1)
        ).first()
        if shard is not None:
            return True
        unsettled = (
            select(db.shards.c.id)
            .where(db.shards.c.run_id == db.runs.c.id, db.shards.c.state.in_(("pending", "running")))
            .exists()
        )
        finalizable = conn.execute(
            select(db.runs.c.id).where(db.runs.c.state == "running", ~unsettled).limit(1)
        ).first()
        if finalizable is not None:
            return True
        due = conn.execute(
            select(db.endpoints.c.id)
            .where(db.endpoints.c.schedule.is_not(None), db.endpoints.c.next_scheduled <= now)
            .limit(1)
        ).first()
    return due is not None


def heartbeat(service: Service, claim: Claim) -> bool:
    """Extend the lease; False when the shard is no longer this attempt's."""
    lease = service.clock() + timedelta(seconds=service.config.lease_seconds)
    with service.engine.begin() as conn:
        return bool(
            conn.execute(
                update(db.shards)
                .where(
                    db.shards.c.id == claim.shard_id,
                    db.shards.c.attempt == claim.attempt,
                    db.shards.c.state == "running",
                )
                .values(lease_until=lease)
            ).rowcount
        )


def complete_shard(service: Service, claim: Claim, operations: list[dict[str, Any]]) -> bool:
    """Write the shard's per-operation results once; False (nothing written) for a late attempt."""
    try:
        with service.engine.begin() as conn:
            mine = conn.execute(
                update(db.shards)
                .where(
                    db.shards.c.id == claim.shard_id,
                    db.shards.c.attempt == claim.attempt,
                    db.shards.c.state == "running",
                )
                .values(state="done", lease_until=None)
            ).rowcount
            if not mine:
                raise _Refused
            conn.execute(
                insert(db.shard_results).values(
                    run_id=claim.run_id,
                    key=claim.key,
                    attempt=claim.attempt,
                    worker=claim.worker,
                    written=service.clock(),
                )
            )
            if operations:
                conn.execute(
                    insert(db.operation_results),
                    [
                        {
                            "run_id": claim.run_id,
                            "shard_key": claim.key,
                            "service": op["service"],
                            "operation": op["operation"],
                            "exchanges": op["exchanges"],
                            "compared": op["compared"],
                            "matching": op["matching"],
                            "verdict": op["verdict"],
                            "detail": op,
                        }
                        for op in operations
                    ],
                )
    except (_Refused, IntegrityError):
        log.warning(
            "late result for shard %s of run %s (attempt %d) refused: another attempt owns it",
            claim.key,
            claim.run_id,
            claim.attempt,
        )
        return False
    return True


def fail_shard(service: Service, claim: Claim, error: str) -> None:
    with service.engine.begin() as conn:
        conn.execute(
            update(db.shards)
            .where(
                db.shards.c.id == claim.shard_id,
                db.shards.c.attempt == claim.attempt,
                db.shards.c.state == "running",
            )
            .values(state="failed", error=error[:2000], lease_until=None)
        )


class _Refused(Exception):
    pass


def claim_finalize(service: Service) -> FinalizeClaim | None:
    """Take a running run whose shards are all settled, for scoring (leased like a shard)."""
    now = service.clock()
    lease = now + timedelta(seconds=service.config.lease_seconds)
    unsettled = (
        select(db.shards.c.id)
        .where(db.shards.c.run_id == db.runs.c.id, db.shards.c.state.in_(("pending", "running")))
        .exists()
    )
    with service.engine.begin() as conn:
        rows = conn.execute(
            select(db.runs.c.id, db.runs.c.finalize_attempt, db.runs.c.finalize_lease)
            .where(db.runs.c.state == "running", ~unsettled)
            .order_by(db.runs.c.id)
            .limit(10)
        ).all()
        for row in rows:
            held = aware(row.finalize_lease)
            if held is not None and held >= now:
                continue
            taken = conn.execute(
                update(db.runs)
                .where(
                    db.runs.c.id == row.id,
                    db.runs.c.finalize_attempt == row.finalize_attempt,
                    db.runs.c.state == "running",
                )
                .values(finalize_attempt=row.finalize_attempt + 1, finalize_lease=lease)
            ).rowcount
            if taken:
                return FinalizeClaim(run_id=row.id, attempt=row.finalize_attempt + 1)
    return None


def progress(service: Service, run_id: int) -> dict[str, Any]:
    with service.engine.connect() as conn:
        rows = conn.execute(
            select(db.shards.c.state, func.count(), func.sum(db.shards.c.exchanges))
            .where(db.shards.c.run_id == run_id)
            .group_by(db.shards.c.state)
        ).all()
        attempts = conn.execute(
            select(func.max(db.shards.c.attempt)).where(db.shards.c.run_id == run_id)
        ).scalar_one()
    shards = {state: count for state, count, _ in rows}
    exchanges = {state: int(total or 0) for state, _, total in rows}
    total = sum(shards.values())
    return {
        "shards": shards,
        "shards_total": total,
        "shards_done": shards.get("done", 0),
        "exchanges_total": sum(exchanges.values()),
        "exchanges_done": exchanges.get("done", 0),
        "max_attempt": int(attempts or 0),
    }


def due_schedules(service: Service, now: datetime) -> list[dict[str, Any]]:
    """Start the runs whose endpoint schedule came due; each slot is claimed by one worker only."""
    from compat_diff.service.cron import next_time

    started: list[dict[str, Any]] = []
    with service.engine.connect() as conn:
        due = conn.execute(
            select(db.endpoints).where(
                db.endpoints.c.schedule.is_not(None), db.endpoints.c.next_scheduled <= now
            )
        ).all()
    for endpoint in due:
        with service.engine.begin() as conn:
            claimed = conn.execute(
                update(db.endpoints)
                .where(
                    db.endpoints.c.id == endpoint.id, db.endpoints.c.next_scheduled == endpoint.next_scheduled
                )
                .values(next_scheduled=next_time(endpoint.schedule, now))
            ).rowcount
        if claimed:
            try:
                started.append(
                    create_run_for(service, endpoint, endpoint.schedule_suite or "bundled", "schedule")
                )
            except InputError as error:
                log.warning("scheduled run of endpoint %s not started: %s", endpoint.name, error)
    return started
