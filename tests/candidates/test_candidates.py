"""Every real candidate: start it, make real boto3 calls to its services, check auth, stop it, no pid left."""

from __future__ import annotations

import ipaddress
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from compat_diff.candidates import CANDIDATES, RunningCandidate, is_healthy, leftover_processes, start, stop
from compat_diff.candidates.process import listening_addresses, pid_alive
from compat_diff.candidates.servers import SEAWEED_SOCKET_DIR
from compat_diff.errors import CannotRun
from tests.candidates.conftest import require_installed

pytestmark = pytest.mark.live


def client(
    candidate: RunningCandidate, service: str, *, key: str | None = None, secret: str | None = None
) -> Any:
    return boto3.client(
        service,
        endpoint_url=candidate.endpoint,
        region_name=candidate.region,
        aws_access_key_id=key or candidate.access_key,
        aws_secret_access_key=secret or candidate.secret_key,
        config=Config(
            s3={"addressing_style": candidate.s3_addressing},
            retries={"max_attempts": 1},
            connect_timeout=5,
            read_timeout=30,
            proxies={},
        ),
    )


def exercise_s3(candidate: RunningCandidate) -> None:
    s3 = client(candidate, "s3")
    bucket = f"compat-diff-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="greeting.txt", Body=b"hello candidate")
    assert s3.get_object(Bucket=bucket, Key="greeting.txt")["Body"].read() == b"hello candidate"
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [item["Key"] for item in listed["Contents"]] == ["greeting.txt"]
    assert bucket in [entry["Name"] for entry in s3.list_buckets()["Buckets"]]


def exercise_dynamodb(candidate: RunningCandidate) -> None:
    dynamodb = client(candidate, "dynamodb")
    dynamodb.create_table(
        TableName="things",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert "things" in dynamodb.list_tables()["TableNames"]
    dynamodb.put_item(TableName="things", Item={"id": {"S": "a"}, "size": {"N": "3"}})
    item = dynamodb.get_item(TableName="things", Key={"id": {"S": "a"}})["Item"]
    assert item == {"id": {"S": "a"}, "size": {"N": "3"}}


def exercise_kinesis(candidate: RunningCandidate) -> None:
    kinesis = client(candidate, "kinesis")
    kinesis.create_stream(StreamName="events", ShardCount=1)
    assert "events" in kinesis.list_streams()["StreamNames"]
    description = kinesis.describe_stream(StreamName="events")["StreamDescription"]
    assert description["StreamName"] == "events"
    assert len(description["Shards"]) == 1


def exercise_sqs(candidate: RunningCandidate) -> None:
    sqs = client(candidate, "sqs")
    queue_url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    assert queue_url.endswith("/jobs")
    sqs.send_message(QueueUrl=queue_url, MessageBody="job-1")
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    assert [message["Body"] for message in messages] == ["job-1"]


def exercise_sns(candidate: RunningCandidate) -> None:
    sns = client(candidate, "sns")
    topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
    assert topic_arn.endswith(":alerts")
    assert topic_arn in [topic["TopicArn"] for topic in sns.list_topics()["Topics"]]


def exercise_ec2(candidate: RunningCandidate) -> None:
    ec2 = client(candidate, "ec2")
    assert ec2.describe_regions()["Regions"], "an EC2 endpoint names at least one region"
    name = f"compat-diff-{uuid.uuid4().hex[:8]}"
    fingerprint = ec2.create_key_pair(KeyName=name)["KeyFingerprint"]
    listed = ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]
    assert [(pair["KeyName"], pair["KeyFingerprint"]) for pair in listed] == [(name, fingerprint)]
    ec2.delete_key_pair(KeyName=name)
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    assert vpc in [v["VpcId"] for v in ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"]]
    ec2.delete_vpc(VpcId=vpc)


EXERCISES: dict[str, list[Callable[[RunningCandidate], None]]] = {
    "moto": [exercise_s3, exercise_dynamodb, exercise_sqs],
    "swift": [exercise_s3],
    "ceph": [exercise_s3],
    "seaweedfs": [exercise_s3],
    "rclone": [exercise_s3],
    "s3rver": [exercise_s3],
    "dynalite": [exercise_dynamodb],
    "kinesalite": [exercise_kinesis],
    "fauxqs": [exercise_sqs, exercise_sns, exercise_s3],
    "localstack": [exercise_s3, exercise_sqs],
    "ministack": [exercise_ec2, exercise_s3, exercise_sqs, exercise_dynamodb],
    "openstack-ec2": [exercise_ec2],
}

# The servers that must refuse a request signed with the wrong secret.
SIGNATURE_CHECKING = {"swift", "ceph", "seaweedfs", "rclone", "openstack-ec2"}


def check_ec2_credentials(candidate: RunningCandidate) -> None:
    """ec2-api has Keystone check every signature: a wrong secret is refused with AuthFailure."""
    with pytest.raises(ClientError) as caught:
        client(candidate, "ec2", secret="not-the-secret").describe_regions()
    assert caught.value.response["Error"]["Code"] == "AuthFailure"


def check_credentials(candidate: RunningCandidate) -> None:
    s3 = client(candidate, "s3", secret="not-the-secret")
    if candidate.auth == "signature":
        with pytest.raises(ClientError) as caught:
            s3.list_buckets()
        assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    elif candidate.auth == "access-key":
        # s3rver verifies SigV4 requests only by their key id: a wrong secret gets through, an
        # unknown key does not. If this starts failing, s3rver began checking signatures.
        s3.list_buckets()
        with pytest.raises(ClientError) as caught:
            client(candidate, "s3", key="UNKNOWNKEY").list_buckets()
        assert caught.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_auth_expectations_match_the_registry() -> None:
    assert {name for name, spec in CANDIDATES.items() if spec.auth == "signature"} == SIGNATURE_CHECKING
    assert CANDIDATES["s3rver"].auth == "access-key"


# A first start of openstack-ec2 on a machine where `make candidates` did not provision it yet takes
# minutes (later ones restore its pristine copy in about 30 s).
SLOW_FIRST_START = {"openstack-ec2": pytest.mark.timeout(1200)}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=SLOW_FIRST_START.get(name, ())) for name in EXERCISES]
)
def test_candidate_serves_its_services_on_loopback_and_stops_cleanly(name: str, base_dir: Path) -> None:
    require_installed(name)
    candidate = start(name, base_dir)
    try:
        assert candidate.endpoint.startswith("http://127.0.0.1:")
        addresses = listening_addresses(candidate.pids)
        assert addresses, "the candidate's processes listen somewhere"
        # epmd (RabbitMQ's port mapper, in openstack-ec2) always adds ::1 to the address it is given
        assert all(ipaddress.ip_address(host).is_loopback for host, _ in addresses), (
            f"{name} must listen on loopback only: {addresses}"
        )
        endpoint_port = int(candidate.endpoint.rsplit(":", 1)[1])
        assert ("127.0.0.1", endpoint_port) in addresses
        for exercise in EXERCISES[name]:
            exercise(candidate)
        if candidate.serves("s3"):
            check_credentials(candidate)
        elif candidate.serves("ec2") and candidate.auth == "signature":
            check_ec2_credentials(candidate)
        assert is_healthy(candidate) == (True, "healthy")
    finally:
        stop(candidate)
    assert leftover_processes(candidate.pids) == []
    assert not any(pid_alive(pid) for pid in candidate.pids)
    if name == "seaweedfs":
        left = [
            path for port in candidate.ports for path in SEAWEED_SOCKET_DIR.glob(f"seaweedfs-*-{port}.sock")
        ]
        assert left == [], "weed's sockets outside the data directory are removed"


def test_moto_on_a_taken_port_fails_clearly_and_starts_nothing(base_dir: Path) -> None:
    require_installed("moto")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(CannotRun) as caught:
            start("moto", base_dir, port=port)
    assert f"port {port} on 127.0.0.1 is already in use" in str(caught.value)
    assert not list((base_dir / "moto" / "log").glob("*.log")), "no server was launched"


def test_moto_on_a_requested_free_port(base_dir: Path) -> None:
    require_installed("moto")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    candidate = start("moto", base_dir, port=port)
    try:
        assert candidate.endpoint == f"http://127.0.0.1:{port}"
        exercise_sqs(candidate)
    finally:
        stop(candidate)
    assert leftover_processes(candidate.pids) == []
