"""Real processes for the recorder's tests: moto servers playing AWS and `compat-diff record` itself.

Every server binds 127.0.0.1 on a free port and is stopped by its PID.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from compat_diff import testing
from compat_diff.testing import moto_server, run_cli

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _start_moto(tls: bool) -> Iterator[str]:
    with moto_server(https=tls) as server:
        yield server.url


@pytest.fixture(scope="session")
def moto_http() -> Iterator[str]:
    yield from _start_moto(tls=False)


@pytest.fixture(scope="session")
def moto_https() -> Iterator[str]:
    yield from _start_moto(tls=True)


@pytest.fixture(scope="session")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA for the whole test session, kept out of the home directory."""
    return tmp_path_factory.mktemp("mitmproxy-conf")


@dataclass
class Recorded:
    returncode: int
    stdout: str
    stderr: str
    path: Path


def client_environment(**extra: str) -> dict[str, str]:
    return testing.client_environment(ACCESS_KEY, SECRET_KEY, **extra)


def compat_diff(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env if env is not None else client_environment(), timeout=timeout)


def record(
    out: Path,
    confdir: Path,
    command: list[str],
    *options: str,
    env: dict[str, str] | None = None,
) -> Recorded:
    result = compat_diff(
        "record", "--out", str(out), "--confdir", str(confdir), *options, "--", *command, env=env
    )
    return Recorded(result.returncode, result.stdout, result.stderr, out)


def write_script(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.write_text(source)
    return path
