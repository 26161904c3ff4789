"""Repeatable runs against stateful candidates: run-scoped names and the cleanup.

A session that creates a bucket, an IAM user and role, a queue and a topic and never deletes them
(like most real sessions) is compared twice in a row against one candidate: the verdicts and the
score do not change, because each run's names carry its own run id. Two targets on one backend
do not collide. After a run, the candidate holds nothing the run made. With names as recorded
(the control) the second run meets what the first left behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import orjson
import pytest
from rich.console import Console

from compat_diff.compare.run import run_diff
from compat_diff.recording import open_recording
from compat_diff.recording.runformat import body_digest
from compat_diff.replay.names import scoped_name
from compat_diff.replay.run import run_replay
from compat_diff.testing import run_cli

ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    "AWS_ACCESS_KEY_ID": "AKIAREPLAYTARGET0001",
    "AWS_SECRET_ACCESS_KEY": "replay-target-secret",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def _record(moto_factory, boto_recorder, services=("s3", "iam", "sqs", "sns")) -> Path:
    reference = moto_factory()
    recorder = boto_recorder()
    if "s3" in services:
        recorder.set_session("s3")
        s3 = recorder.client("s3", reference.url)
        s3.create_bucket(Bucket="user-data")
        s3.put_object(Bucket="user-data", Key="notes.txt", Body=b"hello")
        s3.copy_object(
            Bucket="user-data", Key="copy.txt", CopySource={"Bucket": "user-data", "Key": "notes.txt"}
        )
        s3.list_objects_v2(Bucket="user-data")
        s3.head_bucket(Bucket="user-data")
    if "iam" in services:
        recorder.set_session("iam")
        iam = recorder.client("iam", reference.url)
        iam.create_user(UserName="deployer")
        iam.get_user(UserName="deployer")
        iam.create_role(
            RoleName="builder", AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}'
        )
        iam.get_role(RoleName="builder")
    if "sqs" in services:
        recorder.set_session("sqs")
        sqs = recorder.client("sqs", reference.url)
        queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody="work")
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    if "sns" in services:
        recorder.set_session("sns")
        sns = recorder.client("sns", reference.url)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        sns.get_topic_attributes(TopicArn=topic)
    recorder.close()
    return recorder.writer.path


def _run(
    recording: Path,
    out: Path,
    targets: list[str] | None = None,
    targets_file: Path | None = None,
    keep: bool = True,
) -> dict:
    status = run_replay(
        recording,
        targets or [],
        targets_file,
        False,
        out / "run",
        console=Console(stderr=True),
        env=ENV,
        keep_resources=keep,
    )
    assert status == 0
    run_diff(out / "run", out / "report", [], True, None, Console(stderr=True))
    return orjson.loads((out / "report" / "report.json").read_bytes())


def _verdicts(report: dict, target: str) -> tuple[float, dict[str, tuple[str, int]]]:
    entry = next(t for t in report["targets"] if t["name"] == target)
    return entry["score"], {
        f"{op['service']}.{op['operation']}": (op["verdict"], op["matching"]) for op in entry["operations"]
    }


def _targets_file(path: Path, endpoint: str, names: list[str], mode: str = "run-scoped") -> Path:
    path.write_text(
        "".join(
            f'[target.{name}]\nendpoint = "{endpoint}"\naccess_key = "AKIAREPLAYTARGET0001"\n'
            f'secret_key = "replay-target-secret"\nregion = "us-east-1"\nnames = "{mode}"\n\n'
            for name in names
        )
    )
    return path


def _answers(run: Path, target: str) -> list[dict]:
    lines = (run / "targets" / target / "answers.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _response_text(answer: dict, recording: Path) -> str:
    """The answer's body as text; a body equal to the recorded one is stored as a reference to it."""
    body = answer["response"]["body"]
    if "text" in body:
        return str(body["text"])
    recorded = next(e for e in open_recording(recording) if e.seq == answer["seq"])
    assert body == {"reference": body_digest(recorded.response.body), "size": recorded.response.body.size}
    return recorded.response.body.read().decode()


def test_compared_twice_in_a_row_the_verdicts_and_score_do_not_change(tmp_path, moto_factory, boto_recorder):
    recording = _record(moto_factory, boto_recorder)
    backend = moto_factory()
    targets = _targets_file(tmp_path / "targets.toml", backend.url, ["cloud"])

    first = _verdicts(_run(recording, tmp_path / "first", targets_file=targets), "cloud")
    second = _verdicts(_run(recording, tmp_path / "second", targets_file=targets), "cloud")
    assert first == second
    assert first[0] == 1.0, first  # moto against moto: everything matches, both times

    # What was sent carried the run id; the answers were mapped back to the recorded names.
    names = json.loads((tmp_path / "second" / "run" / "targets" / "cloud" / "names.json").read_text())
    recorded = {name["recorded"] for name in names["names"]}
    assert recorded == {"user-data", "deployer", "builder", "jobs", "alerts"}
    for name in names["names"]:
        assert name["sent"] == f"{name['recorded']}-{names['run_id']}"
    sent = _answers(tmp_path / "second" / "run", "cloud")
    copy = next(a for a in sent if any(h[0].lower() == "x-amz-copy-source" for h in a["request"]["headers"]))
    source = next(v for n, v in copy["request"]["headers"] if n.lower() == "x-amz-copy-source")
    assert f"user-data-{names['run_id']}" in source
    assert f"/user-data-{names['run_id']}/copy.txt" in copy["request"]["url"]
    listing = next(a for a in sent if "list-type=2" in a["request"]["url"])
    assert "<Name>user-data</Name>" in _response_text(listing, recording)
    assert "<KeyCount>2</KeyCount>" in _response_text(listing, recording)


def test_with_names_as_recorded_the_second_run_meets_the_first(tmp_path, moto_factory, boto_recorder):
    """The control: without run-scoped names a kept-resources second run diverges."""
    recording = _record(moto_factory, boto_recorder, services=("iam",))
    backend = moto_factory()
    targets = _targets_file(tmp_path / "targets.toml", backend.url, ["cloud"], mode="as-recorded")

    first = _verdicts(_run(recording, tmp_path / "first", targets_file=targets), "cloud")
    second = _verdicts(_run(recording, tmp_path / "second", targets_file=targets), "cloud")
    assert first[0] == 1.0
    assert second[0] < first[0]
    assert second[1]["iam.CreateUser"][0] != "match"  # EntityAlreadyExists


def test_two_targets_on_one_backend_do_not_collide(tmp_path, moto_factory, boto_recorder):
    recording = _record(moto_factory, boto_recorder)
    backend = moto_factory()
    targets = _targets_file(tmp_path / "targets.toml", backend.url, ["left", "right"])

    report = _run(recording, tmp_path / "both", targets_file=targets)
    left, right = _verdicts(report, "left"), _verdicts(report, "right")
    assert left == right
    assert left[0] == 1.0, left
    for target in ("left", "right"):
        for answer in _answers(tmp_path / "both" / "run", target):
            assert "AlreadyExists" not in answer["response"]["body"].get("text", ""), answer
            assert "AlreadyOwnedByYou" not in answer["response"]["body"].get("text", ""), answer


def _leftovers(endpoint: str) -> dict[str, list[str]]:
    keys = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "AKIAREPLAYTARGET0001",
        "aws_secret_access_key": "replay-target-secret",
    }
    return {
        "buckets": [b["Name"] for b in boto3.client("s3", **keys).list_buckets()["Buckets"]],
        "users": [u["UserName"] for u in boto3.client("iam", **keys).list_users()["Users"]],
        "roles": [r["RoleName"] for r in boto3.client("iam", **keys).list_roles()["Roles"]],
        "queues": boto3.client("sqs", **keys).list_queues().get("QueueUrls", []),
        "topics": [t["TopicArn"] for t in boto3.client("sns", **keys).list_topics()["Topics"]],
    }


def test_after_the_run_the_candidate_holds_nothing_the_run_made(tmp_path, moto_factory, boto_recorder):
    recording = _record(moto_factory, boto_recorder)
    backend = moto_factory()
    targets = _targets_file(tmp_path / "targets.toml", backend.url, ["cloud"])
    empty = _leftovers(backend.url)

    report = _run(recording, tmp_path / "run-1", targets_file=targets, keep=False)
    assert _verdicts(report, "cloud")[0] == 1.0
    assert _leftovers(backend.url) == empty
    calls = [
        json.loads(line)
        for line in (tmp_path / "run-1" / "run" / "targets" / "cloud" / "cleanup.jsonl").open()
    ]
    deletes = [call["operation"] for call in calls if call["operation"].startswith("Delete")]
    # Newest first: the topic (created last) before the queue, the role and the user, then the bucket.
    assert deletes.index("DeleteTopic") < deletes.index("DeleteBucket")
    assert {"DeleteTopic", "DeleteQueue", "DeleteRole", "DeleteUser", "DeleteBucket", "DeleteObject"} <= set(
        deletes
    )
    assert all(
        call["status"] is not None and call["status"] < 300
        for call in calls
        if call["operation"] != "ListObjectVersions"
    )

    # Kept, then deleted later with the command.
    _run(recording, tmp_path / "run-2", targets_file=targets, keep=True)
    assert _leftovers(backend.url) != empty
    result = run_cli("cleanup", str(tmp_path / "run-2" / "run"), "--targets", str(targets), env=ENV)
    assert result.returncode == 0, result.stderr
    # The bucket, the object put into it, the user, the role, the queue and the topic.
    assert "cleanup of cloud: 6 deleted" in result.stderr
    assert _leftovers(backend.url) == empty


def test_names_are_cut_to_the_services_limit_and_stay_distinct():
    long = "a" * 60
    other = "a" * 59 + "b"
    assert len(scoped_name(long, "3f9a1c", 63)) == 63
    assert scoped_name(long, "3f9a1c", 63) != scoped_name(other, "3f9a1c", 63)
    assert scoped_name("orders.fifo", "3f9a1c", 80) == "orders-3f9a1c.fifo"
    assert scoped_name("deployer", "3f9a1c", 64) == "deployer-3f9a1c"


@pytest.mark.live
def test_seaweedfs_twice_in_a_row_same_score_and_emptied(tmp_path, moto_factory, boto_recorder):
    from compat_diff import candidates

    recording = _record(moto_factory, boto_recorder, services=("s3",))
    seaweed = candidates.start("seaweedfs", tmp_path / "seaweedfs")
    try:
        path = tmp_path / "targets.toml"
        path.write_text(
            f'[target.seaweedfs]\nendpoint = "{seaweed.endpoint}"\naccess_key = "{seaweed.access_key}"\n'
            f'secret_key = "{seaweed.secret_key}"\nregion = "{seaweed.region}"\n'
        )
        first = _verdicts(_run(recording, tmp_path / "first", targets_file=path, keep=True), "seaweedfs")
        second = _verdicts(_run(recording, tmp_path / "second", targets_file=path, keep=False), "seaweedfs")
        assert first == second
        s3 = boto3.client(
            "s3",
            endpoint_url=seaweed.endpoint,
            region_name=seaweed.region,
            aws_access_key_id=seaweed.access_key,
            aws_secret_access_key=seaweed.secret_key,
        )
        # The second run cleaned up after itself; the first run's bucket was kept.
        runs = {
            json.loads((tmp_path / run / "run" / "run.json").read_text())["targets"][0]["run_id"]
            for run in ("first", "second")
        }
        left = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
        assert len(left) == 1 and left[0].endswith(tuple(runs)), left
        result = run_cli("cleanup", str(tmp_path / "first" / "run"), "--targets", str(path), env=ENV)
        assert result.returncode == 0, result.stderr
        assert s3.list_buckets()["Buckets"] == []

        # Two targets on the one SeaweedFS, at once: each its own bucket, the same verdicts.
        keys = (
            f'endpoint = "{seaweed.endpoint}"\naccess_key = "{seaweed.access_key}"\n'
            f'secret_key = "{seaweed.secret_key}"\nregion = "{seaweed.region}"\n'
        )
        pair = tmp_path / "pair.toml"
        pair.write_text(f"[target.left]\n{keys}\n[target.right]\n{keys}")
        both = _run(recording, tmp_path / "both", targets_file=pair, keep=False)
        assert _verdicts(both, "left") == _verdicts(both, "right") == first
        assert s3.list_buckets()["Buckets"] == []
    finally:
        candidates.stop(seaweed)


def test_which_names_the_recording_created():
    from compat_diff.replay.names import created_names
    from compat_diff.testing import make_exchange, make_request, make_response

    def s3(seq, method, path, status, operation):
        return make_exchange(
            seq,
            make_request(method, f"http://127.0.0.1:5000{path}"),
            make_response(status),
            service="s3",
            operation=operation,
        )

    def iam(seq, body, status, operation):
        return make_exchange(
            seq,
            make_request(
                "POST",
                "http://127.0.0.1:5000/",
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            make_response(status),
            service="iam",
            operation=operation,
        )

    exchanges = [
        s3(1, "HEAD", "/fresh", 404, "HeadBucket"),  # "does it exist?" - no: still the recording's
        s3(2, "PUT", "/fresh", 200, "CreateBucket"),
        s3(3, "GET", "/existing", 200, "ListObjects"),  # used before: existed before the recording
        s3(4, "PUT", "/existing", 200, "CreateBucket"),
        s3(5, "PUT", "/refused", 409, "CreateBucket"),  # not created
        iam(6, "Action=CreatePolicy&PolicyName=reader-bad&PolicyDocument=x", 400, "CreatePolicy"),
        iam(7, "Action=CreatePolicy&PolicyName=reader&PolicyDocument=%7B%7D", 200, "CreatePolicy"),
        iam(
            8,
            "Action=CreatePolicyVersion&PolicyArn=arn%3Aaws%3Aiam%3A%3A1%3Apolicy%2Freader&PolicyDocument=x",
            200,
            "CreatePolicyVersion",
        ),
    ]
    found = [(name.seq, name.member, name.value, name.limit) for name in created_names(exchanges)]
    assert found == [(2, "Bucket", "fresh", 63), (7, "PolicyName", "reader", 128)]
