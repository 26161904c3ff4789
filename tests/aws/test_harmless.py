"""The call the preflight checks each service with: read-only, no parameters, and one that
servers answer without a resource existing (a call listing what the service creates)."""

from __future__ import annotations

import pytest

from compat_diff.aws.models import service_model
from compat_diff.aws.shapes import harmless_operation

EXPECTED = {
    "s3": "ListBuckets",
    "sts": "GetCallerIdentity",
    "ec2": "DescribeRegions",
    "sqs": "ListQueues",
    "sns": "ListTopics",
    "dynamodb": "ListTables",
    # Not ListShards: it needs a stream, and answers an error without one.
    "kinesis": "ListStreams",
    "kms": "ListKeys",
    # Not ListLogGroups (newer, less widely served) nor ListAnomalies (needs a detector).
    "logs": "DescribeLogGroups",
    "lambda": "ListFunctions",
    "autoscaling": "DescribeAutoScalingGroups",
}


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_each_service_is_checked_with_a_listing_of_what_it_creates(service: str) -> None:
    operation = harmless_operation(service)
    assert operation == EXPECTED[service]
    shape = service_model(service).operation_model(operation).input_shape
    assert shape is None or not shape.required_members


def test_a_service_the_models_do_not_know_has_no_call() -> None:
    assert harmless_operation("no-such-service") is None
