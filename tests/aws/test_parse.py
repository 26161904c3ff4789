"""Parsing answers with botocore's parsers: raw facts kept, streams digested, problems reported."""

from __future__ import annotations

import hashlib
import zlib

from compat_diff.aws.parse import content_family, parse_answer
from compat_diff.model import Body, OperationRef, TimestampText
from compat_diff.testing import make_request, make_response

S3_GET = OperationRef("s3", "GetObject", "us-east-1", "rest-xml")


def test_streaming_body_becomes_its_digest_and_etag_is_checked() -> None:
    data = b"\x00\x01binary\xff"
    etag = hashlib.md5(data).hexdigest()
    response = make_response(
        200,
        {
            "ETag": f'"{etag}"',
            "Content-Type": "application/octet-stream",
            "Last-Modified": "Tue, 02 Jan 2024 03:04:05 GMT",
        },
        data,
    )
    parsed = parse_answer(response, S3_GET)
    assert parsed.problem is None
    assert parsed.tree["Body"] == {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}
    assert parsed.tree["ResponseMetadata"]["Integrity"] == {"etag": "ok"}
    assert isinstance(parsed.tree["LastModified"], TimestampText)


def test_digest_only_body_is_still_compared_by_digest() -> None:
    body = Body(inline=None, storage="digest", sha256="ab" * 32, size=10)
    parsed = parse_answer(make_response(200, {}, body), S3_GET)
    assert parsed.tree["Body"] == {"sha256": "ab" * 32, "length": 10}


def test_put_etag_is_md5_of_the_request_body() -> None:
    request = make_request("PUT", "http://127.0.0.1/b/k", {}, b"hello")
    good = make_response(200, {"ETag": f'"{hashlib.md5(b"hello").hexdigest()}"'})
    bad = make_response(200, {"ETag": '"00000000000000000000000000000000"'})
    op = OperationRef("s3", "PutObject", None, "rest-xml")
    assert parse_answer(good, op, request).tree["ResponseMetadata"]["Integrity"] == {"etag": "ok"}
    assert parse_answer(bad, op, request).tree["ResponseMetadata"]["Integrity"] == {"etag": "mismatch"}


def test_dynamodb_crc32_is_checked() -> None:
    body = b'{"TableNames": []}'
    op = OperationRef("dynamodb", "ListTables", None, "json")
    ok = make_response(
        200, {"x-amz-crc32": str(zlib.crc32(body)), "Content-Type": "application/x-amz-json-1.0"}, body
    )
    parsed = parse_answer(ok, op)
    assert parsed.tree["TableNames"] == []
    assert parsed.tree["ResponseMetadata"]["Integrity"] == {"x-amz-crc32": "ok"}
    assert parsed.tree["ResponseMetadata"]["ContentType"] == "json"


def test_query_error_has_code_message_type_and_status() -> None:
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>gone</Message></Error>"
        "<RequestId>r1</RequestId></ErrorResponse>"
    )
    parsed = parse_answer(
        make_response(404, {"Content-Type": "text/xml"}, body), OperationRef("iam", "GetUser", None, "query")
    )
    assert parsed.is_error
    assert parsed.tree["Error"] == {"Type": "Sender", "Code": "NoSuchEntity", "Message": "gone"}
    assert parsed.tree["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert parsed.tree["ResponseMetadata"]["RequestId"] == "r1"


def test_sqs_query_compatible_error() -> None:
    response = make_response(
        400,
        {
            "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
            "Content-Type": "application/x-amz-json-1.0",
        },
        '{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "no"}',
    )
    parsed = parse_answer(response, OperationRef("sqs", "GetQueueUrl", None, "json"))
    assert parsed.tree["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert parsed.tree["Error"]["Type"] == "Sender"


def test_rest_json_error_keeps_the_errortype_header() -> None:
    response = make_response(
        404,
        {"x-amzn-errortype": "ResourceNotFoundException", "Content-Type": "application/json"},
        '{"message": "missing"}',
    )
    parsed = parse_answer(response, OperationRef("lambda", "GetFunction", None, "rest-json"))
    assert parsed.tree["Error"]["Code"] == "ResourceNotFoundException"
    assert parsed.tree["ResponseMetadata"]["HTTPHeaders"] == {"x-amzn-errortype": "ResourceNotFoundException"}


def test_unparseable_bodies_give_the_reason() -> None:
    json_op = OperationRef("dynamodb", "ListTables", None, "json")
    assert "not JSON" in (parse_answer(make_response(200, {}, "{oops"), json_op).problem or "")
    xml_op = OperationRef("sts", "GetCallerIdentity", None, "query")
    problem = parse_answer(make_response(200, {}, "<GetCallerIdentityResponse><oops"), xml_op).problem
    assert problem and "ResponseParserError" in problem


def test_unknown_operation_is_compared_generically() -> None:
    response = make_response(
        200, {"Content-Type": "application/xml"}, "<Root><A>1</A><A>2</A><B> x </B></Root>"
    )
    parsed = parse_answer(response, OperationRef("nosuchservice", "Thing", None, None))
    assert parsed.generic
    assert parsed.tree["Body"] == {"Root": {"A": ["1", "2"], "B": "x"}}


def test_content_family() -> None:
    assert content_family("application/x-amz-json-1.1") == "json"
    assert content_family("text/xml; charset=utf-8") == "xml"
    assert content_family("text/html") == "html"
    assert content_family(None) is None


def _crc32_b64(data: bytes) -> str:
    import base64

    return base64.b64encode((zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")).decode()


def test_an_upload_answer_checksum_describes_the_request_body() -> None:
    op = OperationRef("s3", "PutObject", None, "rest-xml")
    request = make_request("PUT", "http://h/b/k", {}, b"uploaded bytes")
    good = make_response(200, {"x-amz-checksum-crc32": _crc32_b64(b"uploaded bytes")}, b"")
    bad = make_response(200, {"x-amz-checksum-crc32": _crc32_b64(b"other bytes")}, b"")
    assert parse_answer(good, op, request).tree["ResponseMetadata"]["Integrity"] == {
        "x-amz-checksum-crc32": "ok"
    }
    assert parse_answer(bad, op, request).tree["ResponseMetadata"]["Integrity"] == {
        "x-amz-checksum-crc32": "mismatch"
    }


def test_a_checksum_of_a_stored_object_is_not_checked_against_an_empty_answer() -> None:
    op = OperationRef("s3", "HeadObject", None, "rest-xml")
    response = make_response(200, {"x-amz-checksum-crc32": _crc32_b64(b"stored object")}, b"")
    integrity = parse_answer(response, op, make_request("HEAD", "http://h/b/k")).tree["ResponseMetadata"][
        "Integrity"
    ]
    assert integrity == {"x-amz-checksum-crc32": "unverified"}
