"""Decoding of S3's ``aws-chunked`` streaming upload framing.

Streaming uploads wrap the payload in their own chunk framing inside the HTTP body (on top of
any HTTP/1.1 transfer chunking, which the proxy already removed):

    <hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n ... 0[;chunk-signature=<sig>]\\r\\n
    [<trailer name>:<value>\\r\\n ...]\\r\\n

A recording keeps the decoded payload, so it can be compared and re-framed (and re-signed) for
another endpoint on replay; the framing facts replay needs go into a note. A body whose framing
is broken is kept exactly as received, flagged, and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# The trailer signature and chunk signatures are derived from the signing key: like every other
# signature they never reach a recording.
REDACTED = "**REDACTED**"
_SIGNED_TRAILER_HEADERS = {"x-amz-trailer-signature"}
_CHUNK_SIGNATURE = re.compile(rb"(;chunk-signature=)[^\r\n;]+")
# SigV4 chunk signatures are 64 hex digits; SigV4a (ECDSA) ones are longer, still hex.
_HEX_SIGNATURE = re.compile(rb"[0-9a-f]{64,}")
# A chunk header line is short; a longer one means we are not looking at aws-chunked framing.
_MAX_HEADER_LINE = 4096


@dataclass(frozen=True)
class Decoded:
    """The outcome of decoding one body: the bytes to record and the note describing the framing."""

    body: bytes
    note: dict[str, Any] = field(default_factory=dict)

    @property
    def damaged(self) -> bool:
        return "damaged" in self.note


class _Broken(Exception):
    """The framing is not what aws-chunked promises; the message says where and why."""


def is_aws_chunked(content_encoding: str | None, content_sha256: str | None) -> bool:
    """Whether a request body carries aws-chunked framing, by the two headers that announce it."""
    if content_encoding and any(
        token.strip().lower() == "aws-chunked" for token in content_encoding.split(",")
    ):
        return True
    return bool(content_sha256 and content_sha256.upper().startswith("STREAMING-"))


def decode_aws_chunked(raw: bytes, content_sha256: str | None, content_encoding: str | None) -> Decoded:
    """Strip aws-chunked framing from ``raw``; on broken framing keep ``raw`` (signatures scrubbed)."""
    note: dict[str, Any] = {"payload": content_sha256, "content_encoding": content_encoding}
    if not raw and not (content_sha256 or "").upper().startswith("STREAMING-"):
        # Content-Encoding names aws-chunked but the payload hash is an ordinary one and there
        # are no bytes: nothing was framed (framing has at least its last chunk, "0\r\n\r\n").
        # The replay sends it as recorded, Content-Encoding included.
        note.update({"framed": False, "decoded_length": 0, "framed_length": 0})
        return Decoded(raw, note)
    try:
        payload, chunk_size, chunks, trailer = _unframe(raw)
    except _Broken as problem:
        note.update({"damaged": str(problem), "framed_length": len(raw)})
        return Decoded(_CHUNK_SIGNATURE.sub(rb"\1" + REDACTED.encode(), raw), note)
    note.update(
        {
            "chunk_size": chunk_size,
            "chunks": chunks,
            "decoded_length": len(payload),
            "framed_length": len(raw),
            "trailer": trailer,
        }
    )
    return Decoded(payload, note)


def _unframe(raw: bytes) -> tuple[bytes, int, int, dict[str, str]]:
    position = 0
    parts: list[bytes] = []
    first_size = 0
    chunks = 0
    while True:
        line, position = _read_line(raw, position, what=f"chunk {chunks + 1} header")
        size_text, _, extensions = line.partition(b";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise _Broken(
                f"chunk {chunks + 1} header {bytes(line[:40])!r} does not start with a hex size"
            ) from None
        if extensions:
            name, _, signature = extensions.partition(b"=")
            if name != b"chunk-signature":
                raise _Broken(
                    f"chunk {chunks + 1} header has an unknown extension {bytes(extensions[:40])!r}"
                )
            if not _HEX_SIGNATURE.fullmatch(signature):
                raise _Broken(f"chunk {chunks + 1} has a chunk-signature that is not a hex signature")
        chunks += 1
        if size == 0:
            break
        if first_size == 0:
            first_size = size
        end = position + size
        if end > len(raw):
            raise _Broken(
                f"chunk {chunks} announces {size} bytes but only {len(raw) - position} remain"
                " (truncated body)"
            )
        parts.append(raw[position:end])
        if raw[end : end + 2] != b"\r\n":
            raise _Broken(f"chunk {chunks} is not followed by CRLF at byte {end}")
        position = end + 2
    trailer: dict[str, str] = {}
    while True:
        line, position = _read_line(raw, position, what="trailer")
        if not line:
            break
        name, colon, value = line.partition(b":")
        if not colon:
            raise _Broken(f"trailer line {bytes(line[:40])!r} has no colon")
        key = name.decode("latin-1").strip().lower()
        trailer[key] = REDACTED if key in _SIGNED_TRAILER_HEADERS else value.decode("latin-1").strip()
    if position != len(raw):
        raise _Broken(f"{len(raw) - position} unexpected bytes after the last chunk")
    return b"".join(parts), first_size, chunks, trailer


def _read_line(raw: bytes, position: int, what: str) -> tuple[bytes, int]:
    end = raw.find(b"\r\n", position, position + _MAX_HEADER_LINE)
    if end < 0:
        if len(raw) - position < _MAX_HEADER_LINE:
            raise _Broken(f"the body ends inside the {what} (truncated body)")
        raise _Broken(f"no CRLF ends the {what} at byte {position}")
    return raw[position:end], end + 2
