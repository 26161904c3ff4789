"""Our own API calls (cleanup, preflight) must not change the models that identify and rebuild
requests: a botocore S3 client rewrites the operation models it loads (``/{Bucket}`` leaves the
request path), and a shared session would carry that into every later identification."""

from __future__ import annotations

from compat_diff.aws.calls import ApiCaller
from compat_diff.aws.models import service_model
from compat_diff.aws.signing import SigningCredentials
from compat_diff.testing import moto_server

OPERATIONS = ("DeleteObject", "ListObjectVersions", "ListMultipartUploads")


def test_calls_to_a_target_leave_the_identifying_models_as_they_are() -> None:
    before = {name: dict(service_model("s3").operation_model(name).http) for name in OPERATIONS}
    assert all(http["requestUri"].startswith("/{Bucket}") for http in before.values())
    with moto_server() as server:
        caller = ApiCaller(
            lambda _service: server.url,
            "us-east-1",
            lambda _service: SigningCredentials("testing", "testing"),
        )
        try:
            assert caller.call("s3", "CreateBucket", {"Bucket": "models"}).ok
            for name, params in (
                ("DeleteObject", {"Bucket": "models", "Key": "k"}),
                ("ListObjectVersions", {"Bucket": "models"}),
                ("ListMultipartUploads", {"Bucket": "models"}),
            ):
                assert caller.call("s3", name, params).status is not None
        finally:
            caller.close()
    after = {name: dict(service_model("s3").operation_model(name).http) for name in OPERATIONS}
    assert after == before
