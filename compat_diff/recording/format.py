"""The versioned JSON Lines recording: a writer that flushes every exchange, a streaming reader
that survives damaged lines, and the chain of migrations from older versions.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from compat_diff import __version__
from compat_diff.errors import RecorderFailure, RecordingError
from compat_diff.model import Body, Exchange
from compat_diff.recording.codec import (
    DEFAULT_INLINE_LIMIT,
    BlobReferenceError,
    BlobStore,
    BodyPolicy,
    decode_exchange,
    encode_exchange,
)

FORMAT = "compat-diff/recording"
VERSION = 2
# A header line is a few hundred bytes; anything past this is not a recording.
MAX_HEADER_BYTES = 1 << 20

# Each entry upgrades one exchange object from version N to N+1 (the header only needs its version).
# Readers apply the chain in order, so a file written by any earlier release still reads.
Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _v1_to_v2(exchange: dict[str, Any]) -> dict[str, Any]:
    # Version 2 may write a header name or value as {"base64": ...} (bytes that are not UTF-8);
    # every version-1 header is a plain string, which version 2 reads unchanged. (Version 1 read
    # such bytes as Latin-1 text: what it recorded is kept as it is.)
    # Version 1 also judged an empty body whose Content-Encoding named aws-chunked (with an
    # ordinary payload hash) a damaged upload; nothing was framed there, so it is replayable.
    notes = exchange.get("notes")
    if not isinstance(notes, dict):
        return exchange
    chunked = notes.get("aws-chunked")
    if (
        isinstance(chunked, dict)
        and "damaged" in chunked
        and chunked.get("framed_length") == 0
        and not str(chunked.get("payload") or "").upper().startswith("STREAMING-")
    ):
        fixed = {key: value for key, value in chunked.items() if key != "damaged"}
        fixed.update(framed=False, decoded_length=0)
        exchange = {**exchange, "notes": {**notes, "aws-chunked": fixed}}
        exchange.pop("replayable", None)
    return exchange


MIGRATIONS: dict[int, Migration] = {1: _v1_to_v2}


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def blob_dir_for(path: Path) -> Path:
    return path.with_name(path.name + ".blobs")


class RecordingWriter:
    """Appends exchanges to a recording, one flushed line each.

    Any failure to write raises :class:`RecorderFailure`: the recorder must stop rather than let
    traffic through unrecorded.
    """

    def __init__(
        self,
        path: Path,
        *,
        header: dict[str, Any] | None = None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        max_body_bytes: int | None = None,
    ) -> None:
        self.path = path
        self.policy = BodyPolicy(BlobStore(blob_dir_for(path)), inline_limit, max_body_bytes)
        self.count = 0
        try:
            if path.parent and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            self._handle: IO[bytes] = path.open("wb")
        except OSError as error:
            raise RecorderFailure(f"cannot write the recording {path}: {error.strerror or error}") from error
        head = {
            "format": FORMAT,
            "version": VERSION,
            "created": now_iso(),
            "tool": f"compat-diff {__version__}",
        }
        head.update(header or {})
        self._write_line(head)

    def write(self, exchange: Exchange) -> None:
        self._write_line(encode_exchange(exchange, self.policy))
        self.count += 1

    def _write_line(self, obj: dict[str, Any]) -> None:
        try:
            self._handle.write(orjson.dumps(obj) + b"\n")
            self._handle.flush()
        except (OSError, ValueError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise RecorderFailure(f"cannot write the recording {self.path}: {reason}") from error

    def sync(self) -> None:
        try:
            os.fsync(self._handle.fileno())
        except OSError as error:
            raise RecorderFailure(f"cannot write the recording {self.path}: {error.strerror}") from error

    def close(self) -> None:
        if not self._handle.closed:
            try:
                self._handle.close()
            except OSError as error:
                raise RecorderFailure(f"cannot write the recording {self.path}: {error.strerror}") from error

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Problem:
    """A line of a recording that could not be read, kept so it can be reported by number."""

    line: int
    reason: str
    # The line points outside the recording's own blobs, or at missing or altered ones: a recording
    # that cannot be trusted rather than one cut short, so replay refuses it instead of skipping.
    unsafe: bool = False


@dataclass
class Recording:
    """A recording opened for streaming: iterate it to get exchanges, one line at a time.

    Damaged lines are skipped and collected in ``problems`` as iteration passes them. Two lines
    with the same ``seq`` raise :class:`RecordingError` naming both: an exchange is never dropped
    silently. With ``verify_blobs`` every blob a line references must exist in the recording's blob
    folder and hash to its name, else the line is an ``unsafe`` problem.
    """

    path: Path
    header: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    verify_blobs: bool = False
    # Blob digests already checked this session (a blob shared by many lines is hashed once).
    _verified: set[str] = field(default_factory=set, repr=False)

    @property
    def blob_dir(self) -> Path:
        return blob_dir_for(self.path)

    @property
    def version(self) -> int:
        return int(self.header.get("version", VERSION))

    def __iter__(self) -> Iterator[Exchange]:
        self.problems.clear()
        blob_dir = self.blob_dir
        lines_by_seq: dict[int, int] = {}
        with self.path.open("rb") as handle:
            handle.readline()
            for number, raw in enumerate(handle, start=2):
                if not raw.strip():
                    continue
                try:
                    obj = orjson.loads(raw)
                    if not isinstance(obj, dict):
                        raise ValueError("not a JSON object")
                    obj = migrate(obj, self.version)
                    exchange = decode_exchange(obj, blob_dir)
                    if self.verify_blobs:
                        self._check_blobs(exchange)
                except (ValueError, KeyError, TypeError) as error:
                    unsafe = isinstance(error, BlobReferenceError)
                    self.problems.append(Problem(number, _describe(error, raw), unsafe))
                    continue
                first = lines_by_seq.setdefault(exchange.seq, number)
                if first != number:
                    raise RecordingError(duplicate_seq_message(self.path, exchange.seq, first, number))
                yield exchange

    def _check_blobs(self, exchange: Exchange) -> None:
        for body in (exchange.request.body, exchange.response.body):
            if body.storage == "blob" and body.sha256 not in self._verified:
                check_blob(body, self.blob_dir)
                self._verified.add(str(body.sha256))


def duplicate_seq_message(path: Path, seq: int, first: int, second: int) -> str:
    return (
        f"{path} has two exchanges numbered seq {seq}, on lines {first} and {second} (two recordings "
        "joined, or a hand edit); give every exchange its own seq before using it"
    )


def check_blob(body: Body, blob_dir: Path) -> None:
    """Raise :class:`BlobReferenceError` unless the blob ``body`` names is in ``blob_dir`` with its
    declared size and bytes whose sha256 is its name."""
    assert body.blob_path is not None and body.sha256 is not None
    path = body.blob_path
    try:
        with path.open("rb") as handle:
            digest = hashlib.sha256()
            size = 0
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise BlobReferenceError(f"the blob {body.sha256} is missing from {blob_dir}") from None
    except OSError as error:
        raise BlobReferenceError(
            f"the blob {body.sha256} in {blob_dir} cannot be read: {error.strerror or error}"
        ) from None
    if digest.hexdigest() != body.sha256:
        raise BlobReferenceError(f"the bytes of blob {body.sha256} in {blob_dir} do not hash to its name")
    if size != body.size:
        raise BlobReferenceError(
            f"the blob {body.sha256} holds {size} bytes, not the {body.size} the line says"
        )


def _describe(error: Exception, raw: bytes) -> str:
    if isinstance(error, orjson.JSONDecodeError):
        if not raw.endswith(b"\n"):
            return "truncated line (the recorder probably stopped while writing it)"
        return f"not valid JSON ({error})"
    if isinstance(error, KeyError):
        return f"missing field {error}"
    return str(error)


def migrate(obj: dict[str, Any], version: int) -> dict[str, Any]:
    while version < VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise RecordingError(f"no migration from recording version {version}")
        obj = step(obj)
        version += 1
    return obj


def open_recording(path: Path | str, *, verify_blobs: bool = False) -> Recording:
    """Open a recording and check its header; raises :class:`RecordingError` with a clear sentence.

    ``verify_blobs`` hashes every referenced blob as the lines are read (what a replay, which sends
    them, needs); readers that only compare leave it off.
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"recording {path} does not exist")
    if path.is_dir():
        raise RecordingError(f"{path} is a directory, not a recording file")
    try:
        with path.open("rb") as handle:
            # Bounded: a header is a few hundred bytes, and /dev/zero has no line end at all.
            first = handle.readline(MAX_HEADER_BYTES + 1)
    except OSError as error:
        raise RecordingError(f"cannot read recording {path}: {error.strerror}") from error
    if len(first) > MAX_HEADER_BYTES:
        raise RecordingError(
            f"{path} is not a compat-diff recording (its first line is longer than {MAX_HEADER_BYTES} bytes)"
        )
    if not first.strip():
        raise RecordingError(f"{path} is empty, not a compat-diff recording")
    try:
        header = orjson.loads(first)
    except orjson.JSONDecodeError:
        raise RecordingError(f"{path} is not a compat-diff recording (line 1 is not JSON)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(f"{path} is not a compat-diff recording (line 1 has no format {FORMAT!r})")
    version = header.get("version")
    if not isinstance(version, int) or version < 0:
        raise RecordingError(f"{path} has an invalid recording version {version!r}")
    if version > VERSION:
        raise RecordingError(
            f"{path} is recording version {version}, newer than this compat-diff reads ({VERSION});"
            " upgrade compat-diff"
        )
    # Check the whole chain now: failing on the first exchange would look like a damaged line.
    missing = [step for step in range(version, VERSION) if step not in MIGRATIONS]
    if missing:
        raise RecordingError(
            f"{path} is recording version {version}, which this compat-diff cannot upgrade"
            f" (no migration from version {missing[0]})"
        )
    return Recording(path=path, header=header, verify_blobs=verify_blobs)


def read_recording(path: Path | str) -> Recording:
    """Alias of :func:`open_recording`, the name most callers look for."""
    return open_recording(path)


def load_exchanges(path: Path | str) -> tuple[Recording, list[Exchange]]:
    """Read a whole recording into memory (small recordings, tests)."""
    recording = open_recording(path)
    return recording, list(recording)
