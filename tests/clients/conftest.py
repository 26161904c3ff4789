"""Real processes for the client tests: moto playing AWS, SeaweedFS checking signatures, and
`compat-diff record` around clients/run_client.py.

moto runs with ``MOTO_S3_CUSTOM_ENDPOINTS`` naming s3.compat-diff.test, otherwise it takes the
first label of any dotted host for a bucket name. Every server binds 127.0.0.1 on a free port and
is stopped by its PID.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from compat_diff import testing
from compat_diff.testing import free_port, moto_server, run_cli, stop_process

ROOT = Path(__file__).resolve().parents[2]
RUN_CLIENT = ROOT / "clients" / "run_client.py"
HOSTS_ALIAS = ROOT / "scripts" / "hosts-alias.sh"
DOMAIN = "s3.compat-diff.test"

# Distinct from each other and from anything a server would echo, so a scan for them means something.
ACCESS_KEY = "AKIDCLIENTSTEST00001"
SECRET_KEY = "cdClientsSecret/0123456789+abcdefghijKLMN"

_REQUEST_LINE = re.compile(r'"(GET|PUT|POST|HEAD|DELETE|OPTIONS|PATCH) (\S+) HTTP/1\.[01]" \d{3}')


@dataclass
class Moto:
    """A moto server; ``requests()`` is its own view of what reached it (the werkzeug access log)."""

    port: int
    log: Path
    process: subprocess.Popen[bytes]
    tls: bool = False

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def endpoint(self) -> str:
        """The named endpoint clients use, so Go clients go through a proxy too."""
        return f"{self.scheme}://{DOMAIN}:{self.port}"

    @property
    def loopback(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def requests(self) -> list[tuple[str, str]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            match = _REQUEST_LINE.search(line)
            if match and not match.group(2).startswith("/moto-api"):
                found.append((match.group(1), match.group(2)))
        return found


def start_moto(directory: Path, tls: bool = False) -> Moto:
    port = free_port()
    scheme = "https" if tls else "http"
    server = moto_server(
        extra_env={"MOTO_S3_CUSTOM_ENDPOINTS": f"{scheme}://{DOMAIN}:{port}"},
        https=tls,
        log=directory / f"moto-{port}.log",
        port=port,
    )
    assert server.log is not None
    return Moto(server.port, server.log, server.process, tls)


@pytest.fixture(scope="session")
def hosts_alias() -> str:
    """s3.compat-diff.test and the test buckets' virtual hosts resolve to 127.0.0.1 (Go clients never
    proxy a loopback address, so the recorder only sees them when the endpoint is a name)."""
    result = subprocess.run(["bash", str(HOSTS_ALIAS)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"{DOMAIN} does not resolve to 127.0.0.1 and scripts/hosts-alias.sh could not add it "
            f"(run it once as root): {result.stderr.strip()}"
        )
    for name in (DOMAIN, f"cdtest-virtual.{DOMAIN}"):
        assert socket.gethostbyname(name) == "127.0.0.1", f"{name} does not resolve to 127.0.0.1"
    return DOMAIN


@pytest.fixture
def moto(tmp_path: Path, hosts_alias: str) -> Iterator[Moto]:
    server = start_moto(tmp_path / "moto")
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def moto_https(tmp_path: Path, hosts_alias: str) -> Iterator[Moto]:
    """moto over TLS with a self-signed certificate (recorded with --ssl-insecure)."""
    server = start_moto(tmp_path / "moto-https", tls=True)
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def fresh_moto(tmp_path: Path, hosts_alias: str) -> Iterator[Moto]:
    """A second, empty moto to replay against."""
    server = start_moto(tmp_path / "moto-replay")
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """SeaweedFS checks SigV4 and SigV2 signatures: the judge of whether a re-signed replay is authentic."""
    from compat_diff import candidates

    candidate = candidates.start("seaweedfs", tmp_path_factory.mktemp("candidates"))
    try:
        yield candidate
    finally:
        candidates.stop(candidate)


@pytest.fixture(scope="session")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One proxy CA for the session, kept out of the home directory."""
    return tmp_path_factory.mktemp("mitmproxy-conf")


def client_environment(**extra: str) -> dict[str, str]:
    return testing.client_environment(ACCESS_KEY, SECRET_KEY, **extra)


def compat_diff(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env if env is not None else client_environment(), timeout=timeout, cwd=ROOT)


@dataclass
class Recording:
    path: Path
    returncode: int
    stdout: str
    stderr: str
    header: dict[str, Any] = field(default_factory=dict)
    exchanges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def expected_requests(self) -> int | None:
        match = re.search(r"^expected-requests: (\d+|unknown)$", self.stdout, re.MULTILINE)
        assert match, f"the driver printed no expected-requests line:\n{self.stdout}\n{self.stderr}"
        return None if match.group(1) == "unknown" else int(match.group(1))

    def operations(self) -> set[str]:
        return {exchange["operation"] for exchange in self.exchanges}

    def header_of(self, exchange: dict[str, Any], name: str) -> str | None:
        for key, value in exchange["request"]["headers"]:
            if key.lower() == name.lower():
                return str(value)
        return None

    def stored_bytes(self) -> bytes:
        """The recording file and every blob beside it: everything that reaches the disk."""
        data = self.path.read_bytes()
        blobs = Path(f"{self.path}.blobs")
        if blobs.is_dir():
            for blob in sorted(blobs.iterdir()):
                data += blob.read_bytes()
        return data


def read_recording(path: Path, result: subprocess.CompletedProcess[str] | None = None) -> Recording:
    lines = (
        [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    )
    return Recording(
        path=path,
        returncode=result.returncode if result else 0,
        stdout=result.stdout if result else "",
        stderr=result.stderr if result else "",
        header=lines[0] if lines else {},
        exchanges=lines[1:],
    )


def record_client(
    out: Path,
    confdir: Path,
    client: str,
    endpoint: str,
    bucket: str,
    *driver_args: str,
    record_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Recording:
    workdir = out.parent / f"{out.stem}-work"
    command = [
        sys.executable,
        str(RUN_CLIENT),
        client,
        "--endpoint",
        endpoint,
        "--bucket",
        bucket,
        "--access-key",
        ACCESS_KEY,
        "--secret-key",
        SECRET_KEY,
        "--workdir",
        str(workdir),
        *driver_args,
    ]
    result = compat_diff(
        "record", "--out", str(out), "--confdir", str(confdir), *record_args, "--", *command, env=env
    )
    return read_recording(out, result)


def load_aws_chunked() -> ModuleType:
    """The driver's SigV4 streaming framer, loaded by path (clients/ is a folder of scripts)."""
    spec = importlib.util.spec_from_file_location("client_aws_chunked", ROOT / "clients" / "aws_chunked.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_targets(path: Path, moto: Moto | None, seaweedfs: Any | None) -> Path:
    lines: list[str] = []
    if moto is not None:
        lines += [
            "[target.moto]",
            f'endpoint = "{moto.loopback}"',
            'region = "us-east-1"',
            f'access_key = "{ACCESS_KEY}"',
            f'secret_key = "{SECRET_KEY}"',
            "",
        ]
    if seaweedfs is not None:
        lines += [
            "[target.seaweedfs]",
            f'endpoint = "{seaweedfs.endpoint}"',
            'region = "us-east-1"',
            f'access_key = "{seaweedfs.access_key}"',
            f'secret_key = "{seaweedfs.secret_key}"',
            "",
        ]
    path.write_text("\n".join(lines))
    return path


def answers(run_dir: Path, target: str) -> dict[int, dict[str, Any]]:
    path = run_dir / "targets" / target / "answers.jsonl"
    return {
        line["seq"]: line for line in (json.loads(text) for text in path.read_text().splitlines() if text)
    }
