"""The generated suite recorded through `compat-diff record` against moto (the stand-in for AWS):
each test is a session, each call carries its step, every valid request is identified as the
operation it tests, and the reference refuses invalid requests with client errors (those it does
not refuse are listed as findings about the reference, not hidden)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from compat_diff.aws.models import service_model
from compat_diff.generate.findings import analyse, findings_markdown
from compat_diff.generate.run import RUNNER_NAME, run_generate
from compat_diff.recording import read_recording
from tests.capture.conftest import client_environment, compat_diff

SERVICES = ("sqs", "kms", "sts")
# Some 600 calls through the proxy, one after the other: minutes on a busy shared machine.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, moto_http: str, confdir: Path) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    run_generate(SERVICES, folder / "suite", seed=0)
    out = folder / "generated.jsonl"
    suite = folder / "suite"
    result = compat_diff(
        "record", "--out", str(out), "--confdir", str(confdir), "--",
        sys.executable, str(suite / RUNNER_NAME), str(suite),
        env=client_environment(AWS_ENDPOINT_URL=moto_http),
        timeout=900,  # some 600 calls on a shared machine
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def test_every_operation_is_a_session_with_its_valid_request_identified(recorded: Path) -> None:
    exchanges = list(read_recording(recorded))
    sessions = {exchange.session for exchange in exchanges}
    for service in SERVICES:
        for operation in service_model(service).operation_names:
            assert f"generated/{service}/{operation}" in sessions
    findings = analyse(exchanges)
    assert findings.valid == sum(len(service_model(s).operation_names) for s in SERVICES)
    assert findings.misidentified == [], findings_markdown(findings, "moto")
    steps = Counter(str(exchange.notes.get("step", "")).split(":")[0] for exchange in exchanges)
    assert {"setup", "teardown", "valid", "missing", "type", "unknown-member"} <= set(steps)


def test_invalid_requests_are_refused_or_listed_as_findings(recorded: Path) -> None:
    findings = analyse(list(read_recording(recorded)))
    listed = len(findings.accepted) + len(findings.server_errors)
    assert findings.invalid == findings.refused + listed
    # moto, the stand-in for AWS, validates far less than AWS: it refuses only part of them (about
    # a third for these services), but some of every service ...
    assert all(findings.refused_by_service[service] > 0 for service in SERVICES), findings.refused_by_service
    # ... and every one it does not refuse is named in the findings, with its step and status.
    text = findings_markdown(findings, "moto")
    for item in findings.accepted + findings.server_errors:
        assert f"{item.service} {item.operation} `{item.step}`: {item.status}" in text
    missing = [f for f in findings.accepted if f.step.startswith("missing:")]
    assert all(f.step.split(":")[1] for f in missing)
