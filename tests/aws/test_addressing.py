"""One bucket-from-host parser for identification and replay, and bucket addressing read from the model."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from compat_diff.aws.addressing import bucket_addressed, bucket_from_host

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("photos.s3.amazonaws.com", "photos"),
        ("photos.s3.eu-west-1.amazonaws.com", "photos"),
        ("my.dotted.bucket.s3-us-west-2.amazonaws.com", "my.dotted.bucket"),
        ("logs.s3.amazonaws.com.cn", "logs"),
        ("fast--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com", "fast--usw2-az1--x-s3"),
        ("data.s3.compat-diff.test:8080", "data"),
        ("data.localhost:4566", "data"),
        ("data.s3.localhost.localstack.cloud:4566", "data"),
        ("data.localhost.localstack.cloud", "data"),
        ("s3.amazonaws.com", None),
        ("s3.eu-west-1.amazonaws.com", None),
        ("127.0.0.1:9000", None),
        ("[::1]:9000", None),
        ("localhost:9000", None),
        ("sqs.us-east-1.amazonaws.com", None),
    ],
)
def test_bucket_from_host(host: str, bucket: str | None) -> None:
    assert bucket_from_host(host) == bucket


def test_a_known_endpoint_names_the_bucket_in_front_of_it() -> None:
    assert bucket_from_host("b1.objects.example:7480", known_hosts=["objects.example:7480"]) == "b1"
    assert bucket_from_host("b1.objects.example", known_hosts=["OBJECTS.example"]) == "b1"
    assert bucket_from_host("objects.example", known_hosts=["objects.example"]) is None


def test_bucket_addressing_comes_from_the_model() -> None:
    assert bucket_addressed("s3") is True
    assert bucket_addressed("sqs") is False
    assert bucket_addressed("s3control") is False
    assert bucket_addressed(None) is False
    assert bucket_addressed("no-such-service") is False


def test_there_is_one_bucket_from_host_parser() -> None:
    """Identification and request rebuilding both use aws.addressing; no second parser creeps back."""
    for path in (ROOT / "compat_diff").rglob("*.py"):
        if path.name == "addressing.py":
            continue
        tree = ast.parse(path.read_text())
        names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert not names & {"virtual_host_bucket", "bucket_from_host"}, path
    for user in ("aws/identify.py", "replay/retarget.py"):
        assert "bucket_from_host" in (ROOT / "compat_diff" / user).read_text()
