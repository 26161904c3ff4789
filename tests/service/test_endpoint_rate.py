"""The service's request-rate limit toward providers: ``endpoint_max_rate`` (service-wide) and an
endpoint's own ``max_rate``. Each shard of an endpoint replays at the endpoint's rate divided by
``endpoint_concurrency``, so the shards running at once never together exceed it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from compat_diff.errors import InputError
from compat_diff.service.api import create_app
from compat_diff.service.config import load_config
from compat_diff.service.shardwork import shard_rate
from compat_diff.service.store import Principal, Service
from compat_diff.testing import MotoServer
from tests.replay.tap_proxy import busiest_second, read_arrivals, tap

from .conftest import ADMIN, SECRET, make_suite, service_config, start_service

ENDPOINT = {"name": "paced", "endpoint": "http://127.0.0.1:9", "access_key": "AKIAKEY", "secret_key": SECRET}


def test_an_endpoints_max_rate_is_checked_stored_and_shown(tmp_path: Path) -> None:
    service = Service(service_config(tmp_path / "data", endpoint_max_rate=8, endpoint_concurrency=2))
    client = TestClient(create_app(service))
    admin = {"Authorization": f"Bearer {ADMIN}"}
    token = client.post("/api/v1/providers", json={"name": "acme"}, headers=admin).json()["token"]
    mine = {"Authorization": f"Bearer {token}"}
    for bad in (0, -1, 5000, "fast", 0.01):
        answer = client.post(
            "/api/v1/providers/acme/endpoints", json={**ENDPOINT, "max_rate": bad}, headers=mine
        )
        assert answer.status_code in (400, 422), (bad, answer.text)
        assert "max_rate" in answer.text
    assert client.post(
        "/api/v1/providers/acme/endpoints", json={**ENDPOINT, "max_rate": 3}, headers=mine
    ).status_code == 201
    assert client.post(
        "/api/v1/providers/acme/endpoints", json={**ENDPOINT, "name": "default"}, headers=mine
    ).status_code == 201
    shown = {e["name"]: e for e in client.get("/api/v1/providers/acme/endpoints", headers=mine).json()}
    assert shown["paced"]["max_rate"] == 3.0
    assert shown["default"]["max_rate"] is None
    # Each of the endpoint_concurrency shards gets its share of the endpoint's rate.
    assert shard_rate(service, shown["paced"]) == 1.5
    assert shard_rate(service, shown["default"]) == 4.0
    unlimited = Service(service_config(tmp_path / "data", endpoint_max_rate=0))
    assert shard_rate(unlimited, shown["default"]) is None
    assert shard_rate(unlimited, shown["paced"]) == 3.0


def test_the_service_default_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text("[service]\nendpoint_max_rate = 2.5\n")
    assert load_config(config, env={}).endpoint_max_rate == 2.5
    assert load_config(config, env={"COMPAT_DIFF_ENDPOINT_MAX_RATE": "7"}).endpoint_max_rate == 7.0
    assert load_config(None, env={}).endpoint_max_rate == 20.0
    for bad in ("-1", "nan", "inf", "fast"):
        with pytest.raises(InputError, match="endpoint_max_rate"):
            load_config(None, env={"COMPAT_DIFF_ENDPOINT_MAX_RATE": bad})


def test_a_bad_max_rate_is_refused_by_the_store_too(tmp_path: Path) -> None:
    service = Service(service_config(tmp_path / "data"))
    service.create_provider("acme")
    for bad in (True, float("nan"), float("inf"), "3"):
        with pytest.raises(InputError, match="max_rate"):
            service.add_endpoint(Principal(admin=True), "acme", {**ENDPOINT, "max_rate": bad})


CONFIG = """
[service]
lease_seconds = 5
poll_seconds = 0.2
endpoint_concurrency = 2
endpoint_max_rate = 100
suites = [{suite!r}]
"""


@pytest.mark.live
def test_two_shards_of_one_endpoint_together_keep_to_its_rate(tmp_path: Path, moto: MotoServer) -> None:
    # Two recordings of one service each, one session each: two shards, run at once
    # (endpoint_concurrency = 2), told apart by the service their calls are signed for.
    suite = make_suite(tmp_path / "suite", ("sqs.jsonl", "kinesis.jsonl"), "pair")
    config = tmp_path / "service.toml"
    config.write_text(CONFIG.format(suite=str(suite)))
    rate = 10
    with tap(moto.url, tmp_path / "tap", arrivals=True) as endpoint:
        server = start_service(tmp_path / "data", config, workers=2)
        try:
            _, created = server.call("POST", "/api/v1/providers", {"name": "acme"}, ADMIN)
            status, answer = server.call(
                "POST",
                "/api/v1/providers/acme/endpoints",
                {**ENDPOINT, "endpoint": endpoint, "services": ["sqs", "kinesis"], "max_rate": rate},
                created["token"],
            )
            assert status == 201, answer
            wanted = {"provider": "acme", "endpoint": "paced", "suite": "pair"}
            _, run = server.call("POST", "/api/v1/runs", wanted, created["token"])
            finished = server.wait_run(run["id"])
            assert finished["state"] == "finished", finished
        finally:
            server.stop()
    arrivals = read_arrivals(tmp_path / "tap" / "arrivals.txt")
    # The replayed calls carry the recorded client's User-Agent; the cleanup's deletes after each
    # shard are compat-diff's own botocore calls, paced by a pacer of their own (docs/replay.md).
    replayed = [(moment, service) for moment, service, client in arrivals if client.startswith("Boto3/")]
    sqs = [moment for moment, service in replayed if service == "sqs"]
    kinesis = [moment for moment, service in replayed if service == "kinesis"]
    assert len(sqs) >= 30 and len(kinesis) >= 18, arrivals
    assert len(sqs) + len(kinesis) == len(replayed), replayed
    # The two shards did run at the same time ...
    assert max(sqs[0], kinesis[0]) < min(sqs[-1], kinesis[-1]), (sqs, kinesis)
    # ... each at half the endpoint's rate (5 a second, +1 when a window's edges fall on two
    # requests), and together within the endpoint's rate (+1 per shard for the same edges).
    assert busiest_second(sqs) <= rate // 2 + 1, sqs
    assert busiest_second(kinesis) <= rate // 2 + 1, kinesis
    assert busiest_second([moment for moment, _ in replayed]) <= rate + 2, replayed
