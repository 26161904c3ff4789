"""Ids the candidate generates: EC2, SQS and S3 multipart/versioned sessions recorded against one
moto replay cleanly against fresh ones (whose ids always differ), on two targets at once; a create
that fails on the candidate is recorded as a broken dependency of the calls that needed its id.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from rich.console import Console

from compat_diff.replay.run import run_replay

STALE_ID_ERRORS = (
    "does not exist",
    "NoSuchUpload",
    "InvalidInstanceID.NotFound",
    "ReceiptHandleIsInvalid",
    "NoSuchVersion",
    "NonExistentQueue",
    "QueueDoesNotExist",
    "InvalidPart",
)


def _answers(run: Path, target: str) -> list[dict]:
    lines = (run / "targets" / target / "answers.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda answer: answer["seq"])


def _record_sessions(moto_factory, boto_recorder) -> Path:
    reference = moto_factory()
    recorder = boto_recorder()

    recorder.set_session("ec2")
    ec2 = recorder.client("ec2", reference.url)
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.create_tags(Resources=[instance], Tags=[{"Key": "role", "Value": "test"}])
    ec2.describe_instances(InstanceIds=[instance])
    ec2.stop_instances(InstanceIds=[instance])
    ec2.terminate_instances(InstanceIds=[instance])

    recorder.set_session("sqs")
    sqs = recorder.client("sqs", reference.url)
    queue = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="work")
    message = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)["Messages"][0]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    sqs.delete_queue(QueueUrl=queue)

    recorder.set_session("s3")
    s3 = recorder.client("s3", reference.url)
    s3.create_bucket(Bucket="state-bucket")
    s3.put_bucket_versioning(Bucket="state-bucket", VersioningConfiguration={"Status": "Enabled"})
    upload = s3.create_multipart_upload(Bucket="state-bucket", Key="big")["UploadId"]
    parts = []
    for number, body in ((1, b"a" * 5 * 1024 * 1024), (2, b"tail")):
        etag = s3.upload_part(
            Bucket="state-bucket", Key="big", UploadId=upload, PartNumber=number, Body=body
        )["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
    s3.list_parts(Bucket="state-bucket", Key="big", UploadId=upload)
    s3.complete_multipart_upload(
        Bucket="state-bucket", Key="big", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    first = s3.put_object(Bucket="state-bucket", Key="doc", Body=b"version one")["VersionId"]
    s3.put_object(Bucket="state-bucket", Key="doc", Body=b"version two")
    s3.get_object(Bucket="state-bucket", Key="doc", VersionId=first)["Body"].read()
    s3.head_object(Bucket="state-bucket", Key="doc", VersionId=first)
    recorder.close()
    return recorder.writer.path


def test_generated_ids_are_mapped_on_two_targets_at_once(tmp_path, moto_factory, boto_recorder):
    recording = _record_sessions(moto_factory, boto_recorder)
    first, second = moto_factory(), moto_factory()

    status = run_replay(
        recording,
        [f"one={first.url}", f"two={second.url}"],
        None,
        False,
        tmp_path / "run",
        concurrency=4,
        console=Console(stderr=True),
        keep_resources=True,
    )

    assert status == 0
    recorded_lines = len(recording.read_text().splitlines()) - 1
    for target in ("one", "two"):
        answers = _answers(tmp_path / "run", target)
        assert len(answers) == recorded_lines
        for answer in answers:
            assert answer["outcome"] == "answered", answer
            body = answer["response"]["body"].get("text", "")
            assert answer["response"]["status"] < 300, (answer["seq"], body[:400])
            assert not any(error in body for error in STALE_ID_ERRORS), (answer["seq"], body[:400])
            assert "broken_dependencies" not in answer
        # The 5 MiB part was a blob in the recording: streamed from its file, the run keeps its digest only.
        big_part = next(a for a in answers if "partNumber=1" in a["request"]["url"])["request"]["body"]
        assert big_part == {"sha256": big_part["sha256"], "size": 5 * 1024 * 1024}
        idmap = json.loads((tmp_path / "run" / "targets" / target / "idmap.json").read_text())
        mapped = {m["path"].rsplit(".", 1)[-1] for m in idmap["mappings"]}
        # The ids that had to change for the calls above to succeed.
        assert {"instanceId", "ReceiptHandle", "UploadId", "x-amz-version-id", "QueueUrl"} <= mapped, mapped
        assert idmap["unresolved"] == []
    # The versioned read asked each candidate for its own version id, not the recorded one.
    for target, server in (("one", first), ("two", second)):
        names = json.loads((tmp_path / "run" / "targets" / target / "names.json").read_text())
        bucket = next(name["sent"] for name in names["names"] if name["recorded"] == "state-bucket")
        s3 = boto3.client(
            "s3",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )
        versions = s3.list_object_versions(Bucket=bucket, Prefix="doc")["Versions"]
        oldest = next(v["VersionId"] for v in versions if v["Key"] == "doc" and not v["IsLatest"])
        get = next(
            a
            for a in _answers(tmp_path / "run", target)
            if "versionId=" in a["request"]["url"] and a["request"]["method"] == "GET"
        )
        assert f"versionId={oldest}" in get["request"]["url"]


def test_a_create_that_fails_on_the_candidate_is_a_broken_dependency(tmp_path, moto_factory, boto_recorder):
    reference = moto_factory()
    recorder = boto_recorder()
    sqs = recorder.client("sqs", reference.url)
    queue = sqs.create_queue(QueueName="clash", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="work")
    recorder.close()

    candidate = moto_factory()
    # Same name, other attributes: the candidate refuses the recorded CreateQueue.
    boto3.client(
        "sqs",
        endpoint_url=candidate.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    ).create_queue(QueueName="clash", Attributes={"VisibilityTimeout": "5"})

    # Names as recorded, so the recorded CreateQueue meets the queue made above.
    targets = tmp_path / "targets.toml"
    targets.write_text(f'[target.c]\nendpoint = "{candidate.url}"\nnames = "as-recorded"\n')
    run_replay(
        recorder.writer.path,
        [],
        targets,
        False,
        tmp_path / "run",
        console=Console(stderr=True),
    )

    create, send = _answers(tmp_path / "run", "c")
    assert create["response"]["status"] >= 400
    assert send["broken_dependencies"] == [{"seq": create["seq"], "value": queue}]
    # Sent as recorded, since the candidate never produced a value to use instead.
    assert queue in send["request"]["body"]["text"]
    idmap = json.loads((tmp_path / "run" / "targets" / "c" / "idmap.json").read_text())
    assert idmap["unresolved"] == [{"seq": send["seq"], "value": queue, "needed_from_seq": create["seq"]}]
