"""Real processes for the recorder's tests: moto servers playing AWS and `compat-diff record` itself.

Every server binds 127.0.0.1 on a free port and is stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1, context=context).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto did not start ({url})") from None
            time.sleep(0.1)


def _start_moto(tls: bool) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    if tls:
        args.append("-s")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        _wait_ready(f"{endpoint}/moto-api/", process)
        yield endpoint
    finally:
        stop_process(process)


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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HTTP_PROXY", "HTTPS_PROXY"))}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def compat_diff(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compat_diff", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else client_environment(),
        timeout=timeout,
    )


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
