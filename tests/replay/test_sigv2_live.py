"""SigV2 Query sessions recorded and replayed against servers that check SigV2 signatures.

Locally: the SigV2-checking endpoint (botocore's SigV2Auth verifying each call). Live: OpenStack's
ec2-api, whose Keystone verifies SigV2 over the path it is served at; the session is recorded
against one ec2-api and replayed against a fresh one (started again from its pristine snapshot).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from compat_diff.testing import stop_process
from tests.replay.sigv2_session import assert_signatures_checked, record_session, replay_both_ways

KEY, SECRET = "AKIDSIGV2CHECKED0001", "sigv2-checked-secret"
EC2_API = "openstack-ec2"


@pytest.fixture
def checker(tmp_path: Path) -> Iterator[str]:
    port_file = tmp_path / "checker.port"
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("sigv2_checker.py")),
            KEY,
            SECRET,
            str(tmp_path / "verdicts.jsonl"),
            str(port_file),
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert process.poll() is None and time.monotonic() < deadline, "the SigV2 checker did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        stop_process(process)


def test_sigv2_session_against_a_checking_endpoint(checker: str, tmp_path: Path) -> None:
    recording = record_session(checker, "us-east-1", KEY, SECRET, tmp_path)
    outcome = replay_both_ways(recording, checker, KEY, SECRET, tmp_path)
    assert outcome.operations[:4] == [
        "DescribeRegions",
        "DescribeAvailabilityZones",
        "CreateKeyPair",
        "DescribeKeyPairs",
    ]
    assert_signatures_checked(outcome)


@pytest.mark.live
@pytest.mark.timeout(1500)  # a first start of ec2-api provisions its stack (minutes); later ones ~30 s
def test_sigv2_session_recorded_against_ec2_api_replays_against_a_fresh_one(tmp_path: Path) -> None:
    from compat_diff.candidates import CANDIDATES
    from compat_diff.candidates.lifecycle import running

    if EC2_API not in CANDIDATES:
        pytest.skip(f"this build has no {EC2_API} candidate")
    from tests.candidates.conftest import require_installed

    require_installed(EC2_API)
    with running([EC2_API], tmp_path / "first", on_error="raise") as (started, _):
        (ec2_api,) = started
        recording = record_session(
            ec2_api.endpoint, ec2_api.region, ec2_api.access_key, ec2_api.secret_key, tmp_path
        )
    with running([EC2_API], tmp_path / "fresh", on_error="raise") as (started, _):
        (fresh,) = started
        outcome = replay_both_ways(recording, fresh.endpoint, fresh.access_key, fresh.secret_key, tmp_path)
    assert "CreateSecurityGroup" in outcome.operations  # the full session ran against ec2-api
    assert_signatures_checked(outcome)
