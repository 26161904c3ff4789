"""identify() against requests botocore itself builds, for every operation of the services we cover.

Each request is serialized by botocore's own protocol serializer from minimal valid parameters
synthesized from the operation's input shape, signed with SigV4 (fake credentials), and must come
back as the same service and operation. Pairs that serialize identically are listed with why.
"""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.model
import botocore.serialize
import botocore.session
import pytest
from botocore.config import Config

from compat_diff.aws.coverage import operations_of
from compat_diff.aws.identify import identify
from compat_diff.aws.models import is_read_only, service_for_signing_name, service_model
from compat_diff.model import Body, HttpRequest, OperationRef
from compat_diff.testing import make_request

SERVICES = ("s3", "ec2", "iam", "sts", "sqs", "sns", "dynamodb", "kinesis", "lambda", "cloudwatch")
REGION = "eu-west-1"
CREDENTIALS = botocore.credentials.Credentials("AKIDEXAMPLE0000000001", "secret-key-example")

# Operations that serialize to exactly the same request given only their required parameters, so
# no router can tell them apart; identify() must return one of the pair (the first listed).
AMBIGUOUS: dict[str, dict[str, tuple[str, str]]] = {
    "s3": {
        # Deprecated twins with the same method, path and subresource: the current name wins.
        "GetBucketLifecycle": ("GetBucketLifecycleConfiguration", "same GET /{Bucket}?lifecycle, deprecated"),
        "PutBucketLifecycle": ("PutBucketLifecycleConfiguration", "same PUT /{Bucket}?lifecycle, deprecated"),
        "GetBucketNotification": (
            "GetBucketNotificationConfiguration",
            "same GET /{Bucket}?notification, deprecated",
        ),
        "PutBucketNotification": (
            "PutBucketNotificationConfiguration",
            "same PUT /{Bucket}?notification, deprecated",
        ),
        # Both are GET /; only the S3 Express control endpoint's host tells them apart.
        "ListDirectoryBuckets": (
            "ListBuckets",
            "both GET / on a generic host (s3express-control host decides)",
        ),
    },
}


def _synthesize(shape: botocore.model.Shape, depth: int = 0) -> Any:
    """A minimal valid value for ``shape``: required members only, one element per list."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, botocore.model.StructureShape)
        if depth > 12:
            return {}
        members = shape.members
        names = list(shape.required_members)
        if shape.is_union if hasattr(shape, "is_union") else False:
            names = names or [next(iter(members))]
        return {name: _synthesize(members[name], depth + 1) for name in names}
    if kind == "list":
        assert isinstance(shape, botocore.model.ListShape)
        return [_synthesize(shape.member, depth + 1)]
    if kind == "map":
        assert isinstance(shape, botocore.model.MapShape)
        return {"example": _synthesize(shape.value, depth + 1)}
    if kind == "string":
        enum = shape.enum
        return enum[0] if enum else "example"
    if kind in ("integer", "long"):
        return 1
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    if kind == "blob":
        return b"example"
    raise AssertionError(f"unexpected shape type {kind}")


def _params(op_model: botocore.model.OperationModel) -> dict[str, Any]:
    shape = op_model.input_shape
    return _synthesize(shape) if shape is not None else {}


def _signed_request(
    service: str, operation: str, protocol: str, endpoint: str, *, virtual_host: str | None = None
) -> HttpRequest:
    model = service_model(service)
    op_model = model.operation_model(operation)
    serializer = botocore.serialize.create_serializer(protocol, include_validation=False)
    request_dict = serializer.serialize_to_request(_params(op_model), op_model)
    if virtual_host is not None:
        # What botocore's S3 addressing does: move the bucket from the path into the host.
        path = request_dict["url_path"]
        bucket_prefix = "/example"
        assert path.startswith(bucket_prefix)
        request_dict["url_path"] = path[len(bucket_prefix) :] or "/"
        endpoint = virtual_host
    botocore.awsrequest.prepare_request_dict(request_dict, endpoint_url=endpoint)
    aws_request = botocore.awsrequest.create_request_object(request_dict)
    signer_class = botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth
    signer_class(CREDENTIALS, model.signing_name, REGION).add_auth(aws_request)
    prepared = aws_request.prepare()
    body = prepared.body
    if hasattr(body, "read"):
        body = body.read()
    return HttpRequest(
        method=prepared.method,
        url=prepared.url,
        headers=tuple((str(k), str(v)) for k, v in prepared.headers.items()),
        body=Body.of(body or b""),
    )


def _protocols(service: str) -> list[str]:
    model = service_model(service)
    protocols = list(model.metadata.get("protocols") or [model.protocol])
    if service == "sqs":
        # SQS moved from query to JSON; recordings from older SDKs still hold query forms.
        protocols.append("query")
    return protocols


def _check_all(service: str, protocol: str, endpoint: str, virtual_host: str | None = None) -> Counter[str]:
    outcome: Counter[str] = Counter()
    failures = []
    ambiguous = AMBIGUOUS.get(service, {})
    for operation in operations_of(service):
        op_model = service_model(service).operation_model(operation)
        if virtual_host is not None and not op_model.http.get("requestUri", "").startswith("/{Bucket}"):
            continue
        request = _signed_request(service, operation, protocol, endpoint, virtual_host=virtual_host)
        found = identify(request)
        expected = ambiguous[operation][0] if operation in ambiguous else operation
        if found.service == service and found.operation == expected and found.region == REGION:
            outcome["ambiguous" if operation in ambiguous else "exact"] += 1
        else:
            failures.append((operation, found))
    print(f"\n{service} via {protocol}{' (virtual host)' if virtual_host else ''}: {dict(outcome)}")
    assert not failures, f"{len(failures)} misidentified: {failures[:10]}"
    return outcome


@pytest.mark.parametrize(
    ("service", "protocol"),
    [(service, protocol) for service in SERVICES for protocol in _protocols(service)],
)
def test_every_operation_is_identified(service: str, protocol: str) -> None:
    outcome = _check_all(service, protocol, "http://127.0.0.1:4566")
    assert outcome["exact"] + outcome["ambiguous"] == len(operations_of(service))


@pytest.mark.parametrize(
    "host",
    [
        "http://example.s3.amazonaws.com",
        "http://example.s3.eu-west-1.amazonaws.com",
        "http://example.localhost:4566",
    ],
)
def test_every_bucket_operation_is_identified_in_virtual_host_style(host: str) -> None:
    outcome = _check_all("s3", "rest-xml", "", virtual_host=host)
    assert outcome["exact"] > 80


def test_the_root_of_a_virtual_host_is_the_bucket_not_the_account() -> None:
    signed = _signed_request(
        "s3", "ListObjects", "rest-xml", "", virtual_host="http://example.s3.amazonaws.com"
    )
    assert identify(signed).operation == "ListObjects"
    path_style = _signed_request("s3", "ListBuckets", "rest-xml", "http://s3.amazonaws.com")
    assert identify(path_style).operation == "ListBuckets"


def test_the_s3_express_control_host_means_list_directory_buckets() -> None:
    request = _signed_request(
        "s3", "ListDirectoryBuckets", "rest-xml", "https://s3express-control.eu-west-1.amazonaws.com"
    )
    assert identify(request).operation == "ListDirectoryBuckets"


def test_the_protocol_reported_is_the_one_on_the_wire() -> None:
    json_call = _signed_request("sqs", "CreateQueue", "json", "http://127.0.0.1:4566")
    query_call = _signed_request("sqs", "CreateQueue", "query", "http://127.0.0.1:4566")
    cbor_call = _signed_request("cloudwatch", "PutMetricData", "smithy-rpc-v2-cbor", "http://127.0.0.1:4566")
    assert identify(json_call).protocol == "json"
    assert identify(query_call).protocol == "query"
    assert identify(cbor_call) == OperationRef("cloudwatch", "PutMetricData", REGION, "smithy-rpc-v2-cbor")
    assert identify(_signed_request("ec2", "DescribeInstances", "ec2", "http://h")).protocol == "ec2"


def _boto3_client(service: str, **config: Any) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id="AKIDEXAMPLE0000000001",
        aws_secret_access_key="secret-key-example",
        endpoint_url=config.pop("endpoint_url", None),
        config=Config(**config),
    )


def test_presigned_sigv2_s3_url_is_s3() -> None:
    client = _boto3_client("s3", signature_version="s3")
    url = client.generate_presigned_url("get_object", Params={"Bucket": "example", "Key": "a/b.txt"})
    assert "Signature=" in url and "AWSAccessKeyId=" in url
    found = identify(make_request("GET", url))
    assert (found.service, found.operation) == ("s3", "GetObject")


def test_presigned_url_with_the_default_signature_is_s3() -> None:
    # boto3's default for presigned S3 URLs; whichever version it picks must be recognised.
    client = _boto3_client("s3")
    url = client.generate_presigned_url("put_object", Params={"Bucket": "example", "Key": "k"})
    assert (identify(make_request("PUT", url)).service, identify(make_request("PUT", url)).operation) == (
        "s3",
        "PutObject",
    )


def test_presigned_sigv4_s3_url_carries_service_and_region() -> None:
    client = _boto3_client("s3", signature_version="s3v4", s3={"addressing_style": "path"})
    url = client.generate_presigned_url("get_object", Params={"Bucket": "example", "Key": "k"})
    assert "X-Amz-Credential=" in url
    assert identify(make_request("GET", url)) == OperationRef("s3", "GetObject", REGION, "rest-xml")
    virtual = _boto3_client("s3", signature_version="s3v4", s3={"addressing_style": "virtual"})
    url = virtual.generate_presigned_url("list_objects_v2", Params={"Bucket": "example"})
    assert identify(make_request("GET", url)).operation == "ListObjectsV2"


def test_unsigned_request_is_resolved_by_host_hint() -> None:
    hints = {"127.0.0.1:9000": "s3"}
    anonymous = make_request("GET", "http://127.0.0.1:9000/public-bucket/object.txt")
    assert identify(anonymous) == OperationRef()
    found = identify(anonymous, hints)
    assert (found.service, found.operation) == ("s3", "GetObject")
    json_call = make_request(
        "POST", "http://127.0.0.1:9001/", {"X-Amz-Target": "DynamoDB_20120810.ListTables"}
    )
    assert identify(json_call, {"127.0.0.1:9001": "kinesis"}).service == "dynamodb"


def test_virtual_host_under_a_hinted_host() -> None:
    hints = {"localhost.example:9000": "s3"}
    found = identify(make_request("GET", "http://photos.localhost.example:9000/"), hints)
    assert (found.service, found.operation) == ("s3", "ListObjects")


def test_unsigned_request_to_an_aws_host_names_service_and_region() -> None:
    found = identify(make_request("GET", "https://sqs.ap-south-1.amazonaws.com/?Action=ListQueues"))
    assert found == OperationRef("sqs", "ListQueues", "ap-south-1", "query")
    found = identify(make_request("GET", "https://bucket.s3-us-west-2.amazonaws.com/key"))
    assert (found.service, found.operation, found.region) == ("s3", "GetObject", "us-west-2")


@pytest.mark.parametrize(
    "request_",
    [
        make_request("GET", "https://example.com/index.html"),
        make_request(
            "POST", "http://127.0.0.1:8080/api/v1/items", {"Content-Type": "application/json"}, "{}"
        ),
        make_request("GET", "http://localhost:3000/?Action=Nothing"),
        make_request("POST", "http://10.0.0.1/", {"X-Amz-Target": "NotAService.DoThing"}),
    ],
)
def test_non_aws_traffic_is_unknown(request_: HttpRequest) -> None:
    assert identify(request_) == OperationRef()


def test_digest_only_body_is_identified_without_reading_it() -> None:
    signed = _signed_request("s3", "PutObject", "rest-xml", "http://127.0.0.1:4566")
    huge = HttpRequest(
        signed.method, signed.url, signed.headers, Body(inline=None, storage="digest", size=10**10)
    )
    assert identify(huge).operation == "PutObject"


def test_signing_names_map_to_services() -> None:
    assert service_for_signing_name("monitoring") == "cloudwatch"
    assert service_for_signing_name("s3") == "s3"
    assert (
        service_for_signing_name("dynamodb", "streams.dynamodb.us-east-1.amazonaws.com") == "dynamodbstreams"
    )
    assert service_for_signing_name("dynamodb", "127.0.0.1:8000") == "dynamodb"
    assert service_for_signing_name("no-such-service") is None


def test_shared_signing_name_is_resolved_by_the_request() -> None:
    streams = _signed_request("dynamodbstreams", "ListStreams", "json", "http://127.0.0.1:8000")
    assert identify(streams).service == "dynamodbstreams"
    elbv2 = _signed_request("elbv2", "DescribeLoadBalancers", "query", "http://127.0.0.1:8000")
    assert identify(elbv2).service == "elbv2"
    elb = _signed_request("elb", "DescribeLoadBalancers", "query", "http://127.0.0.1:8000")
    assert identify(elb).service == "elb"


def test_read_only_operations() -> None:
    assert is_read_only("s3", "GetObject")
    assert is_read_only("dynamodb", "Query")
    assert is_read_only("dynamodb", "BatchGetItem")
    assert not is_read_only("s3", "PutObject")
    assert not is_read_only("sqs", "ReceiveMessage")
    assert not is_read_only("iam", "Getaway")  # a prefix only counts at a word boundary
    assert is_read_only("s3", "CreateSession")  # GET in a REST protocol


def test_operations_of_lists_the_model() -> None:
    assert "CreateBucket" in operations_of("s3")
    assert operations_of("sts") == sorted(operations_of("sts"))


def test_x_id_names_the_operation_among_routes_that_fit() -> None:
    signed = _signed_request("s3", "GetBucketLifecycleConfiguration", "rest-xml", "http://127.0.0.1:4566")
    assert identify(signed).operation == "GetBucketLifecycleConfiguration"
    named = HttpRequest(signed.method, signed.url + "&x-id=GetBucketLifecycle", signed.headers)
    assert identify(named).operation == "GetBucketLifecycle"
    # x-id cannot turn a request into an operation whose route does not fit it.
    wrong = HttpRequest(signed.method, signed.url + "&x-id=PutObject", signed.headers)
    assert identify(wrong).operation == "GetBucketLifecycleConfiguration"


@pytest.mark.parametrize(
    ("url", "operation"),
    [
        ("https://ap-one-123456789012.s3-accesspoint.us-east-1.amazonaws.com/key", "GetObject"),
        (
            "https://b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/?list-type=2",
            "ListObjectsV2",
        ),
        ("https://my.dotted.bucket.s3.dualstack.eu-west-1.amazonaws.com/a/b", "GetObject"),
        ("https://s3.eu-west-1.amazonaws.com/my.dotted.bucket", "ListObjects"),
    ],
)
def test_s3_host_forms(url: str, operation: str) -> None:
    found = identify(make_request("GET", url))
    assert (found.service, found.operation) == ("s3", operation)


def test_an_unsigned_query_call_to_a_shared_endpoint_is_named_by_its_action() -> None:
    # moto and LocalStack serve every service on one port: the host learnt from signed KMS calls
    # does not make an unsigned STS call a KMS call.
    hints = {"127.0.0.1:5000": "kms"}
    body = (
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
        "&RoleArn=arn&RoleSessionName=s&WebIdentityToken=t"
    )
    request = make_request(
        "POST", "http://127.0.0.1:5000/", {"Content-Type": "application/x-www-form-urlencoded"}, body
    )
    found = identify(request, hints)
    assert (found.service, found.operation) == ("sts", "AssumeRoleWithWebIdentity")
