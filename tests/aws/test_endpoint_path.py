"""Which part of a recorded path only addressed the endpoint, by the call's protocol."""

from __future__ import annotations

import pytest

from compat_diff.aws.identify import recorded_endpoint_path


@pytest.mark.parametrize(
    ("service", "protocol", "path", "expected"),
    [
        ("ec2", "ec2", "/services/compute/", "/services/compute/"),
        ("iam", "query", "/services/Euare", "/services/Euare"),
        ("dynamodb", "json", "/", "/"),
        (
            "cloudwatch",
            "smithy-rpc-v2-cbor",
            "/prefix/service/GraniteServiceVersion20100801/operation/ListMetrics",
            "/prefix",
        ),
        # Old clients post Query forms to an SQS queue URL: the path names the queue.
        ("sqs", "query", "/123456789012/my-queue", None),
        ("s3", "rest-xml", "/services/objectstorage/bucket/key", "/services/objectstorage"),
        ("s3", "rest-xml", "/cloud/s3api/bucket/key", None),
        (None, "query", "/x", None),
        ("ec2", None, "/x", None),
    ],
)
def test_recorded_endpoint_path(service, protocol, path, expected) -> None:
    assert recorded_endpoint_path(service, protocol, path) == expected


SIGNED_S3 = [
    ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3/aws4_request, Signature=x")
]


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("PUT", "/services/objectstorage/my-bucket", "CreateBucket"),
        ("PUT", "/services/objectstorage/my-bucket/a/b.txt", "PutObject"),
        ("GET", "/services/objectstorage", "ListBuckets"),
        ("GET", "/walrus/my-bucket?list-type=2", "ListObjectsV2"),
        # Not an alias of S3 (a bucket called "services" with a key under "compute/"): kept whole.
        ("GET", "/services/compute/x", "GetObject"),
    ],
)
def test_s3_behind_a_prefix_that_names_it_is_identified_after_the_prefix(method, path, operation) -> None:
    from compat_diff.aws.identify import identify
    from compat_diff.testing import make_request

    assert (
        identify(make_request(method, f"http://euca.example.test:8773{path}", headers=SIGNED_S3)).operation
        == operation
    )
