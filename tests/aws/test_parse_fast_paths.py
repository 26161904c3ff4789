"""The faster reading of answers gives exactly what botocore's own parsers give.

``parse_answer`` reads modeled headers by looking up the headers present, keeps a layout per XML
structure shape and reads JSON with orjson; each of these is checked here against botocore's stock
parser on answers that exercise the edge cases (prefixed header maps, repeated and mixed-case
headers, XML attributes, integers too long for 64 bits).
"""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import HeadersDict
from botocore.parsers import PROTOCOL_PARSERS

from compat_diff.aws.models import service_model
from compat_diff.aws.parse import parse_answer
from compat_diff.compare.diff import compare
from compat_diff.model import OperationRef, TimestampText
from compat_diff.testing import make_response


def stock_parse(
    service: str, operation: str, status: int, headers: list[tuple[str, str]], body: bytes
) -> Any:
    """What botocore's unmodified parser makes of an answer (its own metadata left out)."""
    model = service_model(service).operation_model(operation)
    parser = PROTOCOL_PARSERS[model.metadata["protocol"]](
        timestamp_parser=lambda value: TimestampText(value), blob_parser=lambda value: value
    )
    # parse_answer hands botocore lower-cased names, repeated headers joined; so does this.
    wire_headers = HeadersDict()
    for name, value in headers:
        key = name.lower()
        wire_headers[key] = value if key not in wire_headers else wire_headers[key] + ", " + value
    parsed = parser.parse({"status_code": status, "headers": wire_headers, "body": body}, model.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def ours(
    service: str, operation: str, protocol: str, status: int, headers: list[tuple[str, str]], body: bytes
):
    parsed = parse_answer(
        make_response(status, headers, body), OperationRef(service, operation, None, protocol)
    )
    tree = dict(parsed.tree)
    tree.pop("ResponseMetadata")
    return parsed, tree


HEAD_HEADERS = [
    ("Content-Length", "12"),
    ("last-modified", "Tue, 02 Jan 2024 03:04:05 GMT"),
    ("ETag", '"abc"'),
    ("x-amz-meta-Color", "blue"),
    ("X-Amz-Meta-size", "large"),
    ("x-amz-version-id", "v1"),
    ("Cache-Control", "no-cache"),
    ("cache-control", "private"),
    ("x-amz-request-id", "REQ1"),
    ("x-amz-id-2", "HOST1"),
    ("x-amz-missing-meta", "2"),
    ("Server", "AmazonS3"),
]


def test_modeled_headers_are_read_as_botocore_reads_them() -> None:
    parsed, tree = ours("s3", "HeadObject", "rest-xml", 200, HEAD_HEADERS, b"")
    assert tree == stock_parse("s3", "HeadObject", 200, HEAD_HEADERS, b"")
    assert list(tree) == list(stock_parse("s3", "HeadObject", 200, HEAD_HEADERS, b""))
    assert tree["ContentLength"] == 12
    assert tree["Metadata"] == {"color": "blue", "size": "large"}
    assert tree["CacheControl"] == "no-cache, private"
    assert tree["MissingMeta"] == 2
    assert parsed.tree["ResponseMetadata"]["RequestId"] == "REQ1"
    assert parsed.tree["ResponseMetadata"]["HostId"] == "HOST1"


def test_a_header_that_does_not_parse_is_still_a_problem() -> None:
    headers = [("Content-Length", "12"), ("x-amz-mp-parts-count", "many")]
    parsed, _ = ours("s3", "HeadObject", "rest-xml", 200, headers, b"")
    assert parsed.problem is not None and "many" in parsed.problem


XML_ACL = (
    b'<?xml version="1.0"?><AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Owner><ID>abc</ID></Owner><AccessControlList>"
    b'<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
    b"<ID>abc</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>"
    b'<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">'
    b"<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"
    b"</AccessControlList></AccessControlPolicy>"
)


def test_xml_attributes_and_nested_lists_are_read_as_botocore_reads_them() -> None:
    headers = [("Content-Type", "application/xml")]
    _, tree = ours("s3", "GetObjectAcl", "rest-xml", 200, headers, XML_ACL)
    assert tree == stock_parse("s3", "GetObjectAcl", 200, headers, XML_ACL)
    assert [grant["Grantee"]["Type"] for grant in tree["Grants"]] == ["CanonicalUser", "Group"]


def test_query_answers_with_repeated_members_are_read_as_botocore_reads_them() -> None:
    body = (
        b'<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult>'
        b"<Users><member><UserName>a</UserName><CreateDate>2024-01-01T00:00:00Z</CreateDate></member>"
        b"<member><UserName>b</UserName><Path>/</Path></member></Users><IsTruncated>false</IsTruncated>"
        b"</ListUsersResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListUsersResponse>"
    )
    headers = [("Content-Type", "text/xml")]
    _, tree = ours("iam", "ListUsers", "query", 200, headers, body)
    assert tree == stock_parse("iam", "ListUsers", 200, headers, body)
    assert [user["UserName"] for user in tree["Users"]] == ["a", "b"]


def test_long_json_integers_keep_every_digit() -> None:
    # orjson would read these as floats, and two ids differing in the last digit would look equal.
    headers = [("Content-Type", "application/json")]
    reference = b'{"Configuration": {"FunctionName": "f", "CodeSize": 123456789012345678901234}}'
    candidate = b'{"Configuration": {"FunctionName": "f", "CodeSize": 123456789012345678901235}}'
    _, ref_tree = ours("lambda", "GetFunction", "rest-json", 200, headers, reference)
    _, cand_tree = ours("lambda", "GetFunction", "rest-json", 200, headers, candidate)
    assert ref_tree == stock_parse("lambda", "GetFunction", 200, headers, reference)
    assert ref_tree["Configuration"]["CodeSize"] == 123456789012345678901234
    divergences = compare(ref_tree, cand_tree)
    assert [d.path for d in divergences] == ["$.Configuration.CodeSize"]


def test_json_bodies_are_read_as_botocore_reads_them() -> None:
    headers = [("Content-Type", "application/x-amz-json-1.0")]
    body = (
        b'{"Item": {"pk": {"S": "a\\u00e9\\ud83d\\ude00"}, "n": {"N": "1.50"}, "b": {"BOOL": true},'
        b' "l": {"L": [{"NULL": true}, {"N": "-0"}]}}, "ConsumedCapacity": {"CapacityUnits": 0.5}}'
    )
    _, tree = ours("dynamodb", "GetItem", "json", 200, headers, body)
    assert tree == stock_parse("dynamodb", "GetItem", 200, headers, body)
    assert tree["Item"]["pk"]["S"] == "a\u00e9\U0001f600"
