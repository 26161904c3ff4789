"""Presigned URLs: boto3 signs, a plain HTTP client (urllib, which honours HTTP_PROXY) sends.

boto3 presigns S3 URLs with SigV2 query auth (``AWSAccessKeyId``/``Signature``/``Expires``) unless
the client is configured with ``signature_version='s3v4'``; both forms are exercised. The bucket
is created and emptied with ordinary signed boto3 calls.
"""

from __future__ import annotations

import argparse
import urllib.request

import boto3
from botocore.config import Config
from common import Settings, ca_bundle, check, payload

EXPIRES = 3600


def _client(settings: Settings, signature_version: str | None) -> object:
    config = Config(
        s3={"addressing_style": settings.addressing},
        signature_version=signature_version,
        retries={"max_attempts": 1},
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint,
        region_name=settings.region,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        config=config,
        verify=ca_bundle() or True,
    )


def _send(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def run(settings: Settings, args: argparse.Namespace) -> int:
    default = _client(settings, None)
    sigv4 = _client(settings, "s3v4")
    bucket = settings.bucket
    requests = 0

    default.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    requests += 1
    for flavour, client in (("sigv2", default), ("sigv4", sigv4)):
        key = f"{flavour}.txt"
        body = payload(2048, f"presigned-{flavour}")
        put_url = client.generate_presigned_url(  # type: ignore[attr-defined]
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ContentType": "text/plain"},
            ExpiresIn=EXPIRES,
        )
        expected_marker = "Signature=" if flavour == "sigv2" else "X-Amz-Signature="
        check(expected_marker in put_url, f"presigned: {flavour} URL lacks {expected_marker}: {put_url}")
        _send("PUT", put_url, body, {"Content-Type": "text/plain"})
        requests += 1
        get_url = client.generate_presigned_url(  # type: ignore[attr-defined]
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=EXPIRES
        )
        check(_send("GET", get_url) == body, f"presigned: {flavour} GET read back different bytes")
        requests += 1
        head_url = client.generate_presigned_url(  # type: ignore[attr-defined]
            "head_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=EXPIRES
        )
        _send("HEAD", head_url)
        requests += 1
    for flavour in ("sigv2", "sigv4"):
        default.delete_object(Bucket=bucket, Key=f"{flavour}.txt")  # type: ignore[attr-defined]
        requests += 1
    default.delete_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    requests += 1
    return requests
