"""A SigV2-signed EC2 session recorded through `compat-diff record` and replayed against a target
that checks SigV2 signatures: with the right secret every call must be accepted, with a wrong one
every call refused.

Shared by the test against the local SigV2-checking endpoint and the live test against OpenStack's
ec2-api, so that what the live test relies on is itself tested here.
"""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from compat_diff.recording import load_exchanges
from compat_diff.testing import client_environment, run_cli

# boto3 signing EC2 with SigV2 (form body, HmacSHA256). Calls that depend on an id the server did
# not return are left out, so the same session runs against any EC2-shaped endpoint.
CLIENT = """
import sys, boto3, botocore.config
endpoint, region = sys.argv[1:3]
config = botocore.config.Config(signature_version="v2", retries={"max_attempts": 1})
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region, config=config)
ec2.describe_regions()
ec2.describe_availability_zones()
ec2.create_key_pair(KeyName="cd-sigv2-kp")
ec2.describe_key_pairs(KeyNames=["cd-sigv2-kp"])
vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16").get("Vpc", {}).get("VpcId")
if vpc:
    group = ec2.create_security_group(GroupName="cd-sigv2-sg", Description="sigv2", VpcId=vpc).get("GroupId")
    if group:
        ec2.describe_security_groups(GroupIds=[group])
        ec2.delete_security_group(GroupId=group)
    ec2.delete_vpc(VpcId=vpc)
ec2.delete_key_pair(KeyName="cd-sigv2-kp")
print("client done")
"""
REFUSALS = ("AuthFailure", "SignatureDoesNotMatch", "IncompleteSignature", "InvalidClientTokenId")


@dataclass
class Outcome:
    recording: Path
    operations: list[str]
    recorded_status: dict[int, int]
    accepted: dict[int, dict]  # seq -> answer, replayed with the right secret
    refused: dict[int, dict]  # seq -> answer, replayed with a wrong secret


def record_session(endpoint: str, region: str, access_key: str, secret_key: str, work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    script = work / "sigv2_client.py"
    script.write_text(CLIENT)
    recording = work / "sigv2.jsonl"
    result = run_cli(
        "record", "--out", str(recording), "--confdir", str(work / "ca"), "--",
        sys.executable, str(script), endpoint, region,
        env=client_environment(access_key, secret_key, AWS_DEFAULT_REGION=region), timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "client done" in result.stdout
    return recording


def replay_both_ways(recording: Path, endpoint: str, access_key: str, secret_key: str, work: Path) -> Outcome:
    targets = work / "sigv2-targets.toml"
    common = f'endpoint = "{endpoint}"\naccess_key = "{access_key}"\n'
    targets.write_text(
        f'[target.right]\n{common}secret_key_env = "CD_RIGHT"\n'
        f'[target.wrong]\n{common}secret_key = "not-the-secret"\n'
    )
    run = work / "run"
    env = client_environment("AKIAUNUSED", "unused", CD_RIGHT=secret_key)
    result = run_cli(
        "replay", str(recording), "--targets", str(targets), "--out", str(run), "--concurrency", "1", env=env,
        timeout=600,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-3000:]
    _, exchanges = load_exchanges(recording)

    def answers(name: str) -> dict[int, dict]:
        lines = (run / "targets" / name / "answers.jsonl").read_text().splitlines()
        return {answer["seq"]: answer for answer in map(json.loads, lines)}

    return Outcome(
        recording=recording,
        operations=[e.operation or "?" for e in exchanges],
        recorded_status={e.seq: e.response.status for e in exchanges},
        accepted=answers("right"),
        refused=answers("wrong"),
    )


def body_text(answer: dict) -> str:
    body = (answer.get("response") or {}).get("body") or {}
    if "base64" in body:
        return base64.b64decode(body["base64"]).decode("utf-8", "replace")
    return str(body.get("text", body))


def assert_signatures_checked(outcome: Outcome) -> None:
    """Every call recorded as SigV2 Query; right secret: same status as recorded and never a refusal;
    wrong secret: every call refused (403/401 with an authentication error)."""
    _, exchanges = load_exchanges(outcome.recording)
    assert exchanges and all(e.service == "ec2" and e.auth.scheme == "sigv2-query" for e in exchanges)
    for seq, status in outcome.recorded_status.items():
        accepted = outcome.accepted[seq]
        assert accepted["outcome"] == "answered", accepted
        assert accepted["response"]["status"] == status, (seq, body_text(accepted))
        assert not any(code in body_text(accepted) for code in REFUSALS), body_text(accepted)
        refused = outcome.refused[seq]
        assert refused["outcome"] == "answered", refused
        assert refused["response"]["status"] in (401, 403), (seq, body_text(refused))
        assert any(code in body_text(refused) for code in REFUSALS), body_text(refused)
