"""Test sessions: a control request through the proxy names the running test, from any language
(curl here), and the pytest plugin shipped in the package names each test's setup, call and
teardown; a comparison then reports results per test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from compat_diff.recording import read_recording
from compat_diff.testing import moto_server, run_cli
from tests.capture.conftest import client_environment, record, write_script

LIST_QUEUES = "import boto3; boto3.client('sqs', region_name='us-east-1').list_queues()"


def test_a_control_request_names_the_session_and_step_and_is_not_recorded(
    tmp_path: Path, moto_http: str, confdir: Path
) -> None:
    control = 'curl -sf -x "$HTTP_PROXY" "http://compat-diff.invalid/session?name={}&step={}"'
    script = "; ".join(
        [
            control.format("first", "call"),
            f'{sys.executable} -c "{LIST_QUEUES}"',
            control.format("second%2Fwith%20slash", "teardown"),
            f'{sys.executable} -c "{LIST_QUEUES}"',
            'curl -sf -x "$HTTP_PROXY" "http://compat-diff.invalid/session"',  # back to the default
            f'{sys.executable} -c "{LIST_QUEUES}"',
        ]
    )
    out = tmp_path / "r.jsonl"
    result = record(
        out,
        confdir,
        ["sh", "-c", script],
        "--session",
        "main",
        env=client_environment(AWS_ENDPOINT_URL=moto_http),
    )
    assert result.returncode == 0, result.stderr
    exchanges = list(read_recording(out))
    assert [(e.session, e.notes.get("step")) for e in exchanges] == [
        ("first", "call"),
        ("second/with slash", "teardown"),
        ("main", None),
    ]
    assert all(e.operation == "ListQueues" for e in exchanges)
    assert "2 control requests named the test session" in result.stderr


SUITE = """
import boto3
import pytest


@pytest.fixture
def queue():
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="plugin-queue")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def test_send(queue):
    boto3.client("sqs", region_name="us-east-1").send_message(QueueUrl=queue, MessageBody="hi")


def test_list():
    boto3.client("sqs", region_name="us-east-1").list_queues()
"""


def test_the_pytest_plugin_makes_each_test_a_session_reported_per_test(tmp_path: Path, confdir: Path) -> None:
    suite = write_script(tmp_path, "test_third_party.py", SUITE)
    out = tmp_path / "r.jsonl"
    with moto_server() as reference:
        result = record(
            out,
            confdir,
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "--compat-diff-sessions",  # the plugin is registered by compat-diff's entry point
                "-p",
                "no:cacheprovider",
                # Test ids relative to the suite's folder, wherever the checkout and the temp dir are.
                "--rootdir",
                str(tmp_path),
                str(suite),
            ],
            env=client_environment(AWS_ENDPOINT_URL=reference.url),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [(e.session, e.notes.get("step"), e.operation) for e in read_recording(out)]
    assert steps == [
        ("test_third_party.py::test_send", "setup", "CreateQueue"),
        ("test_third_party.py::test_send", "call", "SendMessage"),
        ("test_third_party.py::test_send", "teardown", "DeleteQueue"),
        ("test_third_party.py::test_list", "call", "ListQueues"),
    ]
    with moto_server() as candidate:
        report = tmp_path / "report"
        compared = run_cli(
            "compare", str(out), "--target", f"fresh={candidate.url}", "--report-dir", str(report),
            env=client_environment(),
            timeout=300,
        )  # fmt: skip
    assert compared.returncode in (0, 1), compared.stderr
    view = json.loads((report / "tests.json").read_text())
    assert view["format"] == "compat-diff/tests"
    tests = {test["test"]: test for test in view["targets"][0]["tests"]}
    assert set(tests) == {"test_third_party.py::test_send", "test_third_party.py::test_list"}
    assert tests["test_third_party.py::test_send"]["exchanges"] == 3
    assert tests["test_third_party.py::test_list"]["verdict"] == "match"
    assert "of 2 tests match" in (report / "tests.md").read_text()
