"""parse_auth() and credential_scope() on requests signed by botocore's own signers."""

from __future__ import annotations

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config

from compat_diff.aws.auth import credential_scope, parse_auth
from compat_diff.model import Auth, HttpRequest
from compat_diff.testing import make_request

CREDENTIALS = botocore.credentials.Credentials("AKIDEXAMPLE0000000001", "secret", "session-token")


def _signed(
    signer: type[botocore.auth.BaseSigner], *args: str, url: str = "http://127.0.0.1:4566/b/k"
) -> HttpRequest:
    aws_request = botocore.awsrequest.AWSRequest(method="PUT", url=url, data=b"hello", headers={})
    signer(CREDENTIALS, *args).add_auth(aws_request)  # type: ignore[call-arg]
    prepared = aws_request.prepare()
    return make_request(prepared.method, prepared.url, dict(prepared.headers.items()), b"hello")


def test_sigv4_header() -> None:
    request = _signed(botocore.auth.S3SigV4Auth, "s3", "eu-central-1")
    auth = parse_auth(request)
    assert auth.scheme == "sigv4"
    assert auth.access_key == "AKIDEXAMPLE0000000001"
    assert "host" in auth.signed_headers and "x-amz-date" in auth.signed_headers
    assert auth.payload_hash == request.header("x-amz-content-sha256")
    assert credential_scope(request) == ("eu-central-1", "s3")


def test_sigv4_presigned_query() -> None:
    client = boto3.client(
        "s3",
        region_name="ap-southeast-2",
        aws_access_key_id="AKIDEXAMPLE0000000001",
        aws_secret_access_key="secret",
        config=Config(signature_version="s3v4"),
    )
    url = client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    request = make_request("GET", url)
    auth = parse_auth(request)
    assert auth.scheme == "sigv4-query"
    assert auth.access_key == "AKIDEXAMPLE0000000001"
    assert auth.signed_headers == ("host",)
    assert credential_scope(request) == ("ap-southeast-2", "s3")


def test_sigv2_header() -> None:
    request = _signed(botocore.auth.HmacV1Auth)
    assert request.header("authorization", "").startswith("AWS ")
    assert parse_auth(request) == Auth(scheme="sigv2", access_key="AKIDEXAMPLE0000000001")
    assert credential_scope(request) is None


def test_sigv2_presigned_query() -> None:
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE0000000001",
        aws_secret_access_key="secret",
        config=Config(signature_version="s3"),
    )
    url = client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    auth = parse_auth(make_request("GET", url))
    assert auth == Auth(scheme="sigv2-query", access_key="AKIDEXAMPLE0000000001")


def test_sigv4a_scope_takes_the_region_set() -> None:
    request = make_request(
        "GET",
        "https://mrap.accesspoint.s3-global.amazonaws.com/k",
        {
            "Authorization": "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20240101/s3/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045",
            "X-Amz-Region-Set": "us-east-1,us-west-2",
        },
    )
    assert parse_auth(request).scheme == "sigv4"
    assert credential_scope(request) == ("us-east-1", "s3")


def test_unsigned_request() -> None:
    request = make_request("GET", "http://127.0.0.1:1/public/object")
    assert parse_auth(request) == Auth()
    assert credential_scope(request) is None


def test_other_schemes_are_not_aws() -> None:
    request = make_request("GET", "http://127.0.0.1:1/", {"Authorization": "Bearer abc.def"})
    assert parse_auth(request).scheme == "none"
    assert credential_scope(request) is None
