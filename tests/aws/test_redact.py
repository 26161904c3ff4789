"""Redaction of real AWS-protocol traffic: boto3 talking to a moto server, captured on the wire.

The raw request leaves botocore through the ``before-send`` hook and the raw response body comes
back through ``after-call``, so redaction is checked on exactly the bytes a recorder would see.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from compat_diff.aws.identify import identify
from compat_diff.aws.redact import REDACTED, redact_request, redact_response
from compat_diff.model import Body, HttpRequest, HttpResponse, OperationRef
from compat_diff.testing import make_request, make_response, moto_server

SECRET_KEY = "kn0wnSecretKey/ForSigningOnly+1234567890ab"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLEsessionTOKENvalue//+==longEnoughToBeRecognisable"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as server:
        yield server.url


class WireTap:
    """The raw HTTP of every call a boto3 client makes, as compat_diff model objects."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.responses: list[HttpResponse] = []

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-send", self._on_send)
        client.meta.events.register("after-call", self._on_response)
        return client

    def _on_send(self, request: Any, **_: Any) -> None:
        body = request.body
        if hasattr(body, "read"):
            position = body.tell()
            data = body.read()
            body.seek(position)
            body = data
        if isinstance(body, str):
            body = body.encode()
        self.requests.append(
            HttpRequest(
                method=request.method,
                url=request.url,
                headers=tuple(
                    (str(k), v.decode() if isinstance(v, bytes) else str(v))
                    for k, v in request.headers.items()
                ),
                body=Body.of(body or b""),
            )
        )

    def _on_response(self, http_response: Any, **_: Any) -> None:
        self.responses.append(
            HttpResponse(
                status=http_response.status_code,
                headers=tuple((str(k), str(v)) for k, v in http_response.headers.items()),
                body=Body.of(http_response.content),
            )
        )

    @property
    def last(self) -> tuple[HttpRequest, HttpResponse]:
        return self.requests[-1], self.responses[-1]


def _client(service: str, endpoint: str, *, token: str | None = None, **config: Any) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def _as_text(request: HttpRequest) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in request.headers)
    return f"{request.method} {request.url}\n{headers}\n\n{request.body.text()}"


def _assert_only_secrets_changed(original: bytes, redacted: bytes, secrets: list[str]) -> None:
    """The redacted body is the original with each secret, and nothing else, replaced by the marker."""
    expected = original
    for secret in secrets:
        escaped = secret.replace("/", "\\/").encode()
        for form in {secret.encode(), escaped}:
            expected = expected.replace(form, REDACTED.encode())
    assert redacted == expected
    for secret in secrets:
        assert secret.encode() not in redacted


def test_iam_create_access_key_secret_is_redacted(moto_endpoint: str) -> None:
    tap = WireTap()
    iam = tap.attach(_client("iam", moto_endpoint))
    iam.create_user(UserName="redact-me")
    created = iam.create_access_key(UserName="redact-me")["AccessKey"]
    request, response = tap.last
    op = identify(request)
    assert (op.service, op.operation) == ("iam", "CreateAccessKey")
    assert created["SecretAccessKey"].encode() in response.body.read()

    redacted = redact_response(response, op)
    _assert_only_secrets_changed(response.body.read(), redacted.body.read(), [created["SecretAccessKey"]])
    assert created["AccessKeyId"].encode() in redacted.body.read()
    assert b"<SecretAccessKey>" + REDACTED.encode() + b"</SecretAccessKey>" in redacted.body.read()


def test_sts_get_session_token_credentials_are_redacted(moto_endpoint: str) -> None:
    tap = WireTap()
    sts = tap.attach(_client("sts", moto_endpoint))
    credentials = sts.get_session_token(DurationSeconds=900)["Credentials"]
    request, response = tap.last
    op = identify(request)
    assert (op.service, op.operation) == ("sts", "GetSessionToken")
    secrets = [credentials["SecretAccessKey"], credentials["SessionToken"]]
    redacted = redact_response(response, op)
    _assert_only_secrets_changed(response.body.read(), redacted.body.read(), secrets)
    assert redacted.body.read().count(REDACTED.encode()) == 2


def test_sts_assume_role_credentials_are_redacted(moto_endpoint: str) -> None:
    tap = WireTap()
    sts = tap.attach(_client("sts", moto_endpoint))
    answer = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/tester", RoleSessionName="redaction")
    request, response = tap.last
    op = identify(request)
    assert (op.service, op.operation) == ("sts", "AssumeRole")
    credentials = answer["Credentials"]
    secrets = [credentials["SecretAccessKey"], credentials["SessionToken"]]
    redacted = redact_response(response, op)
    _assert_only_secrets_changed(response.body.read(), redacted.body.read(), secrets)
    # Non-secret parts of the answer survive untouched.
    assert answer["AssumedRoleUser"]["Arn"].encode() in redacted.body.read()
    assert credentials["AccessKeyId"].encode() in redacted.body.read()


def test_the_fallback_names_cover_an_unidentified_call(moto_endpoint: str) -> None:
    tap = WireTap()
    sts = tap.attach(_client("sts", moto_endpoint))
    credentials = sts.get_session_token()["Credentials"]
    _, response = tap.last
    redacted = redact_response(response, OperationRef())
    _assert_only_secrets_changed(
        response.body.read(),
        redacted.body.read(),
        [credentials["SecretAccessKey"], credentials["SessionToken"]],
    )


def test_json_secret_marked_sensitive_by_the_model_is_redacted(moto_endpoint: str) -> None:
    tap = WireTap()
    secrets = tap.attach(_client("secretsmanager", moto_endpoint))
    secrets.create_secret(Name="db-password", SecretString="hunter2-is-not-a-password")
    secrets.get_secret_value(SecretId="db-password")
    request, response = tap.last
    op = identify(request)
    assert (op.service, op.operation, op.protocol) == ("secretsmanager", "GetSecretValue", "json")
    redacted = redact_response(response, op)
    _assert_only_secrets_changed(response.body.read(), redacted.body.read(), ["hunter2-is-not-a-password"])
    assert b'"db-password"' in redacted.body.read()
    create_request = tap.requests[-2]
    assert b"hunter2" in create_request.body.read()
    assert b"hunter2" not in redact_request(create_request, identify(create_request)).body.read()


def test_signed_request_with_session_token_keeps_neither_signature_nor_token(moto_endpoint: str) -> None:
    tap = WireTap()
    sqs = tap.attach(_client("sqs", moto_endpoint, token=SESSION_TOKEN))
    sqs.create_queue(QueueName="redaction")
    request = tap.requests[-1]
    authorization = request.header("authorization") or ""
    signature = authorization.rsplit("Signature=", 1)[1]
    assert SESSION_TOKEN in _as_text(request) and signature in _as_text(request)

    redacted = redact_request(request, identify(request))
    text = _as_text(redacted)
    assert SESSION_TOKEN not in text
    assert signature not in text
    assert SECRET_KEY not in text
    new_authorization = redacted.header("authorization") or ""
    assert new_authorization == authorization.replace(signature, REDACTED)
    assert "Credential=AKIAIOSFODNN7EXAMPLE/" in new_authorization
    assert redacted.header("x-amz-security-token") == REDACTED
    assert redacted.body.read() == request.body.read()


def test_password_in_a_query_form_body_is_redacted(moto_endpoint: str) -> None:
    tap = WireTap()
    iam = tap.attach(_client("iam", moto_endpoint))
    iam.create_user(UserName="with-login")
    iam.create_login_profile(UserName="with-login", Password="Corr3ct-Horse-Battery!")
    request = tap.requests[-1]
    op = identify(request)
    assert op.operation == "CreateLoginProfile"
    redacted = redact_request(request, op)
    body = redacted.body.read()
    assert b"Corr3ct" not in body
    assert b"Password=" + REDACTED.encode() in body
    assert b"UserName=with-login" in body
    assert redacted.header("content-length") in (None, str(len(body)))


def test_presigned_sigv4_url_loses_signature_and_token(moto_endpoint: str) -> None:
    s3 = _client("s3", moto_endpoint, token=SESSION_TOKEN, signature_version="s3v4")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    request = make_request("GET", url)
    redacted = redact_request(request, identify(request))
    assert "X-Amz-Signature=" + REDACTED in redacted.url
    assert "X-Amz-Security-Token=" + REDACTED in redacted.url
    assert "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE" in redacted.url
    signature = url.split("X-Amz-Signature=")[1].split("&")[0]
    assert signature not in redacted.url


def test_presigned_sigv2_url_loses_signature_and_token(moto_endpoint: str) -> None:
    s3 = _client("s3", moto_endpoint, token=SESSION_TOKEN, signature_version="s3")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    assert "Signature=" in url and "AWSAccessKeyId=" in url
    request = make_request("GET", url)
    op = identify(request)
    assert (op.service, op.operation) == ("s3", "GetObject")
    redacted = redact_request(request, op)
    signature = url.split("Signature=")[1].split("&")[0]
    assert signature not in redacted.url
    assert "Signature=" + REDACTED in redacted.url
    assert "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE" in redacted.url
    assert "FwoGZXIvYXdzEXAMPLEsessionTOKEN" not in redacted.url


def test_sigv2_header_keeps_the_access_key_only() -> None:
    request = make_request("GET", "http://127.0.0.1:1/b/k", {"Authorization": "AWS AKIAEXAMPLE:c2lnbmF0dXJl"})
    redacted = redact_request(request, OperationRef("s3", "GetObject"))
    assert redacted.header("authorization") == f"AWS AKIAEXAMPLE:{REDACTED}"


def test_sse_customer_key_header_is_redacted_through_the_model() -> None:
    request = make_request(
        "PUT",
        "http://127.0.0.1:1/b/k",
        {"x-amz-server-side-encryption-customer-key": "c2VjcmV0a2V5", "x-amz-meta-note": "kept"},
        b"data",
    )
    redacted = redact_request(request, OperationRef("s3", "PutObject"))
    assert redacted.header("x-amz-server-side-encryption-customer-key") == REDACTED
    assert redacted.header("x-amz-meta-note") == "kept"
    assert redacted.body.read() == b"data"


def test_untouched_messages_are_returned_as_they_are() -> None:
    response = make_response(
        200, {"Content-Type": "text/xml"}, "<ListBucketResult><Name>b</Name></ListBucketResult>"
    )
    assert redact_response(response, OperationRef("s3", "ListObjects")) is response
    digest_only = HttpResponse(200, (), Body(inline=None, storage="digest", sha256="0" * 64, size=10**9))
    assert redact_response(digest_only, OperationRef("s3", "GetObject")) is digest_only
    binary = make_response(200, {}, b"\x00\x01SecretAccessKey\xff")
    assert redact_response(binary, OperationRef()) is binary


def test_xml_outside_the_secret_is_byte_identical_even_with_odd_formatting() -> None:
    body = (
        b'<?xml version="1.0"?>\r\n<!-- SecretAccessKey in a comment stays -->'
        b"<r:Resp xmlns:r='x'><r:SecretAccessKey  >  s3cr3t&amp;x </r:SecretAccessKey><Empty/>"
        b"<SessionToken><![CDATA[tok]]></SessionToken><Other>\xc3\xa9</Other></r:Resp>"
    )
    redacted = redact_response(make_response(200, {}, body), OperationRef()).body.read()
    assert redacted == body.replace(b"  s3cr3t&amp;x ", REDACTED.encode()).replace(
        b"<![CDATA[tok]]>", REDACTED.encode()
    )


def test_presigned_url_inside_an_answer_loses_signature_and_token() -> None:
    body = (
        '{"Code": {"Location": "https://bucket.s3.amazonaws.com/fn.zip?X-Amz-Security-Token=IQoJb3Jp%2Fx'
        '&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0a1b2c3d\\u0026x=1", "RepositoryType": "S3"}}'
    )
    redacted = redact_response(
        make_response(200, {}, body), OperationRef("lambda", "GetFunction")
    ).body.text()
    assert redacted == body.replace("IQoJb3Jp%2Fx", REDACTED).replace("0a1b2c3d", REDACTED)


def test_a_generic_name_is_secret_only_under_its_sensitive_parent() -> None:
    # EC2 marks UserData.Value sensitive; InstanceType.Value (same wire name) is an instance type.
    op = OperationRef("ec2", "ModifyInstanceAttribute", "us-east-1", "ec2")
    form = "Action=ModifyInstanceAttribute&InstanceId=i-1&InstanceType.Value=t2.micro&UserData.Value=c2VjcmV0"
    request = make_request(
        method="POST",
        url="https://ec2.us-east-1.amazonaws.com/",
        headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        body=form,
    )
    text = redact_request(request, op).body.text()
    assert "InstanceType.Value=t2.micro" in text
    assert "UserData.Value=" + REDACTED in text
    assert "c2VjcmV0" not in text
