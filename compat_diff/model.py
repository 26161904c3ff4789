"""The plain data every layer shares: HTTP exchanges, operation references and divergences.

Everything here is a frozen dataclass with no behaviour beyond small derived views, so any
layer can pass these values around without importing a library it should not know about.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, Literal

Headers = tuple[tuple[str, str], ...]

BodyStorage = Literal["inline", "blob", "digest"]


class ExitStatus(IntEnum):
    """Exit codes of the command line (spec section 1)."""

    OK = 0
    DIVERGED = 1
    USAGE = 2
    CANNOT_RUN = 3


def headers_from(pairs: Iterable[tuple[str, str]] | dict[str, str]) -> Headers:
    if isinstance(pairs, dict):
        pairs = pairs.items()
    return tuple((str(name), str(value)) for name, value in pairs)


def header_text(raw: bytes) -> str:
    """A header name or value as held in memory: its UTF-8 text, any byte that is not UTF-8 kept
    as a surrogate escape, so ``header_bytes`` gives back exactly the bytes that crossed the wire."""
    return raw.decode("utf-8", "surrogateescape")


def header_bytes(text: str) -> bytes:
    """The exact wire bytes of a header name or value held by :func:`header_text`."""
    return text.encode("utf-8", "surrogateescape")


def is_exact_text(text: str) -> bool:
    """Whether a header value is plain UTF-8 text (no escaped byte), so JSON can hold it as is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def client_header_text(text: str) -> str:
    """A header value as an HTTP client reads it (http.client, hence botocore: one character per
    byte, Latin-1), whatever bytes it holds."""
    return text if text.isascii() else header_bytes(text).decode("latin-1")


def header_value(headers: Headers, name: str, default: str | None = None) -> str | None:
    """First value of a header, matched case-insensitively."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return default


def without_headers(headers: Headers, names: Iterable[str]) -> Headers:
    dropped = {name.lower() for name in names}
    return tuple((k, v) for k, v in headers if k.lower() not in dropped)


@dataclass(frozen=True, slots=True)
class Body:
    """An HTTP body as kept in a recording or run.

    ``inline`` bodies carry their bytes; ``blob`` bodies live content-addressed in a file beside
    the recording (``blob_path``) and are read on demand; ``digest`` bodies were over the size
    limit, so only their hash and size were kept and the bytes are gone.
    """

    inline: bytes | None = b""
    storage: BodyStorage = "inline"
    sha256: str | None = None
    size: int = 0
    blob_path: Path | None = None
    is_text: bool = True

    @staticmethod
    def of(data: bytes | str | None) -> Body:
        if data is None:
            return Body()
        if isinstance(data, str):
            data = data.encode("utf-8")
        return Body(inline=data, size=len(data), is_text=_looks_like_text(data))

    @property
    def available(self) -> bool:
        return self.storage != "digest"

    def read(self) -> bytes:
        """The body's bytes; raises ``LookupError`` for a digest-only body."""
        if self.storage == "inline":
            return self.inline or b""
        if self.storage == "blob" and self.blob_path is not None:
            return self.blob_path.read_bytes()
        raise LookupError(f"body of {self.size} bytes was not stored (only its sha256 {self.sha256})")

    def iter_chunks(self, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """Stream the body without holding a large blob in memory."""
        if self.storage == "blob" and self.blob_path is not None:
            with self.blob_path.open("rb") as handle:
                while chunk := handle.read(chunk_size):
                    yield chunk
        else:
            yield self.read()

    def digest(self) -> str:
        if self.sha256:
            return self.sha256
        return hashlib.sha256(self.read()).hexdigest()

    def text(self, errors: str = "replace") -> str:
        return self.read().decode("utf-8", errors=errors)


def _looks_like_text(data: bytes) -> bool:
    if b"\x00" in data[:4096]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Headers = ()
    body: Body = field(default_factory=Body)

    def header(self, name: str, default: str | None = None) -> str | None:
        return header_value(self.headers, name, default)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Headers = ()
    body: Body = field(default_factory=Body)

    def header(self, name: str, default: str | None = None) -> str | None:
        return header_value(self.headers, name, default)


@dataclass(frozen=True, slots=True)
class OperationRef:
    """Which AWS API call a request is, as botocore names it."""

    service: str | None = None
    operation: str | None = None
    region: str | None = None
    protocol: str | None = None

    @property
    def known(self) -> bool:
        return self.service is not None and self.operation is not None


@dataclass(frozen=True, slots=True)
class Auth:
    """How a recorded request was authenticated (the secret parts are never kept).

    ``scheme`` is one of ``sigv4``, ``sigv4-query`` (presigned), ``sigv2``, ``sigv2-query``
    (presigned) or ``none``. ``access_key`` is the recorded access key id (not a secret), used to
    map principals on replay.
    """

    scheme: str = "none"
    access_key: str | None = None
    signed_headers: tuple[str, ...] = ()
    payload_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request/response pair of a recording."""

    seq: int
    request: HttpRequest
    response: HttpResponse
    session: str = "default"
    started: str = ""
    duration_ms: float = 0.0
    service: str | None = None
    operation: str | None = None
    region: str | None = None
    protocol: str | None = None
    auth: Auth = field(default_factory=Auth)
    replayable: bool = True
    # Free-form facts about transport details (e.g. ``{"aws-chunked": {...}}``), kept for replay.
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def op(self) -> OperationRef:
        return OperationRef(self.service, self.operation, self.region, self.protocol)


# --------------------------------------------------------------------------------------------
# Divergences and results: the one result model every report writer reads.

DivergenceKind = Literal[
    "status",
    "error-code",
    "missing",
    "extra",
    "type",
    "value",
    "header",
    "unparseable",
    "transport",
    "too-large",
]
Severity = Literal["critical", "major", "minor"]
# An exchange's verdict. The first five are scored: the exchange was compared and either matches
# or fails (an answer over the replay's size limit fails: a candidate cannot hide behind a huge
# answer). The others say why it was not compared; they never count for or against a candidate.
Verdict = Literal[
    "match",
    "diverges",
    "not-implemented",
    "error",
    "too-large",
    "skipped",
    "not-replayable",
    "not-run",
    "reference-unparseable",
    "internal-error",
]
SCORED_VERDICTS: tuple[Verdict, ...] = ("match", "diverges", "not-implemented", "error", "too-large")
EXCLUDED_VERDICTS: tuple[Verdict, ...] = (
    "skipped",
    "not-replayable",
    "not-run",
    "reference-unparseable",
    "internal-error",
)
VERDICTS: tuple[Verdict, ...] = SCORED_VERDICTS + EXCLUDED_VERDICTS
SEVERITIES: tuple[Severity, ...] = ("critical", "major", "minor")
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "major": 1, "minor": 2}


def counts_against(severity: str) -> bool:
    """Whether a divergence of this severity makes its exchange non-matching (spec section 4)."""
    return severity in ("critical", "major")


@dataclass(frozen=True, slots=True)
class Divergence:
    seq: int
    kind: DivergenceKind
    severity: Severity
    path: str
    reference: Any = None
    candidate: Any = None
    message: str = ""
    # The seq of an earlier exchange whose failure explains this one, when known.
    caused_by: int | None = None
    # Divergences that are consequences of this one (e.g. members missing because the candidate
    # answered an error), folded under it so a reader sees the cause first.
    folded: tuple[Divergence, ...] = ()

    @property
    def counts(self) -> bool:
        """Whether this divergence makes its exchange non-matching."""
        return counts_against(self.severity)


@dataclass(frozen=True, slots=True)
class ExchangeResult:
    """The comparison of one recorded exchange with one candidate's answer.

    ``verdict`` is "match" exactly when the exchange was compared and no divergence counts; a
    scored verdict other than "match" always comes with a divergence that counts.
    """

    seq: int
    service: str | None
    operation: str | None
    verdict: Verdict
    divergences: tuple[Divergence, ...] = ()
    rules_fired: tuple[str, ...] = ()
    reference_view: Any = None
    candidate_view: Any = None
    # Facts a reader needs to trust the verdict (e.g. "compared without an API model").
    notes: tuple[str, ...] = ()

    @property
    def compared(self) -> bool:
        return self.verdict in SCORED_VERDICTS

    @property
    def matching(self) -> bool:
        return self.verdict == "match"


class TimestampText(str):
    """A timestamp exactly as the wire carried it (ISO 8601, RFC 1123 or epoch text).

    The response parser marks modeled timestamps with this type instead of turning them into
    datetimes, so a normalizer rule can find every timestamp by its shape and keep its format.
    """

    __slots__ = ()
