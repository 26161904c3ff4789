"""Repeatable runs of the bundled IAM, SQS and SNS recordings against a real MiniStack process.

The same recording compared twice in a row against one MiniStack gives the same verdicts and
score; two targets on the one MiniStack (each its own run id) do not meet each other's resources;
after each run MiniStack holds nothing the run made (its users, roles, groups, policies, instance
profiles, queues and topics are listed before and after).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from compat_diff import candidates
from compat_diff.candidates.base import RunningCandidate
from compat_diff.recording import open_recording

from .test_repeatable import _run, _verdicts

pytestmark = [pytest.mark.live, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ("iam", "sqs", "sns")


@pytest.fixture(scope="module")
def ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCandidate]:
    running = candidates.start("ministack", tmp_path_factory.mktemp("ministack"))
    try:
        yield running
    finally:
        candidates.stop(running)


def _targets(path: Path, ministack: RunningCandidate, names: list[str]) -> Path:
    keys = (
        f'endpoint = "{ministack.endpoint}"\naccess_key = "{ministack.access_key}"\n'
        f'secret_key = "{ministack.secret_key}"\nregion = "{ministack.region or "us-east-1"}"\n'
    )
    path.write_text("".join(f"[target.{name}]\n{keys}\n" for name in names))
    return path


def _holdings(ministack: RunningCandidate) -> dict[str, set[str]]:
    keys = {
        "endpoint_url": ministack.endpoint,
        "region_name": ministack.region or "us-east-1",
        "aws_access_key_id": ministack.access_key,
        "aws_secret_access_key": ministack.secret_key,
    }
    iam, sqs, sns = (boto3.client(service, **keys) for service in ("iam", "sqs", "sns"))
    return {
        "users": {user["UserName"] for user in iam.list_users()["Users"]},
        "roles": {role["RoleName"] for role in iam.list_roles()["Roles"]},
        "groups": {group["GroupName"] for group in iam.list_groups()["Groups"]},
        "policies": {policy["Arn"] for policy in iam.list_policies(Scope="Local")["Policies"]},
        "instance_profiles": {
            profile["InstanceProfileName"] for profile in iam.list_instance_profiles()["InstanceProfiles"]
        },
        "queues": set(sqs.list_queues().get("QueueUrls", [])),
        "topics": {topic["TopicArn"] for topic in sns.list_topics()["Topics"]},
    }


def _already_exists_from_elsewhere(run: Path, target: str, recording: Path) -> list[int]:
    """Calls answered "already exists" that the reference did not answer with an error."""
    recorded = {exchange.seq: exchange.response.status for exchange in open_recording(recording)}
    found = []
    for line in (run / "targets" / target / "answers.jsonl").read_text().splitlines():
        answer = json.loads(line)
        text = answer.get("response", {}).get("body", {}).get("text", "") if answer.get("response") else ""
        if "AlreadyExists" in text and recorded[answer["seq"]] < 400:
            found.append(answer["seq"])
    return found


def _differences(first: tuple, second: tuple) -> dict[str, tuple]:
    return {
        operation: (verdict, second[1].get(operation))
        for operation, verdict in first[1].items()
        if second[1].get(operation) != verdict
    }


def _without_deletes(name: str, path: Path) -> Path:
    """The bundled recording up to its first delete: a session that leaves what it made behind,
    as most real sessions do, so the cleanup has everything to undo."""
    lines = (ROOT / "recordings" / f"{name}.jsonl").read_text().splitlines()
    kept = [lines[0]]
    for line in lines[1:]:
        operation = json.loads(line)["operation"]
        if operation.startswith(("Delete", "Remove", "Detach", "Unsubscribe", "Purge")):
            break
        kept.append(line)
    path.write_text("\n".join(kept) + "\n")
    return path


@pytest.mark.parametrize("whole", [True, False], ids=["whole", "without-its-deletes"])
@pytest.mark.parametrize("name", RECORDINGS)
def test_ministack_twice_in_a_row_two_targets_and_nothing_left(tmp_path, ministack, name, whole):
    recording = (
        ROOT / "recordings" / f"{name}.jsonl" if whole else _without_deletes(name, tmp_path / "rec.jsonl")
    )
    before = _holdings(ministack)
    one = _targets(tmp_path / "one.toml", ministack, ["ministack"])

    first = _verdicts(_run(recording, tmp_path / "first", targets_file=one, keep=False), "ministack")
    assert _holdings(ministack) == before
    cleanup = json.loads((tmp_path / "first" / "run" / "run.json").read_text())["cleanup"]["ministack"]
    assert cleanup["failed"] == [] and cleanup["skipped"] == [], cleanup
    if not whole:
        assert cleanup["deleted"] > 0, cleanup
    second = _verdicts(_run(recording, tmp_path / "second", targets_file=one, keep=False), "ministack")
    assert second == first, _differences(first, second)
    assert _holdings(ministack) == before
    for run in ("first", "second"):
        assert _already_exists_from_elsewhere(tmp_path / run / "run", "ministack", recording) == []

    # Two targets on the one MiniStack at once: each its own run id, no create meets the other's
    # resource. A list of the account's resources (ListUsers, ListTopics) taken while the other
    # target's run is under way shows that run's resources too: the only verdicts that may differ
    # from a run alone, and only by the other run's names.
    pair = _targets(tmp_path / "pair.toml", ministack, ["left", "right"])
    both = _run(recording, tmp_path / "both", targets_file=pair, keep=False)
    header = json.loads((tmp_path / "both" / "run" / "run.json").read_text())
    run_ids = {target["name"]: target["run_id"] for target in header["targets"]}
    assert len(set(run_ids.values())) == 2
    for target, other in (("left", "right"), ("right", "left")):
        assert _already_exists_from_elsewhere(tmp_path / "both" / "run", target, recording) == []
        entry = next(t for t in both["targets"] if t["name"] == target)
        for operation in _differences(first, _verdicts(both, target)):
            service, name = operation.split(".")
            assert name.startswith("List"), operation
            divergences = next(
                op["divergences"]
                for op in entry["operations"]
                if (op["service"], op["operation"]) == (service, name)
            )
            assert run_ids[other] in json.dumps(divergences), (operation, divergences)
    assert _holdings(ministack) == before
