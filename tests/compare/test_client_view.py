"""What a botocore client sees beyond the parsers, compared: its event-handler repairs applied."""

from __future__ import annotations

from typing import Any

from compat_diff.aws.parse import parse_answer
from compat_diff.compare.exchange import SideTokens, diff_exchange
from compat_diff.model import ExchangeResult, OperationRef
from compat_diff.normalize import load_rules
from compat_diff.recording.runformat import Answer
from compat_diff.testing import make_exchange, make_request, make_response

RULES = load_rules([], default_rules=True)
LOCATION = OperationRef("s3", "GetBucketLocation", "us-east-1", "rest-xml")
XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def location_answer(region: str | None) -> bytes:
    inner = region or ""
    root = f"<LocationConstraint {XMLNS}>{inner}</LocationConstraint>"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + root).encode()


def compare(operation: str, request: Any, reference: Any, candidate: Any, seq: int = 1) -> ExchangeResult:
    exchange = make_exchange(
        seq,
        request,
        reference,
        service="s3" if operation != "GetUserPolicy" else "iam",
        operation=operation,
        protocol=None,
    )
    answer = Answer(seq=seq, outcome="answered", request=request, response=candidate)
    return diff_exchange(exchange, answer, RULES, "clone", SideTokens()).result


def test_get_bucket_location_reads_the_root_element_like_botocore() -> None:
    parsed = parse_answer(
        make_response(200, {"Content-Type": "application/xml"}, location_answer("EU")), LOCATION
    )
    assert parsed.tree["LocationConstraint"] == "EU"
    empty = parse_answer(
        make_response(200, {"Content-Type": "application/xml"}, location_answer(None)), LOCATION
    )
    assert empty.tree["LocationConstraint"] is None


def test_a_location_of_eu_against_none_diverges() -> None:
    request = make_request("GET", "http://127.0.0.1:5000/bucket?location")
    headers = {"Content-Type": "application/xml"}
    result = compare(
        "GetBucketLocation",
        request,
        make_response(200, headers, location_answer("EU")),
        make_response(200, headers, location_answer(None)),
    )
    assert [(d.path, d.reference, d.candidate, d.severity) for d in result.divergences] == [
        ("$.LocationConstraint", "EU", None, "major")
    ]
    assert result.verdict == "diverges"
    same = compare(
        "GetBucketLocation",
        request,
        make_response(200, headers, location_answer("EU")),
        make_response(200, headers, location_answer("EU")),
    )
    assert same.verdict == "match"


def test_iam_policy_documents_are_compared_as_the_objects_a_client_gets() -> None:
    # IAM sends policy documents URL-encoded; botocore decodes them into objects, so two
    # encodings of one policy are the same to a client, and another policy is not.
    def policy_answer(document: str) -> Any:
        body = (
            '<GetUserPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserPolicyResult>'
            "<UserName>u</UserName><PolicyName>p</PolicyName>"
            f"<PolicyDocument>{document}</PolicyDocument></GetUserPolicyResult>"
            "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetUserPolicyResponse>"
        )
        return make_response(200, {"Content-Type": "text/xml"}, body.encode())

    request = make_request(
        "POST", "http://127.0.0.1:5000/", {}, b"Action=GetUserPolicy&UserName=u&PolicyName=p"
    )
    spaced = "%7B%22Version%22%3A%20%222012-10-17%22%7D"
    compact = "%7B%22Version%22%3A%222012-10-17%22%7D"
    other = "%7B%22Version%22%3A%222008-10-17%22%7D"
    assert compare("GetUserPolicy", request, policy_answer(spaced), policy_answer(compact)).verdict == "match"
    result = compare("GetUserPolicy", request, policy_answer(spaced), policy_answer(other))
    assert [d.path for d in result.divergences if d.counts] == ["$.PolicyDocument.Version"]


LIST_OBJECTS_V1 = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult ' + XMLNS + ">"
    "<Name>b</Name><Prefix></Prefix>{marker}<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
    "</ListBucketResult>"
)


def test_a_member_the_reference_lacks_but_the_model_returns_is_said_to_be_the_references_gap() -> None:
    request = make_request("GET", "http://127.0.0.1:5000/b")
    headers = {"Content-Type": "application/xml"}
    without = make_response(200, headers, LIST_OBJECTS_V1.format(marker="").encode())
    with_marker = make_response(200, headers, LIST_OBJECTS_V1.format(marker="<Marker></Marker>").encode())
    result = compare("ListObjects", request, without, with_marker)
    (divergence,) = result.divergences
    assert (divergence.path, divergence.kind, divergence.severity) == ("$.Marker", "extra", "minor")
    assert "reference lacks a member the model says this operation returns" in divergence.message
    assert result.verdict == "match"


DELETED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult ' + XMLNS + ">"
    "<Deleted><Key>k</Key>{marker}</Deleted></DeleteResult>"
)


def test_a_nested_modeled_member_is_named_and_an_extra_list_item_is_not() -> None:
    post = make_request("POST", "http://127.0.0.1:5000/b?delete")
    headers = {"Content-Type": "application/xml"}
    reference = make_response(200, headers, DELETED.format(marker="").encode())
    marked = DELETED.format(marker="<DeleteMarker>true</DeleteMarker>")
    result = compare("DeleteObjects", post, reference, make_response(200, headers, marked.encode()))
    (divergence,) = result.divergences
    assert divergence.path == "$.Deleted[0].DeleteMarker"
    assert "reference lacks a member the model" in divergence.message
    # An extra list item is no member the model promises: a plain extra.
    two = DELETED.format(marker="").replace("</Deleted>", "</Deleted><Deleted><Key>j</Key></Deleted>")
    extra_item = compare("DeleteObjects", post, reference, make_response(200, headers, two.encode()))
    assert [d.path for d in extra_item.divergences] == ["$.Deleted[1]"]
    assert "reference lacks" not in extra_item.divergences[0].message


def test_a_304_without_its_etag_diverges() -> None:
    etag = '"5d41402abc4b2a76b9719d911017c592"'
    request = make_request("GET", "http://127.0.0.1:5000/b/k", {"If-None-Match": etag})
    reference = make_response(304, {"ETag": etag, "Last-Modified": "Tue, 02 Jan 2024 03:04:05 GMT"})
    result = compare("GetObject", request, reference, make_response(304, {}))
    assert [(d.path, d.kind, d.severity) for d in result.divergences] == [
        ("$.ResponseMetadata.HTTPHeaders.etag", "header", "major")
    ]
    assert result.verdict == "diverges"
    assert compare("GetObject", request, reference, reference).verdict == "match"
    other = make_response(304, {"ETag": '"00000000000000000000000000000000"'})
    assert compare("GetObject", request, reference, other).verdict == "diverges"


def test_a_cors_get_without_access_control_allow_origin_diverges() -> None:
    data = b"hello"
    headers = {"ETag": '"5d41402abc4b2a76b9719d911017c592"', "Content-Length": "5"}
    cors = {**headers, "Access-Control-Allow-Origin": "https://app.example", "Vary": "Origin"}
    cors_get = make_request("GET", "http://127.0.0.1:5000/b/k", {"Origin": "https://app.example"})
    result = compare("GetObject", cors_get, make_response(200, cors, data), make_response(200, headers, data))
    assert [(d.path, d.severity) for d in result.divergences] == [
        ("$.ResponseMetadata.HTTPHeaders.access-control-allow-origin", "major")
    ]
    # Without an Origin the call is no CORS request: a server that adds CORS headers anyway
    # (moto does, on every answer) is not held to them.
    plain_get = make_request("GET", "http://127.0.0.1:5000/b/k")
    plain = compare("GetObject", plain_get, make_response(200, cors, data), make_response(200, headers, data))
    assert plain.verdict == "match" and plain.divergences == ()


def test_a_modeled_header_is_compared_once_as_its_member() -> None:
    data = b"hello"
    request = make_request("GET", "http://127.0.0.1:5000/b/k")
    reference = make_response(200, {"ETag": '"5d41402abc4b2a76b9719d911017c592"'}, data)
    result = compare("GetObject", request, reference, make_response(200, {}, data))
    assert [d.path for d in result.divergences if d.counts] == ["$.ETag"]


def test_a_redirect_location_is_compared_without_its_endpoint() -> None:
    request = make_request("GET", "http://127.0.0.1:5000/b/k")
    body = b"<Error><Code>TemporaryRedirect</Code><Message>m</Message></Error>"
    moved = make_response(307, {"Location": "http://127.0.0.1:5000/b/k?x=1"}, body)
    elsewhere = make_response(307, {"Location": "http://127.0.0.1:7000/b/k?x=1"}, body)
    wrong = make_response(307, {"Location": "http://127.0.0.1:7000/other/k"}, body)
    assert compare("GetObject", request, moved, elsewhere).verdict == "match"
    assert [d.path for d in compare("GetObject", request, moved, wrong).divergences if d.counts] == [
        "$.ResponseMetadata.HTTPHeaders.location"
    ]


def test_an_expires_header_is_kept_as_expires_string_and_compared_as_a_time() -> None:
    data = b"hello"
    request = make_request("GET", "http://127.0.0.1:5000/b/k")
    headers = {"ETag": '"5d41402abc4b2a76b9719d911017c592"'}
    one = make_response(200, {**headers, "Expires": "1796604437"}, data)
    later = make_response(200, {**headers, "Expires": "1796604439"}, data)
    parsed = parse_answer(one, OperationRef("s3", "GetObject", "us-east-1", "rest-xml"), request)
    assert parsed.tree["ExpiresString"] == "1796604437"
    assert compare("GetObject", request, one, later).verdict == "match"
    other_format = make_response(200, {**headers, "Expires": "Thu, 01 Dec 2026 16:00:00 GMT"}, data)
    changed = compare("GetObject", request, one, other_format).divergences
    assert [d.path for d in changed if d.counts] == ["$.Expires", "$.ExpiresString"]
