"""The service's security model: scoped, hashed, expiring tokens; isolation between providers;
credentials sealed and never returned; outbound calls only to public addresses unless allowed;
upload and request-rate limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from compat_diff.errors import InputError
from compat_diff.service import db
from compat_diff.service.api import RateLimiter, create_app
from compat_diff.service.outbound import check_url
from compat_diff.service.store import Service

from .conftest import ADMIN, SECRET, service_config

ADMIN_HEADER = {"Authorization": f"Bearer {ADMIN}"}


def _client(service: Service) -> TestClient:
    return TestClient(create_app(service))


def _provider(client: TestClient, name: str) -> dict[str, str]:
    answer = client.post("/api/v1/providers", json={"name": name}, headers=ADMIN_HEADER)
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _endpoint(name: str, url: str = "http://127.0.0.1:9") -> dict[str, object]:
    return {"name": name, "endpoint": url, "access_key": "AKIAKEY", "secret_key": SECRET}


def test_a_provider_cannot_touch_another_providers_endpoints_runs_or_credentials(service: Service) -> None:
    client = _client(service)
    acme, other = _provider(client, "acme"), _provider(client, "other")
    assert (
        client.post("/api/v1/providers/acme/endpoints", json=_endpoint("main"), headers=acme).status_code
        == 201
    )
    # other's token reads, adds and runs nothing of acme's.
    assert client.get("/api/v1/providers/acme/endpoints", headers=other).status_code == 403
    assert (
        client.post("/api/v1/providers/acme/endpoints", json=_endpoint("evil"), headers=other).status_code
        == 403
    )
    started = client.post(
        "/api/v1/runs", json={"provider": "acme", "endpoint": "main", "suite": "mini"}, headers=other
    )
    assert started.status_code == 403
    run = client.post(
        "/api/v1/runs", json={"provider": "acme", "endpoint": "main", "suite": "mini"}, headers=acme
    )
    assert run.status_code == 201
    assert client.post(f"/api/v1/runs/{run.json()['id']}/cancel", headers=other).status_code == 403
    # A provider name that does not exist answers like one that is not yours.
    assert client.get("/api/v1/providers/nobody/endpoints", headers=other).status_code == 403
    # No token: nothing of a provider's.
    assert client.get("/api/v1/providers/acme/endpoints").status_code == 403
    # Only the admin registers providers.
    assert client.post("/api/v1/providers", json={"name": "x"}, headers=acme).status_code == 403
    # The owner sees its endpoint, never the secret.
    listed = client.get("/api/v1/providers/acme/endpoints", headers=acme)
    assert listed.status_code == 200 and listed.json()[0]["name"] == "main"
    assert SECRET not in listed.text


def test_tokens_are_stored_hashed_prefixed_and_expire(tmp_path: Path, suite_dir: Path) -> None:
    from datetime import UTC, datetime

    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    service = Service(service_config(tmp_path / "data"), clock=lambda: now[0])
    token = service.create_provider("acme")
    assert token.startswith("cdp_") and len(token) > 40
    with service.engine.connect() as conn:
        stored = conn.execute(select(db.tokens)).one()
    assert token not in (stored.digest, stored.prefix) and stored.prefix == token[:8]
    assert service.authenticate(f"Bearer {token}").provider_id is not None
    now[0] += timedelta(days=91)
    with pytest.raises(InputError, match="expired"):
        service.authenticate(f"Bearer {token}")
    with pytest.raises(InputError, match="not valid"):
        service.authenticate("Bearer cdp_made-up")


def test_credentials_are_encrypted_at_rest(service: Service) -> None:
    service.create_provider("acme")
    from compat_diff.service.store import Principal

    service.add_endpoint(Principal(admin=True), "acme", _endpoint("main"))
    raw = (service.config.data / "service.db").read_bytes()
    with service.engine.connect() as conn:
        sealed = conn.execute(select(db.endpoints.c.credentials)).scalar_one()
    assert SECRET.encode() not in sealed and SECRET.encode() not in raw
    assert service.credentials(service.endpoint_by_id(1))["secret_key"] == SECRET


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("10.1.2.3", "private"),
        ("192.168.0.7", "private"),
        ("169.254.10.1", "link-local"),
        ("::1", "loopback"),
    ],
)
def test_endpoints_resolving_to_internal_addresses_are_refused(address: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as refused:
        check_url("https://s3.provider.example", allow_private=False, resolver=lambda host: [address])
    assert "allow_private_endpoints" in str(refused.value)
    check_url("https://s3.provider.example", allow_private=True, resolver=lambda host: [address])


def test_a_name_resolving_to_loopback_is_refused_through_the_api(tmp_path: Path, suite_dir: Path) -> None:
    service = Service(service_config(tmp_path / "data", allow_private_endpoints=False))
    client = _client(service)
    acme = _provider(client, "acme")
    for url in (
        "http://localhost:9000",
        "http://127.0.0.1:9000",
        "http://169.254.169.254/",
        "http://10.0.0.8/",
    ):
        answer = client.post("/api/v1/providers/acme/endpoints", json=_endpoint("x", url), headers=acme)
        assert answer.status_code == 400, url
        assert "allow_private_endpoints" in answer.json()["error"]
    public = client.post(
        "/api/v1/providers/acme/endpoints", json=_endpoint("x", "http://93.184.215.14/"), headers=acme
    )
    assert public.status_code == 201


def test_a_name_repointed_after_registration_is_refused_before_replay(
    tmp_path: Path, suite_dir: Path
) -> None:
    from compat_diff.service.runs import claim_shard, create_run
    from compat_diff.service.store import Principal
    from compat_diff.service.worker import run_shard

    addresses = ["93.184.215.14"]
    service = Service(
        service_config(tmp_path / "data", allow_private_endpoints=False), resolver=lambda h: addresses
    )
    service.register_suite(suite_dir)
    service.create_provider("acme")
    service.add_endpoint(Principal(admin=True), "acme", _endpoint("main", "http://s3.provider.example"))
    create_run(service, Principal(admin=True), "acme", "main", "mini")
    addresses[:] = ["169.254.169.254"]
    claim = claim_shard(service, "w")
    assert claim is not None
    assert not run_shard(service, claim)
    with service.engine.connect() as conn:
        shard = conn.execute(select(db.shards).where(db.shards.c.id == claim.shard_id)).one()
    assert shard.state == "failed" and "metadata" in shard.error


def test_request_bodies_over_the_limit_are_refused(tmp_path: Path) -> None:
    service = Service(service_config(tmp_path / "data", max_upload_bytes=1000))
    client = _client(service)
    acme = _provider(client, "acme")
    big = "service,operation,state\n" + "s3,GetObject,supported\n" * 100
    answer = client.put(
        "/api/v1/providers/acme/declared", content=big, headers={**acme, "Content-Type": "text/csv"}
    )
    assert answer.status_code == 413
    small = client.put(
        "/api/v1/providers/acme/declared", content=big[:200], headers={**acme, "Content-Type": "text/csv"}
    )
    assert small.status_code == 200 and small.json()["operations"] >= 1


def test_request_rates_are_limited_per_client() -> None:
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert all(limiter.allow("a") for _ in range(3))
    assert not limiter.allow("a")
    assert limiter.allow("b")
    now[0] = 61.0
    assert limiter.allow("a")


def test_the_api_answers_429_past_the_rate(tmp_path: Path) -> None:
    client = _client(Service(service_config(tmp_path / "data", rate_limit_per_minute=5)))
    statuses = [client.get("/healthz").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
