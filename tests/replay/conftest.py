"""Fixtures for replay tests: real moto servers on free loopback ports (stopped by PID), and a
recorder that captures real boto3 traffic through botocore's ``before-send`` hook and writes it
with the project's own :class:`Recorder` (so identification, redaction and unframing are real).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import urllib3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from compat_diff.capture.recorder import Recorder
from compat_diff.model import Body, HttpRequest, HttpResponse
from compat_diff.recording import RecordingWriter
from compat_diff.testing import free_port, moto_server, stop_process

RECORDED_KEY = "AKIARECORDEDOWNER001"
RECORDED_SECRET = "recorded-secret-never-used-on-replay"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop_process(self.process)


def start_moto(tmp_path: Path, env_extra: dict[str, str] | None = None, https: bool = False) -> Server:
    port = free_port()
    moto = moto_server(extra_env=env_extra, https=https, log=tmp_path / f"moto-{port}.log", port=port)
    return Server(moto.url, moto.process)


@pytest.fixture
def moto_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def make(env_extra: dict[str, str] | None = None, https: bool = False) -> Server:
        server = start_moto(tmp_path, env_extra, https)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


class _Raw:
    """Just enough of urllib3's response for botocore to read a body we already hold."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def stream(self, amt: int = 1024, decode_content: bool = True) -> Iterator[bytes]:
        if self._data:
            yield self._data

    def read(self, amt: int | None = None, **_: Any) -> bytes:
        end = len(self._data) if amt is None else self._offset + amt
        chunk = self._data[self._offset : end]
        self._offset += len(chunk)
        return chunk


class BotoRecorder:
    """Sends boto3's requests itself (urllib3) and records every request/response pair."""

    def __init__(self, path: Path, session: str = "default") -> None:
        self.writer = RecordingWriter(path, header={"reference": "moto"})
        self.recorder = Recorder(self.writer, session)
        self.http = urllib3.PoolManager()

    def set_session(self, name: str) -> None:
        self.recorder.session = name

    def client(
        self,
        service: str,
        endpoint: str,
        access_key: str = RECORDED_KEY,
        secret_key: str = RECORDED_SECRET,
        **config: Any,
    ) -> Any:
        client = boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(retries={"max_attempts": 1}, **config),
        )
        client.meta.events.register("before-send", self._send)
        return client

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        body = body or b""
        headers = [(k, v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()]
        netloc = request.url.split("/")[2]
        sent = [("Host", netloc), *headers]
        started = time.time()
        reply = self.http.request(
            request.method,
            request.url,
            body=body or None,
            headers=dict(headers),
            redirect=False,
            retries=False,
            preload_content=True,
        )
        data = reply.data
        self.recorder.record(
            HttpRequest(request.method, request.url, tuple(sent), Body.of(body)),
            HttpResponse(reply.status, tuple(reply.headers.items()), Body.of(data)),
            started,
            (time.time() - started) * 1000,
        )
        return AWSResponse(request.url, reply.status, dict(reply.headers.items()), _Raw(data))

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def boto_recorder(tmp_path: Path) -> Iterator[Callable[..., BotoRecorder]]:
    made: list[BotoRecorder] = []

    def make(name: str = "rec.jsonl", session: str = "default") -> BotoRecorder:
        recorder = BotoRecorder(tmp_path / name, session)
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.close()


@pytest.fixture
def fault_server(tmp_path: Path) -> Iterator[Callable[[str], Server]]:
    """Start ``tests/replay/fault_server.py`` in a mode (hang, reset, garbage); stopped by PID."""
    started: list[Server] = []

    def make(mode: str) -> Server:
        port_file = tmp_path / f"fault-{mode}-{len(started)}.port"
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("fault_server.py")), mode, str(port_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = Server("", process)
        started.append(server)
        deadline = time.monotonic() + 10
        while not port_file.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"fault server {mode} did not start")
            time.sleep(0.02)
        server.url = f"http://127.0.0.1:{port_file.read_text()}"
        return server

    yield make
    for server in started:
        server.stop()
