"""The public face over real tables: leaderboard, marks (valid, failed, expired, revoked),
badges that can be checked against signed statements, the signed revocation list, the dataset
export and declared vs observed. History that no test can wait for (runs that ended weeks ago)
is written by ``service.synthetic`` with real signatures."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from compat_diff.service import db
from compat_diff.service.api import create_app
from compat_diff.service.attest import envelope_digest, load_public_keys
from compat_diff.service.public import read_signed_revocations
from compat_diff.service.store import Service
from compat_diff.service.synthetic import seed_history
from tests.service.conftest import ADMIN, service_config

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SERVICES = ["s3", "sqs", "sts"]


@pytest.fixture
def seeded(tmp_path: Path, suite_dir: Path) -> tuple[Service, TestClient]:
    service = Service(service_config(tmp_path / "data"), clock=lambda: NOW)
    service.register_suite(suite_dir)
    seed_history(
        service, suite="mini", providers=["alpha", "beta"], services=SERVICES, days=5, ended=NOW, seed=3
    )
    # gamma's newest run ended 60 days ago: its 30-day attestation has expired.
    seed_history(
        service,
        suite="mini",
        providers=["gamma"],
        services=SERVICES,
        days=3,
        ended=NOW - timedelta(days=60),
        seed=4,
    )
    return service, TestClient(create_app(service))


def _latest_run(service: Service, provider: str) -> Any:
    with service.engine.connect() as conn:
        return conn.execute(
            select(db.runs)
            .join(db.endpoints, db.endpoints.c.id == db.runs.c.endpoint_id)
            .join(db.providers, db.providers.c.id == db.endpoints.c.provider_id)
            .where(db.providers.c.name == provider)
            .order_by(db.runs.c.id.desc())
            .limit(1)
        ).one()


def test_the_leaderboard_ranks_filters_and_sorts(seeded: tuple[Service, TestClient]) -> None:
    service, client = seeded
    board = client.get("/api/v1/leaderboard", params={"suite": "mini"}).json()
    scores = [row["score"] for row in board["rows"]]
    assert [row["provider"] for row in board["rows"]] and scores == sorted(scores, reverse=True)
    assert {row["provider"] for row in board["rows"]} == {"alpha", "beta", "gamma"}
    assert board["services"] == SERVICES
    for row in board["rows"]:
        assert row["score"] == _latest_run(service, row["provider"]).score
    gamma = next(row for row in board["rows"] if row["provider"] == "gamma")
    assert not gamma["fresh"] and gamma["age_days"] == 60.0 and gamma["mark"] == "expired"

    by_sqs = client.get("/api/v1/leaderboard", params={"suite": "mini", "service": "sqs"}).json()
    sqs_scores = [row["score"] for row in by_sqs["rows"]]
    assert sqs_scores == sorted(sqs_scores, reverse=True)
    assert sqs_scores == sorted((row["services"]["sqs"] for row in board["rows"]), reverse=True)

    by_name = client.get("/api/v1/leaderboard", params={"suite": "mini", "sort": "name"}).json()
    assert [row["provider"] for row in by_name["rows"]] == ["alpha", "beta", "gamma"]
    by_age = client.get("/api/v1/leaderboard", params={"suite": "mini", "sort": "freshness"}).json()
    assert by_age["rows"][-1]["provider"] == "gamma"

    assert client.get("/api/v1/leaderboard", params={"sort": "luck"}).status_code == 400
    assert client.get("/api/v1/leaderboard", params={"suite": "nope"}).status_code == 404

    page = client.get("/leaderboard", params={"suite": "mini", "sort": "name"}).text
    assert page.index("alpha") < page.index("beta") < page.index("gamma")
    assert "(stale: 60.0 days)" in page


def test_marks_are_valid_expired_failed_or_revoked_and_badges_say_so(
    seeded: tuple[Service, TestClient],
) -> None:
    service, client = seeded
    alpha = client.get("/api/v1/marks/alpha/mini").json()
    assert alpha["state"] == "valid" and alpha["valid_until"] == (NOW + timedelta(days=30)).isoformat()
    assert client.get("/api/v1/marks/gamma/mini").json()["state"] == "expired"

    # A run whose required operations fail is a failed mark, whatever its score.
    beta_run = _latest_run(service, "beta")
    with service.engine.begin() as conn:
        summary = dict(beta_run.summary, verdict="fail", required_failing=["sqs.Operation1"])
        conn.execute(update(db.runs).where(db.runs.c.id == beta_run.id).values(summary=summary))
    beta = client.get("/api/v1/marks/beta/mini").json()
    assert beta["state"] == "failed" and "sqs.Operation1" in beta["reason"]

    refused = client.post(
        "/api/v1/admin/revocations", json={"provider": "alpha", "suite": "mini", "reason": "x"}
    )
    assert refused.status_code == 403
    headers = {"Authorization": f"Bearer {ADMIN}"}
    revoked = client.post(
        "/api/v1/admin/revocations",
        json={"provider": "alpha", "suite": "mini", "reason": "results obtained with a tuned endpoint"},
        headers=headers,
    )
    assert revoked.status_code == 201, revoked.text
    alpha = client.get("/api/v1/marks/alpha/mini").json()
    assert alpha["state"] == "revoked" and "tuned endpoint" in alpha["reason"]
    board = client.get("/api/v1/leaderboard", params={"suite": "mini"}).json()
    assert {row["provider"]: row["mark"] for row in board["rows"]} == {
        "alpha": "revoked",
        "beta": "failed",
        "gamma": "expired",
    }

    badge = client.get("/badge/alpha/mini.svg")
    assert badge.headers["content-type"].startswith("image/svg+xml")
    assert "max-age" in badge.headers["cache-control"]
    assert ">revoked<" in badge.text and "/status/alpha/mini" in badge.text
    assert ">no mark<" not in badge.text
    assert "expired" in client.get("/badge/gamma/mini.svg").text
    assert "failed" in client.get("/badge/beta/mini.svg").text
    status = client.get("/status/alpha/mini").text
    assert "revoked" in status and "tuned endpoint" in status

    lifted = client.post(f"/api/v1/admin/revocations/{revoked.json()['id']}/lift", headers=headers)
    assert lifted.status_code == 200
    assert client.get("/api/v1/marks/alpha/mini").json()["state"] == "valid"
    assert (
        client.post(f"/api/v1/admin/revocations/{revoked.json()['id']}/lift", headers=headers).status_code
        == 404
    )
    sqs_score = _latest_run(service, "alpha").summary["services"]["sqs"]
    assert f">{round(sqs_score * 100)}" in client.get("/badge/alpha/mini/sqs.svg").text.replace("%", "")
    assert ">no mark<" in client.get("/badge/alpha/mini/lambda.svg").text  # a service the run never had
    valid_badge = client.get("/badge/alpha/mini.svg").text
    assert f">{round(_latest_run(service, 'alpha').score * 100)}" in valid_badge.replace("%", "")


def test_a_badge_can_be_checked_against_its_signed_statement(seeded: tuple[Service, TestClient]) -> None:
    _, client = seeded
    facts = client.get("/badge/alpha/mini.json").json()
    envelope = client.get(f"/api/v1/runs/{facts['run']}/attestation").json()
    assert facts["attestation"] == envelope_digest(envelope)
    assert facts["status_page"].endswith("/status/alpha/mini")
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicate"]["result"]["score"] == facts["score"]


def test_the_revocation_list_is_signed_and_tampering_shows(seeded: tuple[Service, TestClient]) -> None:
    _, client = seeded
    headers = {"Authorization": f"Bearer {ADMIN}"}
    client.post(
        "/api/v1/admin/revocations",
        json={"provider": "beta", "suite": "*", "reason": "fraud"},
        headers=headers,
    )
    envelope = client.get("/api/v1/revocations").json()
    keys = load_public_keys(client.get("/.well-known/compat-diff/keys.json").json())
    listed = read_signed_revocations(envelope, keys)
    assert [(r["provider"], r["suite"], r["reason"]) for r in listed["revocations"]] == [
        ("beta", "*", "fraud")
    ]
    assert client.get("/api/v1/marks/beta/mini").json()["state"] == "revoked"
    payload = base64.b64decode(envelope["payload"]).replace(b"fraud", b"fraux")
    tampered = dict(envelope, payload=base64.b64encode(payload).decode())
    with pytest.raises(InvalidSignature):
        read_signed_revocations(tampered, keys)
    assert "fraud" in client.get("/revocations").text
    assert (
        client.post(
            "/api/v1/admin/revocations",
            json={"provider": "beta", "suite": "mini", "reason": " "},
            headers=headers,
        ).status_code
        == 400
    )


def test_the_dataset_lets_anyone_recompute_the_ratings(seeded: tuple[Service, TestClient]) -> None:
    service, client = seeded
    lines = client.get("/api/v1/dataset.jsonl").text.splitlines()
    with service.engine.connect() as conn:
        finished = conn.execute(select(db.runs.c.id).where(db.runs.c.state == "finished")).scalars().all()
        digests = dict(conn.execute(select(db.attestations.c.run_id, db.attestations.c.digest)).all())
    records = [json.loads(line) for line in lines]
    assert sorted(r["run"] for r in records) == sorted(finished) and len(records) == 13
    for record in records:
        ops = record["operations"]
        recomputed = sum(o["matching"] for o in ops) / sum(o["compared"] for o in ops)
        assert recomputed == pytest.approx(record["score"])
        assert record["attestation"] == digests[record["run"]]


def test_the_provider_page_shows_history_changes_and_declared_vs_observed(
    seeded: tuple[Service, TestClient],
) -> None:
    service, client = seeded
    latest = _latest_run(service, "alpha")
    with service.engine.connect() as conn:
        ops = conn.execute(
            select(db.operation_results).where(db.operation_results.c.run_id == latest.id)
        ).all()
    failing = next(o for o in ops if o.matching < o.compared)
    working = next(o for o in ops if o.matching == o.compared)
    declared = f"service,operation,state\n{failing.service},{failing.operation},supported\n"
    declared += f"{working.service},{working.operation},unsupported\n"
    answer = client.put(
        "/api/v1/providers/alpha/declared",
        content=declared,
        headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    facts = client.get("/api/v1/providers/alpha/rating", params={"suite": "mini"}).json()
    endpoint = facts["endpoints"][0]
    assert len(endpoint["history"]) == 5 and endpoint["current"]["run"] == latest.id
    assert endpoint["changes"]["against"] == latest.id - 1
    assert {d["operation"] for d in endpoint["declared_vs_observed"]} == {
        f"{failing.service}.{failing.operation}",
        f"{working.service}.{working.operation}",
    }
    assert endpoint["top_divergences"][0]["failing"] >= endpoint["top_divergences"][-1]["failing"]
    page = client.get("/providers/alpha", params={"suite": "mini"}).text
    assert "<polyline" in page and "5 finished runs" in page
    assert "What changed since run" in page and "Declared vs observed" in page
    assert client.get("/providers/nobody").status_code == 404
