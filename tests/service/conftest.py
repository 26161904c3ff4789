"""Fixtures for the compatibility service: a small suite, a moto server as the candidate, an
in-process service, and a real ``compat-diff serve`` process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from compat_diff.service.config import ServiceConfig, load_config
from compat_diff.service.store import Service
from compat_diff.service.suites import build_suite
from compat_diff.testing import MotoServer, free_port, moto_server, stop_process

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
ADMIN = "admin-token-for-tests-0123456789"
SECRET = "candidate-secret-Zq9xW2"


def make_suite(folder: Path, names: tuple[str, ...] = ("sqs.jsonl", "sts.jsonl"), name: str = "mini") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for recording in names:
        shutil.copy2(RECORDINGS / recording, folder / recording)
        blobs = RECORDINGS / f"{recording}.blobs"
        if blobs.is_dir():  # bodies stored beside the recording travel with it
            shutil.copytree(blobs, folder / blobs.name, dirs_exist_ok=True)
    build_suite(folder, name=name)
    return folder


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    return make_suite(tmp_path / "suite")


def service_config(data: Path, **settings: Any) -> ServiceConfig:
    values: dict[str, Any] = {
        "data": data,
        "admin_token": ADMIN,
        "allow_private_endpoints": True,
        "workers": 0,
        "lease_seconds": 5.0,
        "poll_seconds": 0.2,
    }
    values.update(settings)
    return load_config(None, env={}, **values)


@pytest.fixture
def service(tmp_path: Path, suite_dir: Path) -> Service:
    made = Service(service_config(tmp_path / "data"))
    made.register_suite(suite_dir)
    return made


@dataclass
class ServiceProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    data: Path

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def wait_run(self, run_id: int, timeout: float = 240.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status, run = self.call("GET", f"/api/v1/runs/{run_id}")
            assert status == 200, run
            if run["state"] not in ("queued", "running"):
                return dict(run)
            assert time.monotonic() < deadline, f"run {run_id} did not finish: {run}"
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.3)

    def stop(self) -> None:
        stop_process(self.process)


def service_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPAT_DIFF_", "AWS_"))}
    env.update(COMPAT_DIFF_ADMIN_TOKEN=ADMIN, COMPAT_DIFF_ALLOW_PRIVATE_ENDPOINTS="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def start_service(
    data: Path, config: Path | None = None, workers: int = 2, env: dict[str, str] | None = None
) -> ServiceProcess:
    return wait_healthy(launch_service(data, config, workers, env))


def launch_service(
    data: Path, config: Path | None = None, workers: int = 2, env: dict[str, str] | None = None
) -> ServiceProcess:
    """``compat-diff serve`` started, not yet waited for (several may start at the same moment)."""
    port = free_port()
    log = data.parent / f"serve-{port}.log"
    data.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "compat_diff",
        "serve",
        "--data",
        str(data),
        "--listen",
        f"127.0.0.1:{port}",
    ]
    argv += ["--workers", str(workers)]
    if config is not None:
        argv += ["--config", str(config)]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env or service_env())
    return ServiceProcess(f"http://127.0.0.1:{port}", process, log, data)


def wait_healthy(server: ServiceProcess, seconds: float = 60.0) -> ServiceProcess:
    """The service once it answers /healthz; stopped, and its log shown, when it does not."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(server.url + "/healthz", timeout=1).close()
            return server
        except OSError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the service did not start: {server.log.read_text()[-3000:]}") from None
            time.sleep(0.2)


def start_worker(
    data: Path, config: Path | None = None, workers: int = 1, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "compat_diff", "worker", "--data", str(data), "--workers", str(workers)]
    if config is not None:
        argv += ["--config", str(config)]
    log = data.parent / f"worker-{time.monotonic_ns()}.log"
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env or service_env())
