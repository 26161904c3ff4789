"""The OpenAPI document, exercised by schemathesis against the app in-process: no 500s."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from compat_diff.service.api import create_app
from compat_diff.service.store import Service

from .conftest import make_suite, service_config


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("openapi")
    service = Service(service_config(root / "data", rate_limit_per_minute=1_000_000))
    service.register_suite(make_suite(root / "suite"))
    service.create_provider("acme")
    return create_app(service)


def test_the_openapi_document_describes_the_api(app) -> None:  # type: ignore[no-untyped-def]
    document = app.openapi()
    paths = document["paths"]
    for path in ("/api/v1/suites", "/api/v1/providers", "/api/v1/runs", "/api/v1/runs/{run_id}/attestation"):
        assert path in paths


def test_no_operation_answers_a_server_error(app) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def check(case):  # type: ignore[no-untyped-def]
            response = case.call()
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        check()
    assert not failures, failures[:5]


def test_the_pages_render(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    client = TestClient(app)
    home = client.get("/")
    assert home.status_code == 200 and "mini" in home.text and "keys.json" in home.text
    assert client.get("/runs/999").status_code == 404
