"""A recorder killed with SIGKILL mid-session leaves a readable recording holding every exchange
whose answer the client had already received.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import botocore.config
import pytest

from compat_diff.recording import open_recording
from tests.capture.conftest import ACCESS_KEY, SECRET_KEY, client_environment


def _start_recorder(out: Path, confdir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "compat_diff", "record", "--out", str(out), "--confdir", str(confdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=client_environment(),
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("export HTTP_PROXY="):
            return process, line.split("=", 1)[1].strip().strip("'")
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(
        f"the recorder printed no proxy address: {process.stderr.read() if process.stderr else ''}"
    )


def test_kill_9_mid_session_keeps_every_completed_exchange(
    tmp_path: Path, confdir: Path, moto_http: str
) -> None:
    out = tmp_path / "rec.jsonl"
    recorder, proxy = _start_recorder(out, confdir)
    completed = 0
    stop = threading.Event()
    errors: list[str] = []

    def client_loop() -> None:
        nonlocal completed
        sqs = boto3.client(
            "sqs",
            endpoint_url=moto_http,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=botocore.config.Config(
                proxies={"http": proxy, "https": proxy}, retries={"max_attempts": 1}, connect_timeout=5
            ),
        )
        url = sqs.create_queue(QueueName="crash-queue")["QueueUrl"]
        completed += 1
        while not stop.is_set():
            try:
                sqs.send_message(QueueUrl=url, MessageBody="x" * 100)
            except Exception as error:  # the proxy vanished under the client
                errors.append(type(error).__name__)
                return
            completed += 1

    thread = threading.Thread(target=client_loop)
    thread.start()
    try:
        while completed < 40 and thread.is_alive():
            time.sleep(0.05)
        assert completed >= 40, errors
        os.kill(recorder.pid, signal.SIGKILL)
        recorder.wait(timeout=30)
        before_kill = completed
    finally:
        stop.set()
        thread.join(timeout=60)
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()

    recording = open_recording(out)
    exchanges = list(recording)
    # An answer reaches the client only after its exchange is on disk, so nothing the client saw
    # is missing; at most the one call in flight was written without its answer being delivered.
    assert before_kill <= len(exchanges) <= before_kill + 1
    assert [e.seq for e in exchanges] == list(range(1, len(exchanges) + 1))
    assert exchanges[0].operation == "CreateQueue"
    assert {e.operation for e in exchanges[1:]} == {"SendMessage"}
    # Every line is whole: the writer flushes each exchange before the client gets its answer.
    assert recording.problems == []
    assert out.read_bytes().endswith(b"\n")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_without_a_command_it_records_until_signalled(
    tmp_path: Path, confdir: Path, moto_http: str, signum: signal.Signals
) -> None:
    out = tmp_path / "rec.jsonl"
    recorder, proxy = _start_recorder(out, confdir)
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=moto_http,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=botocore.config.Config(proxies={"http": proxy}),
        )
        s3.list_buckets()
        os.kill(recorder.pid, signum)
        _, stderr = recorder.communicate(timeout=60)
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()
    assert recorder.returncode == 0, stderr
    assert "ListBuckets" in stderr and "1 exchanges recorded" in stderr and "Traceback" not in stderr
    assert [e.operation for e in open_recording(out)] == ["ListBuckets"]
