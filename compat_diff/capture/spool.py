"""Large bodies go through the proxy as a stream, written to the recording's blob folder as they pass.

Without this mitmproxy buffers a whole upload or download before handing it over, and the
recorder then copies it again: a 1 GiB upload cost over 3 GB of memory. A body announced larger
than the inline limit (or sent without a length) is instead streamed: every chunk is forwarded
unchanged, hashed and appended to a spool file, so memory stays flat whatever the size. Past
``--max-body-bytes`` the bytes are no longer kept, only hashed, as the recording format says.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import IO

from compat_diff.errors import RecorderFailure
from compat_diff.model import Body

SPOOL_PREFIX = ".spool-"
# The decoded payload of a streamed aws-chunked upload, written beside its spool.
DECODED_SUFFIX = ".decoded"


class BodySpool:
    """A mitmproxy stream callable (``flow.request.stream = spool``) that keeps what passes.

    mitmproxy calls it with each chunk and with ``b""`` at the end; it returns the chunk to
    forward. :meth:`body` is the finished body: a blob-stored :class:`Body` whose file is the
    spool (adopted into the blob store when the exchange is written), or a digest-only one past
    ``max_bytes``.
    """

    def __init__(self, directory: Path, max_bytes: int | None) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.ended = False
        # A write that failed mid-stream: raised when the exchange is recorded, so the recorder
        # stops loudly there (an exception inside mitmproxy's stream would only drop the connection).
        self.failure: RecorderFailure | None = None
        self.path: Path | None = directory / f"{SPOOL_PREFIX}{uuid.uuid4().hex}.partial"
        self._file: IO[bytes] | None = None
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("wb")
        except OSError as error:
            raise RecorderFailure(
                f"cannot write body blobs in {directory}: {error.strerror or error}"
            ) from error

    def __call__(self, chunk: bytes) -> bytes:
        if not chunk:
            self._close()
            self.ended = True
            return chunk
        self.hash.update(chunk)
        self.size += len(chunk)
        if len(self.head) < 4096:
            self.head += chunk[: 4096 - len(self.head)]
        if self.max_bytes is not None and self.size > self.max_bytes:
            self.discard()  # past the limit only the digest is kept
        elif self._file is not None:
            try:
                self._file.write(chunk)
            except OSError as error:
                self.discard()
                self.failure = RecorderFailure(
                    f"cannot write a body blob in {self.directory}: {error.strerror or error}"
                )
        return chunk

    def body(self) -> Body:
        """The streamed body; raises :class:`RecorderFailure` if it could not be kept."""
        if self.failure is not None:
            raise self.failure
        self._close()
        digest = self.hash.hexdigest()
        if self.path is None:
            return Body(inline=None, storage="digest", sha256=digest, size=self.size)
        return Body(
            inline=None,
            storage="blob",
            sha256=digest,
            size=self.size,
            blob_path=self.path,
            is_text=_looks_like_text(self.head),
        )

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Remove the spool file (the body was over the limit, redacted, or not an AWS call)."""
        self._close()
        if self.path is not None:
            for leftover in (self.path, self.path.with_name(self.path.name + DECODED_SUFFIX)):
                try:
                    os.unlink(leftover)
                except FileNotFoundError:
                    pass
            self.path = None


def is_spool(path: Path | None, directory: Path) -> bool:
    return path is not None and path.parent == directory and path.name.startswith(SPOOL_PREFIX)


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head) - 3  # a character cut at the end of the sample
    return True
