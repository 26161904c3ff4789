"""Synthetic history for the service's pages: providers, endpoints and daily finished runs with
per-operation results and real signed, chained attestations, written straight into the tables.

Used by the page benchmark (years of history no test can wait for) and by tests that need a run
that ended long ago. The runs never happened: their trigger is ``synthetic``, so no page or
export can pass them off as observed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from compat_diff.report.result import OperationResult
from compat_diff.service import db
from compat_diff.service.attest import envelope_digest, make_statement, sign_statement
from compat_diff.service.finalize import GENESIS, results_bundle
from compat_diff.service.keys import current_key
from compat_diff.service.store import Service

TRIGGER = "synthetic"


def seed_history(
    service: Service,
    *,
    suite: str,
    providers: list[str],
    services: list[str],
    days: int,
    ended: datetime,
    operations_per_service: int = 5,
    valid_days: int = 30,
    seed: int = 1,
) -> int:
    """Daily runs of ``suite`` for each provider (one endpoint each), the newest ending at
    ``ended``; returns the number of runs written."""
    rng = random.Random(seed)
    suite_row = service.suite_row(suite)
    key = current_key(service)
    sealed = service.box.encrypt(b"{}")
    written = 0
    with service.engine.begin() as conn:
        for provider in providers:
            existing = conn.execute(select(db.providers.c.id).where(db.providers.c.name == provider)).scalar()
            provider_id = existing or db.inserted_id(
                conn.execute(insert(db.providers).values(name=provider, created=ended - timedelta(days=days)))
            )
            endpoint_id = db.inserted_id(
                conn.execute(
                    insert(db.endpoints).values(
                        provider_id=provider_id,
                        name="main",
                        endpoint=f"https://{provider}.example.net",
                        region="us-east-1",
                        services=services,
                        endpoints={},
                        s3_addressing="path",
                        credentials=sealed,
                        created=ended - timedelta(days=days),
                    )
                )
            )
            quality = rng.uniform(0.5, 1.0)
            previous = None
            for day in range(days):
                finished = ended - timedelta(days=days - 1 - day)
                run_id = db.inserted_id(
                    conn.execute(
                        insert(db.runs).values(
                            endpoint_id=endpoint_id,
                            suite_id=suite_row.id,
                            state="finished",
                            trigger=TRIGGER,
                            created=finished - timedelta(minutes=5),
                            started=finished - timedelta(minutes=4),
                            finished=finished,
                            shards_total=1,
                        )
                    )
                )
                operations: list[dict[str, Any]] = []
                for service_name in services:
                    for index in range(operations_per_service):
                        compared = 4
                        matching = compared if rng.random() < quality else rng.randrange(compared)
                        operations.append(
                            {
                                "run_id": run_id,
                                "shard_key": "synthetic",
                                "service": service_name,
                                "operation": f"Operation{index}",
                                "exchanges": compared,
                                "compared": compared,
                                "matching": matching,
                                "verdict": "match" if matching == compared else "diverges",
                                "detail": OperationResult(
                                    service=service_name,
                                    operation=f"Operation{index}",
                                    verdicts={"match": matching, "diverges": compared - matching},
                                ).to_json(),
                            }
                        )
                conn.execute(insert(db.operation_results), operations)
                scores = {
                    name: sum(o["matching"] for o in operations if o["service"] == name)
                    / sum(o["compared"] for o in operations if o["service"] == name)
                    for name in services
                }
                total = sum(o["compared"] for o in operations)
                matching_total = sum(o["matching"] for o in operations)
                summary: dict[str, Any] = {
                    "score": matching_total / total,
                    "services": scores,
                    "counts": {"exchanges": total, "compared": total, "matching": matching_total},
                    "verdict": "pass",
                    "required_failing": [],
                    "advisory_failing": [],
                }
                conn.execute(
                    db.runs.update()
                    .where(db.runs.c.id == run_id)
                    .values(summary=summary, score=summary["score"])
                )
                run_row = conn.execute(select(db.runs).where(db.runs.c.id == run_id)).one()
                rows = conn.execute(
                    select(db.operation_results).where(db.operation_results.c.run_id == run_id)
                ).all()
                bundle = results_bundle(run_row, suite_row, list(rows))
                statement = make_statement(
                    bundle=bundle,
                    endpoint_description={"provider": provider, "name": "main", "synthetic": True},
                    predicate={
                        "run": {"id": run_id, "finished": finished.isoformat(), "trigger": TRIGGER},
                        "result": summary,
                        "validUntil": (finished + timedelta(days=valid_days)).isoformat(),
                        "previous": previous,
                    },
                )
                envelope = sign_statement(statement, key)
                digest = envelope_digest(envelope)
                conn.execute(
                    insert(db.attestations).values(
                        run_id=run_id,
                        endpoint_id=endpoint_id,
                        digest=digest,
                        previous=previous or GENESIS,
                        envelope=envelope,
                        bundle=bundle,
                        created=finished,
                    )
                )
                previous = digest
                written += 1
    return written
