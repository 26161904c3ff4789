"""The EC2 scenario recorded against the reference (moto) replayed against the two independent EC2
implementations compat_diff can start: OpenStack's ec2-api and MiniStack.

What must hold whatever their scores: every call reached the candidate and was answered (no transport
failures), ec2-api accepted every re-signed request (Keystone checks each SigV4 signature: an
AuthFailure would mean our re-signing is wrong, not that ec2-api diverges), and the differences the
report shows are the servers' own (ec2-api implements the 2016 API: a VPC created with tags is
refused).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from compat_diff.candidates import running, write_targets_toml
from compat_diff.testing import client_environment, run_cli
from tests.candidates.conftest import require_installed

ROOT = Path(__file__).resolve().parents[2]
RECORDING = ROOT / "recordings" / "ec2.jsonl"
EC2_CANDIDATES = ("openstack-ec2", "ministack")

# ec2-api's first start provisions its stack when `make candidates` has not (minutes).
pytestmark = [pytest.mark.live, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    for name in EC2_CANDIDATES:
        require_installed(name)
    work = tmp_path_factory.mktemp("ec2-live")
    with running(EC2_CANDIDATES, work / "candidates", on_error="raise") as (started, _):
        targets = work / "targets.toml"
        write_targets_toml(started, targets)
        env = client_environment("AKIAUNUSED", "unused")
        result = run_cli(
            "compare", str(RECORDING), "--targets", str(targets), "--report-dir", str(work / "report"),
            "--run-dir", str(work / "run"), "--timeout", "120",
            env=env, timeout=1200,
        )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return orjson.loads((work / "report" / "report.json").read_bytes())


def _target(doc: dict, name: str) -> dict:
    found = [t for t in doc["targets"] if t["name"] == name]
    assert found, f"{name} is not in the report"
    return found[0]


def _divergences(target: dict) -> list[tuple[str, dict]]:
    return [(op["operation"], d) for op in target["operations"] for d in op.get("divergences", [])]


def _error_codes(target: dict) -> set[str]:
    return {
        str(d["candidate"])
        for _, d in _divergences(target)
        if d["kind"] == "error-code" and d.get("candidate")
    }


@pytest.mark.parametrize("name", EC2_CANDIDATES)
def test_the_ec2_scenario_is_replayed_and_rated(report: dict, name: str) -> None:
    target = _target(report, name)
    ec2 = next(s for s in target["services"] if s["service"] == "ec2")
    recorded = report["recording"]["exchanges"]
    assert ec2["compared"] == recorded, "every exchange of the EC2 recording was compared"
    assert target["score"] is not None and 0 < target["score"] < 1
    transport = [(op, d) for op, d in _divergences(target) if d["kind"] == "transport"]
    assert transport == [], f"{name} stopped answering: {transport[:3]}"


def test_ec2_api_accepts_every_re_signed_request(report: dict) -> None:
    target = _target(report, "openstack-ec2")
    assert not _error_codes(target) & {"AuthFailure", "SignatureDoesNotMatch", "IncompleteSignature"}
    matching = [op["operation"] for op in target["operations"] if op["verdict"] == "match"]
    assert matching, "some EC2 calls answer like the reference"


def test_ec2_api_refuses_tag_specifications_of_the_later_api(report: dict) -> None:
    target = _target(report, "openstack-ec2")
    create_vpc = [d for op, d in _divergences(target) if op == "CreateVpc"]
    assert any(d["kind"] in ("status", "error-code") for d in create_vpc), create_vpc
