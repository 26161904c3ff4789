"""The end of a run: the score and the report computed from the stored shard rows, the results
bundle, and the signed attestation that extends the endpoint's chain. Also the history built on
the same rows: a run's summary, the difference between two runs, a provider's timeline."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from datetime import UTC, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from compat_diff import __version__
from compat_diff.normalize.rules import default_pack_dir, rule_files
from compat_diff.report import write_reports
from compat_diff.report.result import OperationResult, RunResult, TargetResult, score
from compat_diff.service import db
from compat_diff.service.attest import envelope_digest, make_statement, sign_statement
from compat_diff.service.keys import current_key
from compat_diff.service.runs import FinalizeClaim, run_row
from compat_diff.service.shardwork import shard_dir
from compat_diff.service.store import Service, aware
from compat_diff.service.suites import canonical

log = logging.getLogger("compat_diff.service")

SCORING = "compat-diff score v1: matching / compared over scored verdicts, per operation, service and target"
GENESIS = "genesis"


def _iso(value: Any) -> str | None:
    value = aware(value)
    return value.isoformat() if value is not None else None


def operation_rows(service: Service, run_id: int) -> list[Any]:
    with service.engine.connect() as conn:
        return list(
            conn.execute(
                select(db.operation_results)
                .where(db.operation_results.c.run_id == run_id)
                .order_by(
                    db.operation_results.c.service,
                    db.operation_results.c.operation,
                    db.operation_results.c.shard_key,
                )
            ).all()
        )


def merged_operations(rows: list[Any]) -> list[OperationResult]:
    """One result per operation, summed over the shards that exercised it."""
    grouped: dict[tuple[str, str], list[OperationResult]] = {}
    for row in rows:
        grouped.setdefault((row.service, row.operation), []).append(OperationResult.from_json(row.detail))
    merged: list[OperationResult] = []
    for (service_name, operation), parts in sorted(grouped.items()):
        verdicts: Counter[Any] = Counter()
        severities: Counter[str] = Counter()
        for part in parts:
            verdicts.update(part.verdicts)
            severities.update(part.severities)
        merged.append(
            OperationResult(
                service=service_name,
                operation=operation,
                verdicts=dict(verdicts),
                divergences=tuple(d for part in parts for d in part.divergences)[:50],
                more_divergences=sum(p.more_divergences for p in parts),
                findings=tuple(f for part in parts for f in part.findings),
                severities=dict(severities),
                rules_fired=tuple(sorted({r for part in parts for r in part.rules_fired})),
                notes=tuple(dict.fromkeys(n for part in parts for n in part.notes))[:10],
            )
        )
    return merged


def policy_digest() -> str:
    digest = hashlib.sha256(SCORING.encode())
    for path in sorted(rule_files([default_pack_dir()])):
        digest.update(Path(path).name.encode())
        digest.update(Path(path).read_bytes())
    return "sha256:" + digest.hexdigest()


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def summarize(
    operations: list[OperationResult], states: dict[tuple[str, str], str], services: list[str]
) -> dict[str, Any]:
    """Score, per-service scores, counts and the verdict against the suite's required capabilities."""
    by_service: dict[str, list[int]] = {}
    for op in operations:
        counts = by_service.setdefault(op.service, [0, 0, 0])
        counts[0] += op.exchanges
        counts[1] += op.compared
        counts[2] += op.matching
    seen = {(op.service, op.operation): op for op in operations}
    required_failing = sorted(
        f"{service_name}.{operation}"
        for (service_name, operation), state in states.items()
        if state == "required"
        and (not services or service_name in services)
        and (service_name, operation) in seen
        and seen[(service_name, operation)].verdict != "match"
    )
    exchanges = sum(op.exchanges for op in operations)
    compared = sum(op.compared for op in operations)
    matching = sum(op.matching for op in operations)
    return {
        "score": score(matching, compared),
        "services": {name: score(c[2], c[1]) for name, c in sorted(by_service.items())},
        "counts": {
            "exchanges": exchanges,
            "compared": compared,
            "matching": matching,
            "operations": len(operations),
        },
        "verdict": "pass" if not required_failing and compared else "fail",
        "required_failing": required_failing,
        "advisory_failing": sorted(
            f"{op.service}.{op.operation}"
            for op in operations
            if op.verdict != "match" and states.get((op.service, op.operation)) == "advisory"
        ),
    }


def results_bundle(run: Any, suite: Any, rows: list[Any]) -> bytes:
    """The signed record of what was observed: every stored row, in a canonical byte form."""
    return canonical(
        {
            "format": "compat-diff/results-bundle",
            "version": 1,
            "run": run.id,
            "suite": {"name": suite.name, "version": suite.version, "digest": suite.digest},
            "operations": [
                {
                    "shard": row.shard_key,
                    "service": row.service,
                    "operation": row.operation,
                    "exchanges": row.exchanges,
                    "compared": row.compared,
                    "matching": row.matching,
                    "verdict": row.verdict,
                }
                for row in rows
            ],
        }
    )


def finalize_run(service: Service, claim: FinalizeClaim) -> bool:
    run = run_row(service, claim.run_id)
    with service.engine.connect() as conn:
        suite = conn.execute(select(db.suites).where(db.suites.c.id == run.suite_id)).one()
        failed = conn.execute(
            select(db.shards.c.key, db.shards.c.error).where(
                db.shards.c.run_id == run.id, db.shards.c.state == "failed"
            )
        ).all()
        results = {
            row.key: row.attempt
            for row in conn.execute(select(db.shard_results).where(db.shard_results.c.run_id == run.id)).all()
        }
    endpoint = service.endpoint_by_id(run.endpoint_id)
    description = service.describe_endpoint(endpoint)
    rows = operation_rows(service, run.id)
    operations = merged_operations(rows)
    states = service.capability_states(suite.id)
    summary = summarize(operations, states, list(endpoint.services or ()))
    summary["shards"] = {"total": run.shards_total, "written": len(results), "failed": len(failed)}
    report_dir = service.config.data / "runs" / str(run.id) / "report"
    _write_report(service, run, suite, description, operations, results, report_dir)
    now = service.clock()
    if failed:
        error = f"{len(failed)} shard(s) failed, first {failed[0].key}: {failed[0].error}"
        with service.engine.begin() as conn:
            conn.execute(
                update(db.runs)
                .where(
                    db.runs.c.id == run.id,
                    db.runs.c.finalize_attempt == claim.attempt,
                    db.runs.c.state == "running",
                )
                .values(state="failed", finished=now, summary=summary, score=summary["score"], error=error)
            )
        log.warning("run %s failed: %s", run.id, error)
        return True
    bundle = results_bundle(run, suite, rows)
    key = current_key(service)
    try:
        with service.engine.begin() as conn:
            previous = conn.execute(
                select(db.attestations.c.digest)
                .where(db.attestations.c.endpoint_id == run.endpoint_id)
                .order_by(db.attestations.c.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            predicate = {
                "run": {
                    "id": run.id,
                    "created": _iso(run.created),
                    "started": _iso(run.started),
                    "finished": now.astimezone(UTC).isoformat(),
                    "trigger": run.trigger,
                },
                "verifier": {
                    "id": service.config.service_id,
                    "compat_diff": __version__,
                    "botocore": _package_version("botocore"),
                },
                "suite": {"name": suite.name, "version": suite.version, "digest": suite.digest},
                "target": {
                    "provider": description["provider"],
                    "endpoint": description["name"],
                    "services": description["services"],
                    "declared_version": description["declared_version"],
                },
                "policy": {"digest": policy_digest(), "scoring": SCORING},
                "result": summary,
                "validUntil": (now + timedelta(days=service.config.attestation_days))
                .astimezone(UTC)
                .isoformat(),
                "previous": previous,
            }
            statement = make_statement(bundle=bundle, endpoint_description=description, predicate=predicate)
            envelope = sign_statement(statement, key)
            conn.execute(
                insert(db.attestations).values(
                    run_id=run.id,
                    endpoint_id=run.endpoint_id,
                    digest=envelope_digest(envelope),
                    previous=previous or GENESIS,
                    envelope=envelope,
                    bundle=bundle,
                    created=now,
                )
            )
            finished = conn.execute(
                update(db.runs)
                .where(
                    db.runs.c.id == run.id,
                    db.runs.c.finalize_attempt == claim.attempt,
                    db.runs.c.state == "running",
                )
                .values(state="finished", finished=now, summary=summary, score=summary["score"])
            ).rowcount
            if not finished:
                raise _Lost
    except (IntegrityError, _Lost):
        # Another finalizer extended the chain or took the run over; the lease brings it back.
        log.info("finalizing run %s deferred (attempt %d lost its claim)", run.id, claim.attempt)
        return False
    (report_dir.parent / "attestation.json").write_text(json.dumps(envelope, indent=2))
    (report_dir.parent / "results-bundle.json").write_bytes(bundle)
    log.info("run %s finished: score %s", run.id, summary["score"])
    return True


class _Lost(Exception):
    pass


def _write_report(
    service: Service,
    run: Any,
    suite: Any,
    description: dict[str, Any],
    operations: list[OperationResult],
    results: dict[str, int],
    report_dir: Path,
) -> None:
    """The pipeline's report directory for the whole run, from the merged rows; the exchange view
    gathers the shards' details files where this machine has them."""
    report_dir.mkdir(parents=True, exist_ok=True)
    details = report_dir / "details.parts.jsonl"
    with details.open("wb") as out:
        for key, attempt in sorted(results.items()):
            part = shard_dir(service, run.id, key, attempt) / "report" / "details.jsonl"
            if part.exists():
                out.write(part.read_bytes())
    name = f"{description['provider']}-{description['name']}"
    result = RunResult(
        targets=(TargetResult(name=name, endpoint=description["endpoint"], operations=tuple(operations)),),
        generated=service.clock().isoformat(),
        tool=f"compat-diff {__version__}",
        run={"path": f"service run {run.id}", "created": _iso(run.created), "problems": []},
        recording={
            "path": f"suite {suite.name}@{suite.version}",
            "exchanges": sum(op.exchanges for op in operations),
            "header": {"suite": suite.name, "suite_version": suite.version, "digest": suite.digest},
        },
        rules={"files": [], "fired": {}},
    )
    write_reports(result, report_dir, details)
    details.unlink(missing_ok=True)


# ------------------------------------------------------------------------------- history


def describe_run(service: Service, run_id: int) -> dict[str, Any]:
    from compat_diff.service.runs import progress

    run = run_row(service, run_id)
    endpoint = service.endpoint_by_id(run.endpoint_id)
    description = service.describe_endpoint(endpoint)
    with service.engine.connect() as conn:
        suite = conn.execute(select(db.suites).where(db.suites.c.id == run.suite_id)).one()
    summary = run.summary or {}
    verdict = summary.get("verdict")
    required_failing = summary.get("required_failing", [])
    if run.state == "finished":
        # Verdicts follow the suite's current capability states, re-scored from the stored rows;
        # the attestation keeps the verdict as it was when signed.
        rescored = summarize(
            merged_operations(operation_rows(service, run.id)),
            service.capability_states(run.suite_id),
            list(endpoint.services or ()),
        )
        verdict, required_failing = rescored["verdict"], rescored["required_failing"]
    return {
        "id": run.id,
        "state": run.state,
        "trigger": run.trigger,
        "provider": description["provider"],
        "endpoint": description["name"],
        "suite": f"{suite.name}@{suite.version}",
        "created": _iso(run.created),
        "started": _iso(run.started),
        "finished": _iso(run.finished),
        "score": run.score,
        "services": summary.get("services", {}),
        "counts": summary.get("counts", {}),
        "verdict": verdict,
        "required_failing": required_failing,
        "attested_verdict": summary.get("verdict"),
        "progress": progress(service, run.id),
        "error": run.error,
    }


def operation_verdicts(service: Service, run_id: int) -> dict[str, dict[str, Any]]:
    return {
        f"{op.service}.{op.operation}": {
            "verdict": op.verdict,
            "exchanges": op.exchanges,
            "compared": op.compared,
            "matching": op.matching,
            "score": op.score,
        }
        for op in merged_operations(operation_rows(service, run_id))
    }


def previous_run(service: Service, run_id: int) -> int | None:
    run = run_row(service, run_id)
    with service.engine.connect() as conn:
        return conn.execute(
            select(db.runs.c.id)
            .where(
                db.runs.c.endpoint_id == run.endpoint_id,
                db.runs.c.suite_id == run.suite_id,
                db.runs.c.state == "finished",
                db.runs.c.id < run.id,
            )
            .order_by(db.runs.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()


def diff_runs(service: Service, run_id: int, against: int | None) -> dict[str, Any]:
    """New, fixed and still failing operations of ``run_id`` compared with ``against`` (default:
    the endpoint's previous finished run of the same suite)."""
    from compat_diff.errors import InputError

    run = run_row(service, run_id)
    against = against if against is not None else previous_run(service, run_id)
    if against is None:
        raise InputError(
            f"run {run_id} has no earlier finished run of the same endpoint and suite to compare with."
        )
    other = run_row(service, against)
    if other.endpoint_id != run.endpoint_id:
        raise InputError(f"runs {run_id} and {against} are of different endpoints.")
    now = operation_verdicts(service, run_id)
    before = operation_verdicts(service, against)

    def failing(entry: dict[str, Any] | None) -> bool:
        return entry is not None and entry["compared"] > entry["matching"]

    def matching(entry: dict[str, Any] | None) -> bool:
        return entry is not None and entry["compared"] > 0 and entry["compared"] == entry["matching"]

    names = sorted(set(now) | set(before))
    return {
        "run": run_id,
        "against": against,
        "new": [n for n in names if failing(now.get(n)) and not failing(before.get(n))],
        "fixed": [n for n in names if matching(now.get(n)) and failing(before.get(n))],
        "still_failing": [n for n in names if failing(now.get(n)) and failing(before.get(n))],
        "score": {"run": run.score, "against": other.score},
    }


def timeline(service: Service, provider_id: int) -> list[dict[str, Any]]:
    with service.engine.connect() as conn:
        rows = conn.execute(
            select(db.runs, db.endpoints.c.name.label("endpoint_name"))
            .join(db.endpoints, db.endpoints.c.id == db.runs.c.endpoint_id)
            .where(db.endpoints.c.provider_id == provider_id, db.runs.c.state == "finished")
            .order_by(db.runs.c.finished, db.runs.c.id)
        ).all()
    return [
        {
            "run": row.id,
            "endpoint": row.endpoint_name,
            "finished": _iso(row.finished),
            "score": row.score,
            "services": (row.summary or {}).get("services", {}),
        }
        for row in rows
    ]
