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
        ("s3", "rest-xml", "/services/objectstorage/bucket/key", None),
        (None, "query", "/x", None),
        ("ec2", None, "/x", None),
    ],
)
def test_recorded_endpoint_path(service, protocol, path, expected) -> None:
    assert recorded_endpoint_path(service, protocol, path) == expected
