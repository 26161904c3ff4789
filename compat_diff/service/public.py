"""The public face's facts: the leaderboard, a provider's ratings and history, the state of a
mark, badge facts, revocations and the dataset export.

Every page and its JSON twin read these functions, so what a person sees and what a program
checks are the same facts. They only read part 1's tables (plus the revocations table); the
scores themselves were computed once, when each run was finalized.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from compat_diff.errors import InputError
from compat_diff.service import db
from compat_diff.service.attest import b64, pae, unb64
from compat_diff.service.finalize import diff_runs, operation_verdicts
from compat_diff.service.store import NotFound, Service, aware

ENDED = ("finished", "failed")
REVOCATIONS_TYPE = "application/vnd.compat-diff.revocations+json"
SORTS = ("score", "name", "freshness")
REASON_LIMIT = 500


def _iso(value: datetime | None) -> str | None:
    value = aware(value)
    return value.astimezone(UTC).isoformat() if value else None


def suite_names(service: Service) -> list[str]:
    with service.engine.connect() as conn:
        return sorted(set(conn.execute(select(db.suites.c.name)).scalars()))


def default_suite(service: Service) -> str | None:
    """The suite the leaderboard shows first: the one with the most ended runs (else the first)."""
    with service.engine.connect() as conn:
        busiest = conn.execute(
            select(db.suites.c.name)
            .join(db.runs, db.runs.c.suite_id == db.suites.c.id)
            .where(db.runs.c.state.in_(ENDED))
            .group_by(db.suites.c.name)
            .order_by(func.count().desc(), db.suites.c.name)
            .limit(1)
        ).scalar_one_or_none()
    names = suite_names(service)
    return busiest or (names[0] if names else None)


def _latest_runs(service: Service, suite: str, provider_id: int | None = None) -> list[Any]:
    """The newest ended run of each endpoint for any version of ``suite``."""
    newest = (
        select(func.max(db.runs.c.id))
        .join(db.suites, db.suites.c.id == db.runs.c.suite_id)
        .where(db.suites.c.name == suite, db.runs.c.state.in_(ENDED))
        .group_by(db.runs.c.endpoint_id)
    )
    query = (
        select(
            db.runs,
            db.endpoints.c.name.label("endpoint_name"),
            db.endpoints.c.services.label("claimed"),
            db.providers.c.name.label("provider_name"),
            db.providers.c.id.label("provider_key"),
            db.suites.c.version.label("suite_version"),
            db.suites.c.manifest.label("manifest"),
        )
        .join(db.endpoints, db.endpoints.c.id == db.runs.c.endpoint_id)
        .join(db.providers, db.providers.c.id == db.endpoints.c.provider_id)
        .join(db.suites, db.suites.c.id == db.runs.c.suite_id)
        .where(db.runs.c.id.in_(newest))
    )
    if provider_id is not None:
        query = query.where(db.endpoints.c.provider_id == provider_id)
    with service.engine.connect() as conn:
        return list(conn.execute(query).all())


def _states_by_suite(service: Service, suite_ids: set[int]) -> dict[int, dict[tuple[str, str], str]]:
    with service.engine.connect() as conn:
        rows = conn.execute(select(db.capabilities).where(db.capabilities.c.suite_id.in_(suite_ids))).all()
    states: dict[int, dict[tuple[str, str], str]] = {suite_id: {} for suite_id in suite_ids}
    for row in rows:
        states[row.suite_id][(row.service, row.operation)] = row.state
    return states


def _profile(
    states: dict[tuple[str, str], str], claimed: list[str], summary: dict[str, Any]
) -> dict[str, int]:
    """Required and advisory capabilities passed, out of those the endpoint's services cover."""

    def covered(kind: str) -> int:
        return sum(
            1 for (svc, _), state in states.items() if state == kind and (not claimed or svc in claimed)
        )

    required, advisory = covered("required"), covered("advisory")
    return {
        "required": required,
        "required_passed": max(required - len(summary.get("required_failing", [])), 0),
        "advisory": advisory,
        "advisory_passed": max(advisory - len(summary.get("advisory_failing", [])), 0),
    }


# ---------------------------------------------------------------------------------- marks


@dataclass(frozen=True)
class Mark:
    """Whether a provider may show a suite's mark now, until when, and why (or why not)."""

    provider: str
    suite: str
    state: str  # valid | expired | failed | revoked | none
    reason: str
    score: float | None = None
    valid_until: str | None = None
    run: int | None = None
    endpoint: str | None = None
    finished: str | None = None
    attestation: str | None = None

    def facts(self) -> dict[str, Any]:
        return asdict(self)


def _predicate(envelope: Any) -> dict[str, Any] | None:
    """The predicate of a stored attestation's signed statement (None if it cannot be read)."""
    try:
        predicate = json.loads(unb64(str(envelope["payload"])))["predicate"]
    except (KeyError, TypeError, ValueError):
        return None
    return predicate if isinstance(predicate, dict) else None


def _valid_until(envelope: Any) -> str | None:
    valid_until = (_predicate(envelope) or {}).get("validUntil")
    return str(valid_until) if valid_until is not None else None


def mark(service: Service, provider: str, suite: str, now: datetime | None = None) -> Mark:
    """The mark of ``provider`` for ``suite``: from its newest ended run of that suite on any endpoint."""
    now = now or service.clock()
    provider_row = service.provider_row(provider)
    service.suite_row(suite)  # a missing suite is a 404, not "no mark"
    revoked = _active_revocations(service, suite).get(provider_row.id)
    runs = sorted(
        _latest_runs(service, suite, provider_row.id), key=lambda r: (aware(r.finished) or now, r.id)
    )
    latest = runs[-1] if runs else None
    if latest is None:
        state, reason = (
            ("revoked", f"revoked: {revoked}") if revoked else ("none", "no run of this suite has ended yet")
        )
        return Mark(provider, suite, state, reason)
    attestation = _attestations(service, [latest.id]).get(latest.id)
    return _mark_of_run(provider, suite, latest, attestation, revoked, now)


def _attestations(service: Service, run_ids: list[int]) -> dict[int, Any]:
    with service.engine.connect() as conn:
        rows = conn.execute(
            select(db.attestations.c.run_id, db.attestations.c.digest, db.attestations.c.envelope).where(
                db.attestations.c.run_id.in_(run_ids)
            )
        ).all()
    return {row.run_id: row for row in rows}


def _mark_of_run(
    provider: str, suite: str, run: Any, attestation: Any, revoked_because: str | None, now: datetime
) -> Mark:
    summary = run.summary or {}
    valid_until = _valid_until(attestation.envelope) if attestation else None
    common = {
        "score": run.score,
        "run": run.id,
        "endpoint": run.endpoint_name,
        "finished": _iso(run.finished),
        "attestation": attestation.digest if attestation else None,
    }
    if revoked_because is not None:
        return Mark(
            provider, suite, "revoked", f"revoked: {revoked_because}", valid_until=valid_until, **common
        )
    if run.state == "failed":
        return Mark(
            provider, suite, "failed", f"the newest run failed: {run.error or 'see the run'}", **common
        )
    if summary.get("verdict") != "pass":
        failing = summary.get("required_failing", [])
        why = (
            f"{len(failing)} required operation(s) fail, first {failing[0]}"
            if failing
            else "nothing was compared"
        )
        return Mark(provider, suite, "failed", why, valid_until=valid_until, **common)
    if valid_until is None or datetime.fromisoformat(valid_until) < now:
        why = f"the newest attestation expired at {valid_until}"
        return Mark(provider, suite, "expired", why, valid_until=valid_until, **common)
    why = f"every required operation passes; valid until {valid_until}"
    return Mark(provider, suite, "valid", why, valid_until=valid_until, **common)


def _active_revocations(service: Service, suite: str) -> dict[int, str]:
    """Provider id -> reason of its active revocation for ``suite`` (or for every suite)."""
    with service.engine.connect() as conn:
        rows = conn.execute(
            select(db.revocations.c.provider_id, db.revocations.c.reason)
            .where(db.revocations.c.suite.in_((suite, "*")), db.revocations.c.lifted.is_(None))
            .order_by(db.revocations.c.id)
        ).all()
    return {row.provider_id: row.reason for row in rows}


# ----------------------------------------------------------------------------- leaderboard


def leaderboard(
    service: Service, suite: str | None = None, service_filter: str | None = None, sort: str = "score"
) -> dict[str, Any]:
    """One row per endpoint: its newest ended run of ``suite``, per-service scores, capability
    profile, freshness and mark. Sorted by score (best first), name, or freshness."""
    if sort not in SORTS:
        raise InputError(f"sort is one of {', '.join(SORTS)}, got {sort!r}.")
    suite = suite or default_suite(service)
    if suite is None:
        return {"suite": None, "suites": [], "services": [], "rows": [], "reference": None}
    suite_row = service.suite_row(suite)
    now = service.clock()
    runs = _latest_runs(service, suite)
    states = _states_by_suite(service, {r.suite_id for r in runs})
    attestations = _attestations(service, [r.id for r in runs])
    revoked = _active_revocations(service, suite)
    rows = []
    for run in runs:
        summary = run.summary or {}
        scores = summary.get("services", {})
        if service_filter and service_filter not in scores:
            continue
        finished = aware(run.finished)
        age_days = (now - finished).total_seconds() / 86400 if finished else None
        rows.append(
            {
                "provider": run.provider_name,
                "endpoint": run.endpoint_name,
                "suite_version": run.suite_version,
                "run": run.id,
                "state": run.state,
                "score": scores.get(service_filter) if service_filter else run.score,
                "overall": run.score,
                "services": scores,
                "profile": _profile(states.get(run.suite_id, {}), list(run.claimed or ()), summary),
                "finished": _iso(finished),
                "age_days": round(age_days, 1) if age_days is not None else None,
                "fresh": age_days is not None and age_days <= service.config.attestation_days,
                "mark": _mark_of_run(
                    run.provider_name,
                    suite,
                    run,
                    attestations.get(run.id),
                    revoked.get(run.provider_key),
                    now,
                ).state,
            }
        )
    keys = {
        "score": lambda r: (-(r["score"] if r["score"] is not None else -1), r["provider"], r["endpoint"]),
        "name": lambda r: (r["provider"], r["endpoint"]),
        "freshness": lambda r: (r["age_days"] if r["age_days"] is not None else float("inf"), r["provider"]),
    }
    rows.sort(key=keys[sort])
    services = sorted({name for row in rows for name in row["services"]})
    provenance = suite_row.manifest.get("provenance", {})
    return {
        "suite": suite,
        "suites": suite_names(service),
        "services": services,
        "service": service_filter,
        "sort": sort,
        "rows": rows,
        "reference": ", ".join(provenance.get("reference", [])) or None,
    }


# ---------------------------------------------------------------------------- provider page


def provider_page(service: Service, provider: str, suite: str | None = None) -> dict[str, Any]:
    """A provider's endpoints: current rating per service, history, runs, what changed since the
    previous run, the top divergences, and declared vs observed support."""
    provider_row = service.provider_row(provider)
    suite = suite or default_suite(service)
    with service.engine.connect() as conn:
        endpoint_rows = conn.execute(
            select(db.endpoints)
            .where(db.endpoints.c.provider_id == provider_row.id)
            .order_by(db.endpoints.c.name)
        ).all()
    latest = {
        run.endpoint_id: run for run in (_latest_runs(service, suite, provider_row.id) if suite else [])
    }
    declared = provider_row.declared or {}
    endpoints = []
    for endpoint in endpoint_rows:
        with service.engine.connect() as conn:
            history = conn.execute(
                select(db.runs.c.id, db.runs.c.state, db.runs.c.score, db.runs.c.finished, db.runs.c.trigger)
                .join(db.suites, db.suites.c.id == db.runs.c.suite_id)
                .where(db.runs.c.endpoint_id == endpoint.id, db.suites.c.name == suite)
                .order_by(db.runs.c.id)
            ).all()
        run = latest.get(endpoint.id)
        entry: dict[str, Any] = {
            "name": endpoint.name,
            "services_claimed": list(endpoint.services or ()),
            "history": [
                {"run": h.id, "score": h.score, "finished": _iso(h.finished)}
                for h in history
                if h.state == "finished" and h.score is not None
            ],
            "runs": [
                {
                    "run": h.id,
                    "state": h.state,
                    "score": h.score,
                    "finished": _iso(h.finished),
                    "trigger": h.trigger,
                }
                for h in reversed(history[-50:])
            ],
            "current": None,
            "changes": None,
            "top_divergences": [],
            "declared_vs_observed": [],
        }
        if run is not None:
            entry["current"] = {
                "run": run.id,
                "score": run.score,
                "services": (run.summary or {}).get("services", {}),
            }
            verdicts = operation_verdicts(service, run.id)
            entry["top_divergences"] = sorted(
                (
                    {"operation": name, "failing": v["compared"] - v["matching"], "verdict": v["verdict"]}
                    for name, v in verdicts.items()
                    if v["compared"] > v["matching"]
                ),
                key=lambda d: (-d["failing"], d["operation"]),
            )[:10]
            try:
                entry["changes"] = diff_runs(service, run.id, None)
            except InputError:
                entry["changes"] = None
            entry["declared_vs_observed"] = declared_vs_observed(declared, verdicts)
        endpoints.append(entry)
    return {
        "provider": provider,
        "suite": suite,
        "suites": suite_names(service),
        "declared": bool(declared),
        "endpoints": endpoints,
        "mark": mark(service, provider, suite).facts() if suite else None,
    }


SUPPORTED = {"supported", "yes", "full", "true"}
UNSUPPORTED = {"unsupported", "no", "none", "false", "not supported"}


def declared_vs_observed(
    declared: dict[str, dict[str, str]], verdicts: dict[str, dict[str, Any]]
) -> list[dict[str, str]]:
    """Where the provider's own table and the runs disagree, both ways."""
    disagreements = []
    for service_name, operations in sorted(declared.items()):
        for operation, state in sorted(operations.items()):
            observed = verdicts.get(f"{service_name}.{operation}")
            if observed is None or not observed["compared"]:
                continue
            works = observed["compared"] == observed["matching"]
            said = state.strip().lower()
            if said in SUPPORTED and not works:
                disagreements.append(
                    {
                        "operation": f"{service_name}.{operation}",
                        "declared": state,
                        "observed": observed["verdict"],
                    }
                )
            elif said in UNSUPPORTED and works:
                disagreements.append(
                    {"operation": f"{service_name}.{operation}", "declared": state, "observed": "match"}
                )
    return disagreements


# ------------------------------------------------------------------------------ revocations


def revoke(service: Service, provider: str, suite: str, reason: str) -> dict[str, Any]:
    provider_row = service.provider_row(provider)
    if suite != "*":
        service.suite_row(suite)
    reason = reason.strip()
    if not reason or len(reason) > REASON_LIMIT:
        raise InputError(f"a revocation needs a reason of 1 to {REASON_LIMIT} characters.")
    now = service.clock()
    with service.engine.begin() as conn:
        revocation_id = db.inserted_id(
            conn.execute(
                insert(db.revocations).values(
                    provider_id=provider_row.id, suite=suite, reason=reason, created=now
                )
            )
        )
    return {"id": revocation_id, "provider": provider, "suite": suite, "reason": reason, "created": _iso(now)}


def lift(service: Service, revocation_id: int) -> dict[str, Any]:
    with service.engine.begin() as conn:
        changed = conn.execute(
            update(db.revocations)
            .where(db.revocations.c.id == revocation_id, db.revocations.c.lifted.is_(None))
            .values(lifted=service.clock())
        ).rowcount
    if not changed:
        raise NotFound(f"no active revocation {revocation_id}.")
    return {"id": revocation_id, "lifted": True}


def revocations(service: Service) -> list[dict[str, Any]]:
    with service.engine.connect() as conn:
        rows = conn.execute(
            select(db.revocations, db.providers.c.name.label("provider_name"))
            .join(db.providers, db.providers.c.id == db.revocations.c.provider_id)
            .order_by(db.revocations.c.id)
        ).all()
    return [
        {
            "id": row.id,
            "provider": row.provider_name,
            "suite": row.suite,
            "reason": row.reason,
            "created": _iso(row.created),
            "lifted": _iso(row.lifted),
        }
        for row in rows
    ]


def signed_revocations(service: Service) -> dict[str, Any]:
    """The revocation list as a DSSE envelope signed with the service's current key; verify it
    with the keys at the well-known URL, like an attestation."""
    from compat_diff.service.keys import current_key

    payload = json.dumps(
        {
            "service": service.config.service_id,
            "issued": _iso(service.clock()),
            "revocations": revocations(service),
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    key = current_key(service)
    return {
        "payloadType": REVOCATIONS_TYPE,
        "payload": b64(payload),
        "signatures": [{"keyid": key.keyid, "sig": b64(key.private.sign(pae(REVOCATIONS_TYPE, payload)))}],
    }


def read_signed_revocations(envelope: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    """The list inside a signed revocation envelope, once its signature checks (ValueError otherwise)."""
    payload = base64.b64decode(str(envelope.get("payload", "")))
    for signature in envelope.get("signatures", []):
        public = keys.get(signature.get("keyid"))
        if public is not None:
            public.verify(base64.b64decode(signature["sig"]), pae(REVOCATIONS_TYPE, payload))
            return dict(json.loads(payload))
    raise ValueError("no signature by a known key")


# --------------------------------------------------------------------------------- dataset


def dataset(service: Service) -> Iterator[str]:
    """One JSON line per finished run: provider, endpoint, suite, times, score, counts, the
    per-operation results and the attestation digest, so anyone can recompute the ratings."""
    last = 0
    while True:
        with service.engine.connect() as conn:
            batch = conn.execute(
                select(
                    db.runs,
                    db.endpoints.c.name.label("endpoint_name"),
                    db.providers.c.name.label("provider_name"),
                    db.suites.c.name.label("suite_name"),
                    db.suites.c.version.label("suite_version"),
                    db.suites.c.digest.label("suite_digest"),
                    db.attestations.c.digest.label("attestation"),
                    db.attestations.c.bundle.label("bundle"),
                )
                .join(db.endpoints, db.endpoints.c.id == db.runs.c.endpoint_id)
                .join(db.providers, db.providers.c.id == db.endpoints.c.provider_id)
                .join(db.suites, db.suites.c.id == db.runs.c.suite_id)
                .outerjoin(db.attestations, db.attestations.c.run_id == db.runs.c.id)
                .where(db.runs.c.state == "finished", db.runs.c.id > last)
                .order_by(db.runs.c.id)
                .limit(500)
            ).all()
        if not batch:
            return
        for row in batch:
            last = row.id
            bundle = json.loads(row.bundle) if row.bundle else {}
            summary = row.summary or {}
            yield (
                json.dumps(
                    {
                        "run": row.id,
                        "provider": row.provider_name,
                        "endpoint": row.endpoint_name,
                        "suite": {
                            "name": row.suite_name,
                            "version": row.suite_version,
                            "digest": row.suite_digest,
                        },
                        "trigger": row.trigger,
                        "started": _iso(row.started),
                        "finished": _iso(row.finished),
                        "score": row.score,
                        "services": summary.get("services", {}),
                        "counts": summary.get("counts", {}),
                        "verdict": summary.get("verdict"),
                        "attestation": row.attestation,
                        "operations": bundle.get("operations", []),
                    },
                    sort_keys=True,
                )
                + "\n"
            )


def run_provenance(service: Service, run_id: int) -> dict[str, Any] | None:
    """What a run's attestation says about how it was made (verifier, suite, policy, validity), or
    None before it has one."""
    with service.engine.connect() as conn:
        row = conn.execute(
            select(db.attestations.c.digest, db.attestations.c.envelope).where(
                db.attestations.c.run_id == run_id
            )
        ).first()
    if row is None:
        return None
    predicate = _predicate(row.envelope)
    if predicate is None:
        return None
    return {
        "digest": row.digest,
        "verifier": predicate.get("verifier", {}),
        "suite": predicate.get("suite", {}),
        "target": predicate.get("target", {}),
        "policy": predicate.get("policy", {}),
        "valid_until": predicate.get("validUntil"),
    }
