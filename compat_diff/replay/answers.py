"""Reading a candidate's answer body without trusting its size.

A candidate decides how much it sends, so an answer is read in chunks: small ones stay in memory,
larger ones are spooled to the run directory's blob folder while they are hashed, and past the
per-answer cap the reading stops and the connection is dropped. ``gzip`` and ``deflate`` bodies
are decoded here, capped by their decoded size, so a small compressed body cannot expand without
bound; other content encodings are kept as sent.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

from compat_diff.model import Body

DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024
# Up to this size an answer stays in memory (the recording's inline limit); larger ones go to disk.
IN_MEMORY_LIMIT = 256 * 1024
_STEP = 64 * 1024


class AnswerTooLarge(Exception):
    """The answer's body went past the cap; ``received`` bytes were read before stopping."""

    def __init__(self, limit: int, received: int, decoded: bool) -> None:
        self.limit = limit
        self.received = received
        self.decoded = decoded
        what = "decoded body" if decoded else "body"
        super().__init__(
            f"the answer's {what} is larger than the limit of {limit} bytes (--max-answer-bytes)"
        )


class SpoolError(RuntimeError):
    """The answer could not be written to the run directory: a problem here, not the candidate's."""


class _Spool:
    """Bytes in memory up to :data:`IN_MEMORY_LIMIT`, then in a file of ``directory``; hashed as written."""

    def __init__(self, directory: Path | None, limit: int, decoded: bool) -> None:
        self.directory = directory
        self.limit = limit
        self.decoded = decoded
        self.size = 0
        self.hash = hashlib.sha256()
        self.memory = bytearray()
        self.head = b""
        self.file: IO[bytes] | None = None
        self.partial: Path | None = None

    def write(self, data: bytes) -> None:
        try:
            self._write(data)
        except OSError as error:
            where = self.directory if self.directory is not None else "memory"
            raise SpoolError(f"cannot store the answer in {where}: {error.strerror or error}") from None

    def _write(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise AnswerTooLarge(self.limit, self.size, self.decoded)
        if self.file is None and self.size > IN_MEMORY_LIMIT and self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.partial = self.directory / f".answer-{uuid.uuid4().hex}.partial"
            self.file = self.partial.open("wb")
            self.file.write(self.memory)
            self.hash.update(self.memory)
            self.head = bytes(self.memory[:4096])
            self.memory = bytearray()
        if self.file is not None:
            # Only a spooled body is hashed as it arrives; one in memory is hashed when stored.
            self.hash.update(data)
            self.file.write(data)
        else:
            self.memory += data

    def finish(self) -> Body:
        if self.file is None or self.partial is None or self.directory is None:
            return Body.of(bytes(self.memory))
        digest = self.hash.hexdigest()
        try:
            self.file.close()
        except OSError as error:
            where = self.partial
            raise SpoolError(f"cannot store the answer in {where}: {error.strerror or error}") from None
        # The file keeps its private name until the run directory stores the answer under its digest
        # (the answer may still be redacted, and an identical answer of another call may share it).
        spooled, self.partial = self.partial, None
        return Body(
            inline=None,
            storage="blob",
            sha256=digest,
            size=self.size,
            blob_path=spooled,
            is_text=_looks_like_text(self.head),
        )

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.partial is not None:
            self.partial.unlink(missing_ok=True)
            self.partial = None
        self.memory = bytearray()


class UndecodableBody(ValueError):
    """The body does not decode with the content encoding the candidate announced."""


class _Decoder:
    """A gzip/deflate stream decoded in pieces of at most ``_STEP`` bytes, so the cap is checked
    before a compressed bomb can expand in memory."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # 47 = 32 + 15: a zlib or gzip header, detected from the first bytes.
        self.inflate = zlib.decompressobj(47)
        self.started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending and not self.inflate.eof:
            try:
                piece = self.inflate.decompress(pending, _STEP)
            except zlib.error as error:
                if self.encoding == "deflate" and not self.started:
                    # Some servers send raw deflate without the zlib header.
                    self.inflate = zlib.decompressobj(-15)
                    self.started = True
                    continue
                raise UndecodableBody(f"the {self.encoding} body does not decode: {error}") from None
            self.started = True
            pending = self.inflate.unconsumed_tail
            yield piece
            # Output may still be held after the input is used up; drain it in bounded steps.
            while not pending and len(piece) == _STEP and not self.inflate.eof:
                piece = self.inflate.decompress(b"", _STEP)
                yield piece

    def finish(self) -> Iterator[bytes]:
        if not self.started:
            return
        try:
            yield self.inflate.flush()
        except zlib.error as error:
            raise UndecodableBody(f"the {self.encoding} body does not decode: {error}") from None


DECODED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})


def small_enough(content_length: int | None, content_encoding: str | None, limit: int) -> bool:
    """Whether a body announced with ``content_length`` can be read whole: the HTTP framing ends it
    there, it is not to be decoded, and it is under both the cap and the in-memory size."""
    encoding = (content_encoding or "").strip().lower()
    return (
        content_length is not None
        and content_length <= min(limit, IN_MEMORY_LIMIT)
        and encoding not in DECODED_ENCODINGS
    )


async def read_body(
    chunks: AsyncIterator[bytes], content_encoding: str | None, directory: Path | None, limit: int
) -> Body:
    """The body from ``chunks``, decoded when gzip/deflate, in memory or spooled to ``directory``.

    Raises :class:`AnswerTooLarge` as soon as more than ``limit`` bytes arrive or decode, and
    :class:`UndecodableBody` when the announced encoding does not decode.
    """
    encoding = (content_encoding or "").strip().lower()
    decoder = _Decoder(encoding) if encoding in DECODED_ENCODINGS else None
    spool = _Spool(directory, limit, decoded=decoder is not None)
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limit:
                raise AnswerTooLarge(limit, received, decoded=False)
            if decoder is None:
                spool.write(chunk)
            else:
                for piece in decoder.feed(chunk):
                    spool.write(piece)
        if decoder is not None:
            for piece in decoder.finish():
                spool.write(piece)
        return spool.finish()
    except BaseException:
        spool.discard()
        raise


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        return error.start >= len(head) - 3
    return True
