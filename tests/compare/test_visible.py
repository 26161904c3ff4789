"""Real differences stay visible after the default packs; noise does not. Each case is its own test.

Every case starts from a golden vector (a real moto answer and a fresh moto's answer) and changes
the candidate's wire answer the way a flawed clone would, then runs the whole pipeline.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import replace

import goldenlib
import pytest

from compat_diff.compare.exchange import SideTokens, diff_exchange
from compat_diff.model import Body, Divergence, ExchangeResult, HttpResponse
from compat_diff.normalize import load_rules

RULES = load_rules([], default_rules=True)


def run(vector: str, edit=None, status: int | None = None) -> ExchangeResult:
    exchange, answer = goldenlib.load_vector(goldenlib.HERE / vector)
    response = answer.response
    assert response is not None
    if edit is not None:
        response = with_body(response, edit(response.body.text()))
    if status is not None:
        response = replace(response, status=status)
    return diff_exchange(exchange, replace(answer, response=response), RULES, "clone", SideTokens()).result


def with_body(response: HttpResponse, text: str) -> HttpResponse:
    """The same answer with another body, its CRC32 header kept true so only the content differs."""
    data = text.encode()
    headers = []
    for name, value in response.headers:
        if name.lower() == "x-amz-crc32":
            value = str(zlib.crc32(data) & 0xFFFFFFFF)
        elif name.lower() == "content-length":
            value = str(len(data))
        headers.append((name, value))
    return replace(response, headers=tuple(headers), body=Body.of(data))


def counting(result: ExchangeResult) -> list[Divergence]:
    return [d for d in result.divergences if d.counts]


def only(result: ExchangeResult) -> Divergence:
    found = counting(result)
    assert len(found) == 1, found
    return found[0]


def test_changed_status_is_critical_when_success_becomes_error() -> None:
    result = run(
        "rest-xml-s3-ListBuckets",
        status=500,
        edit=lambda _: "<Error><Code>InternalError</Code><Message>boom</Message></Error>",
    )
    # One root finding (status + error code + message); the members missing as a consequence
    # are folded under it instead of standing beside it.
    assert len(result.divergences) == 1
    root = result.divergences[0]
    assert (root.kind, root.severity) == ("status", "critical")
    assert root.path == "$.ResponseMetadata.HTTPStatusCode"
    assert root.reference == {"status": 200}
    assert root.candidate == {"status": 500, "code": "InternalError", "message": "boom"}
    assert "reference succeeded (200) where the candidate failed (500 InternalError)" in root.message
    folded = {d.path for d in root.folded}
    assert "$.Buckets" in folded and "$.Error" in folded
    assert result.verdict == "diverges"


def test_a_candidate_succeeding_where_the_reference_refused_is_one_root_finding() -> None:
    result = run("rest-xml-s3-GetObject-error", status=200, edit=lambda _: "hello")
    assert len(result.divergences) == 1
    root = result.divergences[0]
    assert root.reference["status"] == 404 and root.reference["code"] == "NoSuchKey"
    assert root.candidate == {"status": 200}
    assert "the candidate succeeded (200) where the reference refused (404 NoSuchKey)" in root.message


def test_changed_status_within_the_error_class_is_major() -> None:
    result = run("rest-xml-s3-GetObject-error", status=403)
    divergence = only(result)
    assert (divergence.kind, divergence.severity) == ("status", "major")


def test_changed_error_code() -> None:
    result = run("query-iam-GetUser-error", edit=lambda t: t.replace("NoSuchEntity", "NoSuchUser"))
    divergence = only(result)
    assert (divergence.kind, divergence.severity, divergence.path) == ("error-code", "major", "$.Error.Code")
    assert (divergence.reference, divergence.candidate) == ("NoSuchEntity", "NoSuchUser")


def test_error_message_text_is_cosmetic() -> None:
    result = run("query-iam-GetUser-error", edit=lambda t: t.replace("cannot be found", "was not found"))
    assert counting(result) == []
    assert {d.severity for d in result.divergences} == {"minor"}
    assert result.verdict == "match"


def test_dropped_member() -> None:
    result = run("query-sts-GetCallerIdentity", edit=lambda t: re.sub(r"<Arn>[^<]*</Arn>", "", t))
    divergence = only(result)
    assert (divergence.kind, divergence.severity, divergence.path) == ("missing", "major", "$.Arn")


def test_number_that_became_a_string() -> None:
    result = run("json-dynamodb-CreateTable", edit=lambda t: t.replace('"ItemCount": 0', '"ItemCount": "0"'))
    divergence = only(result)
    assert (divergence.kind, divergence.path) == ("type", "$.TableDescription.ItemCount")
    assert (divergence.reference, divergence.candidate) == (0, "0")


def test_wrong_enum_value() -> None:
    result = run("json-dynamodb-CreateTable", edit=lambda t: t.replace('"ACTIVE"', '"CREATING"', 1))
    divergence = only(result)
    assert (divergence.kind, divergence.path) == ("value", "$.TableDescription.TableStatus")


def test_reordered_list_where_order_matters() -> None:
    def swap(text: str) -> str:
        first, second = re.findall(r"<Contents>.*?</Contents>", text)
        return text.replace(first, "\0").replace(second, first).replace("\0", second)

    result = run("rest-xml-s3-ListObjectsV2", edit=swap)
    paths = {d.path for d in counting(result)}
    assert "$.Contents[0].Key" in paths and "$.Contents[1].Key" in paths


def test_timestamp_in_another_format() -> None:
    result = run(
        "rest-xml-s3-ListBuckets",
        edit=lambda t: re.sub(
            r"<CreationDate>[^<]*</CreationDate>",
            "<CreationDate>Tue, 24 Nov 2026 13:38:12 GMT</CreationDate>",
            t,
        ),
    )
    divergence = only(result)
    assert divergence.path == "$.Buckets[0].CreationDate"
    assert divergence.reference.startswith("<timestamp:iso8601 ")
    assert divergence.candidate == "<timestamp:rfc1123 Www, DD Mmm YYYY hh:mm:ss GMT>"
    assert divergence.severity == "major"


def test_timestamp_that_drops_its_milliseconds_is_a_minor_divergence() -> None:
    # moto writes S3 creation dates with milliseconds (...12.000Z); a candidate without them.
    result = run(
        "rest-xml-s3-ListBuckets",
        edit=lambda t: re.sub(
            r"<CreationDate>([^<.]*)\.\d+Z</CreationDate>", r"<CreationDate>\1Z</CreationDate>", t
        ),
    )
    assert counting(result) == []
    (divergence,) = result.divergences
    assert divergence.path == "$.Buckets[0].CreationDate"
    assert (divergence.reference, divergence.candidate) == (
        "<timestamp:iso8601 YYYY-MM-DDThh:mm:ss.sssZ>",
        "<timestamp:iso8601 YYYY-MM-DDThh:mm:ssZ>",
    )
    assert (divergence.kind, divergence.severity) == ("value", "minor")


def test_one_id_reused_where_the_reference_used_two() -> None:
    def reuse(text: str) -> str:
        first, second = re.findall(r"<instanceId>([^<]+)</instanceId>", text)
        return text.replace(second, first)

    result = run("ec2-RunInstances", edit=reuse)
    paths = {d.path for d in counting(result)}
    assert "$.Instances[1].InstanceId" in paths


def test_request_ids_dates_whitespace_and_key_order_make_no_divergence() -> None:
    def reformat(text: str) -> str:
        text = re.sub(r"<RequestId>[^<]*</RequestId>", "<RequestId>another-request-id</RequestId>", text)
        # Members in another order and pretty-printed: XML clients read by element name.
        text = text.replace(
            "<UserId>AKIAIOSFODNN7EXAMPLE</UserId><Account>123456789012</Account>",
            "\n    <Account>123456789012</Account>\n    <UserId>AKIAIOSFODNN7EXAMPLE</UserId>\n    ",
        )
        return text.replace("><", ">\n  <")

    result = run("query-sts-GetCallerIdentity", edit=reformat)
    assert result.divergences == ()
    assert result.verdict == "match"


def test_json_key_order_makes_no_divergence() -> None:
    def reorder(text: str) -> str:
        table = json.loads(text)["TableDescription"]
        return json.dumps({"TableDescription": dict(reversed(list(table.items())))})

    result = run("json-dynamodb-CreateTable", edit=reorder)
    assert result.divergences == ()


def test_crc32_that_does_not_match_the_body_is_major() -> None:
    exchange, answer = goldenlib.load_vector(goldenlib.HERE / "json-dynamodb-GetItem")
    assert answer.response is not None
    headers = tuple((n, "1" if n.lower() == "x-amz-crc32" else v) for n, v in answer.response.headers)
    broken = replace(answer, response=replace(answer.response, headers=headers))
    result = diff_exchange(exchange, broken, RULES, "clone", SideTokens()).result
    divergence = only(result)
    assert (divergence.kind, divergence.path) == ("header", "$.ResponseMetadata.Integrity.x-amz-crc32")


def test_unparseable_body_is_critical_with_the_reason() -> None:
    result = run("json-dynamodb-GetItem", edit=lambda t: t[: len(t) // 2])
    divergence = only(result)
    assert (divergence.kind, divergence.severity) == ("unparseable", "critical")
    assert "not JSON" in divergence.message


@pytest.mark.parametrize("code", ["NotImplemented", "InvalidAction"])
def test_not_implemented_verdict(code: str) -> None:
    result = run(
        "query-sts-GetCallerIdentity",
        status=400 if code != "NotImplemented" else 501,
        edit=lambda _: (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            "<Message>nope</Message></Error><RequestId>1</RequestId></ErrorResponse>"
        ),
    )
    assert result.verdict == "not-implemented"


def test_inputs_are_not_mutated() -> None:
    exchange, answer = goldenlib.load_vector(goldenlib.HERE / "ec2-DescribeInstances")
    before = (exchange, answer)
    diff_exchange(exchange, answer, RULES, "clone", SideTokens())
    assert (exchange, answer) == before
