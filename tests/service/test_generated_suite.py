"""The model-generated suite shipped in suites/generated/ as the service's suite ``generated``:
built from the committed archive (one recording per service), registered, and run against an
endpoint that serves one small service, so only that service's part of it is replayed."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from compat_diff.service import db
from compat_diff.service.run import BUNDLED_GENERATED, open_service
from compat_diff.service.runs import create_run
from compat_diff.service.store import Principal
from compat_diff.service.worker import step
from compat_diff.testing import MotoServer

from .conftest import SECRET, service_config


def _sessions_per_service() -> Counter[str]:
    exchanges: Counter[str] = Counter()
    with gzip.open(BUNDLED_GENERATED, "rb") as source:
        source.readline()
        for line in source:
            exchanges[json.loads(line)["session"].split("/")[1]] += 1
    return exchanges


def test_the_generated_suite_is_registered_and_an_endpoint_runs_its_own_services(
    tmp_path: Path, moto: MotoServer
) -> None:
    service = open_service(service_config(tmp_path / "data", generated_suite=True))
    suites = {suite["name"]: suite for suite in service.suites()}
    assert set(suites) == {"bundled", "generated"}
    per_service = _sessions_per_service()
    assert suites["generated"]["exchanges"] == sum(per_service.values()) > 10_000
    manifest = json.loads(Path(service.suite_row("generated").path, "suite.json").read_text())
    assert {r["path"]: r["exchanges"] for r in manifest["recordings"]} == {
        f"generated-{name}.jsonl": count for name, count in per_service.items()
    }
    assert manifest["provenance"]["reference"][0].startswith("moto ")
    # A second start finds it built and registered: the same version, no second suite.
    again = open_service(service_config(tmp_path / "data", generated_suite=True))
    assert [s["version"] for s in again.suites() if s["name"] == "generated"] == [
        suites["generated"]["version"]
    ]

    admin = Principal(admin=True)
    service.create_provider("acme")
    service.add_endpoint(
        admin,
        "acme",
        {
            "name": "moto",
            "endpoint": moto.url,
            "access_key": "AKIATEST",
            "secret_key": SECRET,
            "services": ["sts"],
        },
    )
    run = create_run(service, admin, "acme", "moto", "generated")
    while step(service, "w"):
        pass
    with service.engine.connect() as conn:
        row = conn.execute(select(db.runs).where(db.runs.c.id == run["id"])).one()
    assert row.state == "finished", row.error
    assert row.summary["counts"]["exchanges"] == per_service["sts"]
    assert set(row.summary["services"]) == {"sts"}


def test_the_generated_suite_is_off_unless_asked_for(tmp_path: Path) -> None:
    service = open_service(service_config(tmp_path / "data"))
    assert {suite["name"] for suite in service.suites()} == {"bundled"}
