"""A real moto server playing AWS for the scenario tests, and a way to run a scenario against it.

The server binds 127.0.0.1 on a free port and is stopped by its PID. Each scenario run starts from a
fresh server state (``POST /moto-api/reset``) and logs its botocore calls through the test-only
``callspy/sitecustomize.py``, so tests can count operations without changing the scripts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from compat_diff.testing import moto_server as running_moto

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
CALLSPY = Path(__file__).resolve().parent / "callspy"


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    status: int | None
    code: str | None


@dataclass(frozen=True)
class ScenarioRun:
    returncode: int
    stdout: str
    stderr: str
    calls: tuple[Call, ...]

    def distinct_operations(self, service: str) -> set[str]:
        return {call.operation for call in self.calls if call.service == service}


class MotoServer:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).close()

    def run_scenario(self, script: str, tmp_dir: Path, *, strict: bool = True) -> ScenarioRun:
        """Run ``scenarios/<script>`` against a freshly reset server; returns its outcome and calls."""
        self.reset()
        log = tmp_dir / f"{script}.{time.monotonic_ns()}.calls.jsonl"
        venv_bin = str(Path(sys.executable).parent)
        env = {
            key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "COMPAT_DIFF_"))
        }
        env.update(
            {
                "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
                "PYTHONPATH": str(CALLSPY),
                "PYTHON": sys.executable,
                "COMPAT_DIFF_CALL_LOG": str(log),
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "AWS_DEFAULT_REGION": "us-east-1",
                # Keep any personal AWS configuration out of the run.
                "AWS_CONFIG_FILE": str(tmp_dir / "no-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_dir / "no-credentials"),
            }
        )
        if strict:
            env["COMPAT_DIFF_SCENARIO_STRICT"] = "1"
        path = SCENARIOS / script
        command = [sys.executable, str(path)] if path.suffix == ".py" else ["bash", str(path)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_dir)
        calls: list[Call] = []
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                calls.append(Call(row["service"], row["operation"], row["status"], row["code"]))
        return ScenarioRun(done.returncode, done.stdout, done.stderr, tuple(calls))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with running_moto() as server:
        yield MotoServer(server.url)
