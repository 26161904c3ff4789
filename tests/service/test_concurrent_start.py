"""Two ``compat-diff serve`` processes started at the same moment on one PostgreSQL database both
come up, and the bundled suite they both register exists once.

Each round uses a fresh database of one PostgreSQL server started by the test; the processes
either share one data folder (the secret key made on first start is then shared too) or have one
each, with the same configured secret key, as on two machines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text

from compat_diff.service import db

from .conftest import launch_service, service_env, wait_healthy
from .postgres import start_postgres

pytestmark = pytest.mark.live

ROUNDS = ("shared", "separate", "shared", "separate")


def _create_database(url: str, name: str) -> str:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"


def test_two_services_starting_at_once_register_the_bundled_suite_once(tmp_path: Path) -> None:
    postgres = start_postgres()
    try:
        for number, folders in enumerate(ROUNDS):
            url = _create_database(postgres.url, f"round{number}")
            env = service_env(COMPAT_DIFF_DATABASE_URL=url)
            if folders == "separate":
                env["COMPAT_DIFF_SECRET_KEY"] = Fernet.generate_key().decode()
            base = tmp_path / f"round{number}"
            datas = [base / "data"] * 2 if folders == "shared" else [base / "a", base / "b"]
            # Started one right after the other, neither waiting for the other to be up.
            servers = [launch_service(data, workers=0, env=env) for data in datas]
            try:
                for server in servers:
                    wait_healthy(server)
                answers = [server.call("GET", "/api/v1/suites") for server in servers]
            finally:
                for server in servers:
                    server.stop()
            for status, suites in answers:
                assert status == 200, suites
                assert [suite["name"] for suite in suites] == ["bundled"], (folders, suites)
            assert answers[0][1] == answers[1][1]
            engine = create_engine(url)
            try:
                with engine.connect() as conn:
                    rows = conn.execute(select(db.suites)).all()
                    count = select(func.count()).select_from(db.capabilities)
                    capabilities = conn.execute(count).scalar_one()
            finally:
                engine.dispose()
            assert len(rows) == 1, (folders, rows)
            # One suite's capability states, written once, in the same transaction as its row.
            manifest = rows[0].manifest
            assert capabilities == sum(len(ops) for ops in manifest["capabilities"].values())
            assert Path(rows[0].path, "suite.json").exists()
            for server in servers:
                log = server.log.read_text()
                assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
    finally:
        postgres.stop()
