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

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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


@dataclass(frozen=True)
class DecodedFile:
    """A body decoded from one file into another, without holding either in memory."""

    path: Path
    sha256: str
    size: int
    note: dict[str, Any]


def decode_aws_chunked_file(
    source: Path, target: Path, content_sha256: str | None, content_encoding: str | None
) -> DecodedFile | None:
    """Strip aws-chunked framing from the file ``source`` into ``target``, a block at a time.

    Returns None when the framing is broken: the caller then decodes in memory with
    :func:`decode_aws_chunked`, which keeps the body as received and says where it broke.
    """
    framed_length = source.stat().st_size
    try:
        with source.open("rb") as reader, target.open("wb") as writer:
            stream = _Stream(reader, framed_length)
            chunk_size, chunks, trailer, digest, size = _unframe_stream(stream, writer)
    except _Broken:
        target.unlink(missing_ok=True)
        return None
    note: dict[str, Any] = {
        "payload": content_sha256,
        "content_encoding": content_encoding,
        "chunk_size": chunk_size,
        "chunks": chunks,
        "decoded_length": size,
        "framed_length": framed_length,
        "trailer": trailer,
    }
    return DecodedFile(target, digest, size, note)


class _Stream:
    """Buffered reading of a framed body: lines of bounded length, and runs of bytes copied out."""

    def __init__(self, handle: IO[bytes], length: int) -> None:
        self.handle = handle
        self.length = length
        self.buffer = b""
        self.position = 0  # bytes consumed

    def _fill(self, wanted: int) -> bool:
        more = self.handle.read(max(wanted, 1 << 20))
        self.buffer += more
        return bool(more)

    def line(self, what: str) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n", 0, _MAX_HEADER_LINE + 2)
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
                self.position += end + 2
                return line
            if len(self.buffer) > _MAX_HEADER_LINE + 2 or not self._fill(_MAX_HEADER_LINE):
                raise _Broken(f"no CRLF ends the {what}")

    def copy(self, size: int, writer: IO[bytes], digest: Any) -> None:
        if self.position + size > self.length:
            raise _Broken("a chunk announces more bytes than remain (truncated body)")
        while size > 0:
            if not self.buffer and not self._fill(size):
                raise _Broken("the body ends inside a chunk")
            piece = self.buffer[:size]
            self.buffer = self.buffer[len(piece) :]
            writer.write(piece)
            digest.update(piece)
            size -= len(piece)
            self.position += len(piece)

    def take(self, size: int) -> bytes:
        while len(self.buffer) < size and self._fill(size):
            pass
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        self.position += len(taken)
        return taken


def _unframe_stream(stream: _Stream, writer: IO[bytes]) -> tuple[int, int, dict[str, str], str, int]:
    """The same grammar as :func:`_unframe`, reading and writing a block at a time."""
    digest = hashlib.sha256()
    first_size = chunks = size_total = 0
    while True:
        line = stream.line("chunk header")
        size_text, _, extensions = line.partition(b";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise _Broken("chunk header without a hex size") from None
        if extensions:
            name, _, signature = extensions.partition(b"=")
            if name != b"chunk-signature" or not _HEX_SIGNATURE.fullmatch(signature):
                raise _Broken("chunk header with an unknown extension or signature")
        chunks += 1
        if size == 0:
            break
        first_size = first_size or size
        stream.copy(size, writer, digest)
        size_total += size
        if stream.take(2) != b"\r\n":
            raise _Broken("chunk not followed by CRLF")
    trailer: dict[str, str] = {}
    while True:
        line = stream.line("trailer")
        if not line:
            break
        name, colon, value = line.partition(b":")
        if not colon:
            raise _Broken("trailer line without a colon")
        key = name.decode("latin-1").strip().lower()
        trailer[key] = REDACTED if key in _SIGNED_TRAILER_HEADERS else value.decode("latin-1").strip()
    if stream.position != stream.length or stream.buffer:
        raise _Broken("unexpected bytes after the last chunk")
    return first_size, chunks, trailer, digest.hexdigest(), size_total
