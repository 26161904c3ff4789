"""Endpoint URLs in their canonical form: the host aiohttp will resolve, decided in one place."""

from __future__ import annotations

import pytest
import yarl

from compat_diff.errors import TargetError
from compat_diff.replay.endpoints import canonical_endpoint, endpoint_host, is_aws_host


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
        ("HTTP://Cloud.Example.COM:8773/services/compute/", "http://cloud.example.com:8773/services/compute"),
        ("http://[::1]:8080/p/", "http://[::1]:8080/p"),
        ("https://s3\uff0eamazonaws\uff0ecom", "https://s3.amazonaws.com"),
        ("https://s3\u3002amazonaws\uff61com./", "https://s3.amazonaws.com."),
        ("http://b\u00fccher.example", "http://xn--bcher-kva.example"),
    ],
)
def test_the_canonical_form_is_what_the_http_client_uses(written, canonical):
    assert canonical_endpoint(written, "--target x") == canonical
    # Stable, and the host the client library itself derives from the written form.
    assert canonical_endpoint(canonical, "--target x") == canonical
    assert endpoint_host(canonical) == (yarl.URL(written.strip()).raw_host or "").lower()


@pytest.mark.parametrize(
    "host",
    [
        "s3.amazonaws.com",
        "S3.AMAZONAWS.COM.",
        "sts.cn-north-1.amazonaws.com.cn",
        "s3.us-east-1.api.aws",
        "api.aws",
    ],
)
def test_aws_hosts_are_recognised_after_mapping(host):
    assert is_aws_host(endpoint_host(canonical_endpoint(f"https://{host}", "x")))


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("http://user:hunter2@127.0.0.1:9000", "must not carry credentials"),
        ("http://:hunter2@127.0.0.1:9000", "must not carry credentials"),
        ("http://::1:8080", "IPv6 address without brackets"),
        ("http://127.0.0.1:70000", "not a valid URL"),
        ("http://s3%2eamazonaws.com", "not a valid host name"),
        ("http://evil.example\\@s3.amazonaws.com", "must not carry credentials"),
        ("ftp://127.0.0.1", "http:// or https://"),
        ("http:///path", "with a host"),
        ("http://127.0.0.1:9000/?x=1", "query or fragment"),
        ("http://127.0.0.1:9000/#x", "query or fragment"),
    ],
)
def test_bad_endpoints_are_one_sentence(written, problem):
    with pytest.raises(TargetError, match="--target x") as raised:
        canonical_endpoint(written, "--target x")
    assert problem in str(raised.value)
    assert "hunter2" not in str(raised.value)
