"""A target that declares the services it serves gets only those calls; the rest are skipped."""

from __future__ import annotations

import orjson
import pytest
from rich.console import Console

from compat_diff.errors import TargetError
from compat_diff.replay.run import run_replay
from compat_diff.replay.targets import load_targets


def test_calls_of_unserved_services_are_skipped_not_sent(tmp_path, moto_factory, boto_recorder):
    reference = moto_factory()
    recorder = boto_recorder()
    s3 = recorder.client("s3", reference.url)
    sqs = recorder.client("sqs", reference.url)
    s3.create_bucket(Bucket="served-bucket")
    sqs.create_queue(QueueName="unserved-queue")
    s3.list_buckets()
    recorder.close()

    candidate = moto_factory()
    targets = tmp_path / "targets.toml"
    targets.write_text(
        f'[target.s3only]\nendpoint = "{candidate.url}"\n'
        'access_key = "k"\nsecret_key = "s"\nservices = ["s3"]\n'
    )
    status = run_replay(
        recorder.writer.path, [], targets, False, tmp_path / "run", console=Console(stderr=True)
    )
    assert status == 0
    lines = (tmp_path / "run" / "targets" / "s3only" / "answers.jsonl").read_bytes().splitlines()
    answers = {answer["seq"]: answer for answer in map(orjson.loads, lines)}
    outcomes = sorted((answer["outcome"], answer.get("skipped", "")[:10]) for answer in answers.values())
    assert outcomes == [("answered", ""), ("answered", ""), ("skipped", "not-served")]
    # The queue was never created on the candidate: the call really was not sent.
    import boto3

    client = boto3.client(
        "sqs",
        endpoint_url=candidate.url,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )
    assert "QueueUrls" not in client.list_queues()


def test_services_must_be_a_list_of_names(tmp_path):
    targets = tmp_path / "targets.toml"
    targets.write_text('[target.x]\nendpoint = "http://127.0.0.1:1"\nservices = "s3"\n')
    with pytest.raises(TargetError, match=r"target.x.services must be a list"):
        load_targets([], targets, env={})
