"""aws-chunked framing decoded byte-exactly; broken framing kept as received, flagged, never raised."""

from __future__ import annotations

import re

import pytest

from compat_diff.capture.chunked import REDACTED, decode_aws_chunked, is_aws_chunked
from compat_diff.capture.recorder import unframe_request
from compat_diff.testing import make_request

SIG = "a" * 64


def _signed(payload: bytes, size: int) -> bytes:
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)] + [b""]
    return b"".join(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(p), SIG.encode(), p) for p in pieces)


def test_signed_chunks_decode_to_the_payload() -> None:
    payload = bytes(range(256)) * 10
    decoded = decode_aws_chunked(_signed(payload, 1000), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "aws-chunked")
    assert decoded.body == payload and not decoded.damaged
    assert decoded.note["chunk_size"] == 1000 and decoded.note["chunks"] == 4
    assert decoded.note["decoded_length"] == 2560 and decoded.note["trailer"] == {}


def test_unsigned_trailer_keeps_the_checksum() -> None:
    raw = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    decoded = decode_aws_chunked(raw, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "gzip,aws-chunked")
    assert decoded.body == b"hello world"
    assert decoded.note["trailer"] == {"x-amz-checksum-crc32": "DUoRhQ=="}
    assert decoded.note["content_encoding"] == "gzip,aws-chunked"


def test_signed_trailer_signature_is_redacted() -> None:
    raw = (
        b"3;chunk-signature=" + SIG.encode() + b"\r\nabc\r\n0;chunk-signature=" + SIG.encode() + b"\r\n"
        b"x-amz-checksum-sha256:abc=\r\nx-amz-trailer-signature:" + SIG.encode() + b"\r\n\r\n"
    )
    decoded = decode_aws_chunked(raw, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "aws-chunked")
    assert decoded.body == b"abc"
    assert decoded.note["trailer"] == {"x-amz-checksum-sha256": "abc=", "x-amz-trailer-signature": REDACTED}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_signed(b"x" * 100, 40)[:-30], "truncated"),
        (b"zz;chunk-signature=" + SIG.encode() + b"\r\nabc\r\n", "hex size"),
        (b"3\r\nabcd\r\n0\r\n\r\n", "not followed by CRLF"),
        (b"3\r\nabc\r\n0\r\n\r\nextra", "unexpected bytes"),
        (b"3\r\nabc\r\n0\r\nno colon here\r\n\r\n", "no colon"),
        (b"3;foo=bar\r\nabc\r\n0\r\n\r\n", "unknown extension"),
        (b"3;chunk-signature=not-a-signature\r\nabc\r\n0\r\n\r\n", "not a hex signature"),
        (b"", "truncated"),
    ],
)
def test_broken_framing_is_kept_as_received_and_flagged(raw: bytes, reason: str) -> None:
    decoded = decode_aws_chunked(raw, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "aws-chunked")
    assert reason in decoded.note["damaged"]
    assert decoded.note["framed_length"] == len(raw)
    # Every chunk signature is scrubbed, even one cut short by the truncation.
    expected = re.sub(rb";chunk-signature=[^\r\n;]+", b";chunk-signature=" + REDACTED.encode(), raw)
    assert decoded.body == expected


def test_detection_by_either_header() -> None:
    assert is_aws_chunked("aws-chunked", None)
    assert is_aws_chunked("gzip, aws-chunked", None)
    assert is_aws_chunked(None, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert not is_aws_chunked("gzip", "UNSIGNED-PAYLOAD")
    assert not is_aws_chunked(None, None)


def test_unframe_request_leaves_ordinary_bodies_alone() -> None:
    request = make_request("PUT", body=b"3\r\nabc\r\n0\r\n\r\n", headers={"Content-Type": "text/plain"})
    same, notes = unframe_request(request)
    assert same is request and notes == {}
    framed = make_request("PUT", body=b"3\r\nabc\r\n0\r\n\r\n", headers={"Content-Encoding": "aws-chunked"})
    decoded, notes = unframe_request(framed)
    assert decoded.body.read() == b"abc" and notes["aws-chunked"]["decoded_length"] == 3
