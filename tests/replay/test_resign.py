"""Re-signing proof: a recording made with other credentials is accepted, request by request, by a
moto server that checks signatures, when replayed with keys that server issued; and rejected with a
wrong secret.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
from rich.console import Console

from compat_diff.aws.signing import SigningCredentials, SigningPlan, sign_request
from compat_diff.replay.run import run_replay

ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
REJECTIONS = (
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "AccessDenied",
    "AuthFailure",
)


def _answers(run: Path, target: str) -> list[dict]:
    lines = (run / "targets" / target / "answers.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda answer: answer["seq"])


def _checking_moto(moto_factory) -> tuple[str, str, str]:
    """A moto that checks signatures after three setup calls, and the keys its IAM issued."""
    server = moto_factory({"INITIAL_NO_AUTH_ACTION_COUNT": "3"})
    iam = boto3.client(
        "iam",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="x",
    )
    iam.create_user(UserName="replayer")
    iam.put_user_policy(UserName="replayer", PolicyName="all", PolicyDocument=ADMIN_POLICY)
    key = iam.create_access_key(UserName="replayer")["AccessKey"]
    return server.url, key["AccessKeyId"], key["SecretAccessKey"]


def _record_session(moto_factory, boto_recorder) -> Path:
    reference = moto_factory()
    recorder = boto_recorder()
    s3 = recorder.client("s3", reference.url)
    s3.create_bucket(Bucket="signed-bucket")
    s3.put_object(Bucket="signed-bucket", Key="a.txt", Body=b"hello", ContentType="text/plain")
    s3.get_object(Bucket="signed-bucket", Key="a.txt")["Body"].read()
    s3.list_objects_v2(Bucket="signed-bucket", Prefix="a")
    s3.delete_object(Bucket="signed-bucket", Key="a.txt")
    sqs = recorder.client("sqs", reference.url)
    queue = sqs.create_queue(QueueName="signed-q")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])
    recorder.close()
    return recorder.writer.path


def _targets_file(tmp_path: Path, url: str, access_key: str, secret_env: str) -> Path:
    path = tmp_path / f"targets-{secret_env}.toml"
    path.write_text(
        f'[target.checking]\nendpoint = "{url}"\nregion = "us-east-1"\n'
        f'access_key = "{access_key}"\nsecret_key_env = "{secret_env}"\n'
    )
    return path


def test_replay_is_accepted_by_a_server_checking_signatures(tmp_path, moto_factory, boto_recorder):
    recording = _record_session(moto_factory, boto_recorder)
    url, access_key, secret = _checking_moto(moto_factory)
    targets = _targets_file(tmp_path, url, access_key, "GOOD_SECRET")

    status = run_replay(
        recording,
        [],
        targets,
        False,
        tmp_path / "run",
        console=Console(stderr=True),
        env={"GOOD_SECRET": secret},
    )

    assert status == 0
    answers = _answers(tmp_path / "run", "checking")
    assert len(answers) == 8
    for answer in answers:
        assert answer["outcome"] == "answered", answer
        body = answer["response"]["body"].get("text", "")
        assert answer["response"]["status"] < 300, (answer["seq"], answer["response"]["status"], body[:300])
        assert not any(word in body for word in REJECTIONS)
    # The run directory keeps the request as sent, with its signature redacted and the new key id.
    authorization = dict((k.lower(), v) for k, v in answers[0]["request"]["headers"])["authorization"]
    assert access_key in authorization and "REDACTED" in authorization
    assert secret not in (tmp_path / "run" / "targets" / "checking" / "answers.jsonl").read_text()


def test_a_wrong_secret_is_rejected(tmp_path, moto_factory, boto_recorder):
    recording = _record_session(moto_factory, boto_recorder)
    url, access_key, _ = _checking_moto(moto_factory)
    targets = _targets_file(tmp_path, url, access_key, "BAD_SECRET")

    run_replay(
        recording,
        [],
        targets,
        False,
        tmp_path / "run",
        console=Console(stderr=True),
        env={"BAD_SECRET": "wrong"},
    )

    answers = _answers(tmp_path / "run", "checking")
    assert answers and all(answer["outcome"] == "answered" for answer in answers)
    assert all(answer["response"]["status"] == 403 for answer in answers), [
        a["response"]["status"] for a in answers
    ]
    assert any("SignatureDoesNotMatch" in answer["response"]["body"].get("text", "") for answer in answers)


def test_recorded_principals_map_to_target_credentials(tmp_path, moto_factory, boto_recorder):
    """Two recorded principals: the mapped one signs with its own target keys, the other with the default."""
    reference = moto_factory()
    recorder = boto_recorder()
    owner = recorder.client("s3", reference.url, access_key="AKIARECORDEDOWNER001")
    other = recorder.client("s3", reference.url, access_key="AKIARECORDEDOTHER002")
    owner.create_bucket(Bucket="principal-bucket")
    other.list_buckets()
    recorder.close()
    url, access_key, secret = _checking_moto(moto_factory)
    targets = tmp_path / "targets.toml"
    targets.write_text(
        f'[target.t]\nendpoint = "{url}"\naccess_key = "default-key"\nsecret_key = "nope"\n'
        f'[target.t.principals]\n"AKIARECORDEDOWNER001" = '
        f'{{ access_key = "{access_key}", secret_key_env = "S" }}\n'
    )

    run_replay(
        recorder.writer.path,
        [],
        targets,
        False,
        tmp_path / "run",
        console=Console(stderr=True),
        env={"S": secret},
    )

    answers = _answers(tmp_path / "run", "t")
    assert answers[0]["response"]["status"] == 200
    assert answers[1]["response"]["status"] == 403
    sent_keys = [dict((k.lower(), v) for k, v in a["request"]["headers"])["authorization"] for a in answers]
    assert access_key in sent_keys[0] and "default-key" in sent_keys[1]


@pytest.mark.parametrize("scheme", ["sigv4", "sigv2"])
def test_signer_takes_the_injected_clock(scheme):
    moment = dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    _url, headers = sign_request(
        "GET",
        "http://127.0.0.1:9/bucket/key",
        [
            ("Host", "127.0.0.1:9"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=old/..., Signature=**REDACTED**"),
        ],
        b"",
        SigningPlan(scheme=scheme, service="s3", region="eu-west-1", payload_hash="UNSIGNED-PAYLOAD"),
        SigningCredentials("AKIDNEW", "secret"),
        clock=lambda: moment,
    )
    sent = {name.lower(): value for name, value in headers}
    if scheme == "sigv4":
        assert sent["x-amz-date"] == "20210304T050607Z"
        assert sent["authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=AKIDNEW/20210304/eu-west-1/s3/aws4_request"
        )
        assert sent["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    else:
        assert sent["date"] == "Thu, 04 Mar 2021 05:06:07 GMT"
        assert sent["authorization"].startswith("AWS AKIDNEW:")
    assert "old/" not in sent["authorization"]
