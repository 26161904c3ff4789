"""The recorder's decisions, free of mitmproxy: which calls are AWS calls, what they are, what is
secret, and the order they are written in.

The proxy addon hands over plain model values; this module identifies the call (learning which
host serves which service from signed calls, so later unsigned calls to the same host are still
attributed), redacts it, numbers it and writes it. Anything that is not an AWS call is only
counted.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from compat_diff.aws.auth import parse_auth
from compat_diff.aws.identify import identify
from compat_diff.aws.redact import redact_request, redact_response
from compat_diff.capture.chunked import decode_aws_chunked, decode_aws_chunked_file, is_aws_chunked
from compat_diff.capture.spool import DECODED_SUFFIX
from compat_diff.errors import RecorderFailure
from compat_diff.model import Body, Exchange, HttpRequest, HttpResponse
from compat_diff.recording.format import RecordingWriter


@dataclass
class Tally:
    """What went through the proxy, for the summary printed at the end."""

    recorded: Counter[tuple[str, str]] = field(default_factory=Counter)
    not_aws: int = 0
    transport_errors: int = 0
    damaged_uploads: int = 0
    not_replayable: int = 0
    # Control requests that named a test session (compat-diff.invalid/session?name=...).
    sessions_named: int = 0

    @property
    def exchanges(self) -> int:
        return sum(self.recorded.values())


def iso_timestamp(epoch_seconds: float) -> str:
    moment = _dt.datetime.fromtimestamp(epoch_seconds, _dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def unframe_request(request: HttpRequest) -> tuple[HttpRequest, dict[str, Any]]:
    """The request with any aws-chunked framing removed, and the notes describing that framing."""
    content_sha256 = request.header("x-amz-content-sha256")
    content_encoding = request.header("content-encoding")
    if not request.body.available or not is_aws_chunked(content_encoding, content_sha256):
        return request, {}
    body = request.body
    if body.storage == "blob" and body.blob_path is not None:
        # A streamed upload: decoded file to file, beside the spool (and removed with it).
        target = body.blob_path.with_name(body.blob_path.name + DECODED_SUFFIX)
        streamed = decode_aws_chunked_file(body.blob_path, target, content_sha256, content_encoding)
        if streamed is not None:
            decoded_body = Body(
                inline=None, storage="blob", sha256=streamed.sha256, size=streamed.size, blob_path=target,
                is_text=False,
            )  # fmt: skip
            return replace(request, body=decoded_body), {"aws-chunked": streamed.note}
    decoded = decode_aws_chunked(body.read(), content_sha256, content_encoding)
    return replace(request, body=Body.of(decoded.body)), {"aws-chunked": decoded.note}


# A reserved name (RFC 2606 ".invalid" never resolves): requests to it through the proxy are the
# recorder's control requests, answered by the recorder and never recorded.
CONTROL_HOST = "compat-diff.invalid"


class Recorder:
    """Turns completed request/response pairs into numbered, redacted exchanges in a recording.

    Not thread-safe by design: the proxy calls it from its single event loop, which is what makes
    ``seq`` follow the order in which responses completed.
    """

    def __init__(self, writer: RecordingWriter, session: str, region_hint: str | None = None) -> None:
        self.writer = writer
        self.session = session
        # The region of calls whose host and signature name none (SigV2 Query calls to a private
        # cloud): the region the recorded client was configured with, when known.
        self.region_hint = region_hint
        self.tally = Tally()
        # host (URL netloc) -> service, learnt from signed calls; unsigned calls to that host
        # (anonymous reads, some presigned forms) are attributed through it.
        self.host_hints: dict[str, str] = {}
        self.failure: RecorderFailure | None = None
        self._seq = 0
        self.default_session = session
        # The step of the current test (setup, call, teardown ...), noted on each exchange.
        self.step: str | None = None

    def begin(self, session: str | None, step: str | None) -> None:
        """A control request: later calls belong to ``session`` (the default one when None)."""
        self.session = session or self.default_session
        self.step = step
        if session:
            self.tally.sessions_named += 1

    def record(
        self,
        request: HttpRequest,
        response: HttpResponse,
        started: float,
        duration_ms: float,
        replayable: bool = True,
    ) -> Exchange | None:
        """Write one exchange; returns it, or None when the call was not an AWS call.

        Raises :class:`RecorderFailure` when the exchange cannot be written; from then on the
        recorder refuses everything, so the proxy can stop instead of passing traffic unrecorded.
        """
        if self.failure is not None:
            raise self.failure
        try:
            return self._record(request, response, started, duration_ms, replayable)
        except RecorderFailure as failure:
            self.failure = failure
            raise
        except Exception as error:
            # A bug in identification or redaction must not let an unredacted exchange reach
            # the file, nor let traffic continue unrecorded: stop like a write failure.
            self.failure = RecorderFailure(
                f"could not record {request.method} {request.url}: {type(error).__name__}: {error}"
            )
            raise self.failure from error

    def _record(
        self,
        request: HttpRequest,
        response: HttpResponse,
        started: float,
        duration_ms: float,
        replayable: bool = True,
    ) -> Exchange | None:
        request, notes = unframe_request(request)
        op = identify(request, self.host_hints)
        if op.service is None:
            self.tally.not_aws += 1
            return None
        auth = parse_auth(request)
        if auth.scheme != "none":
            self.host_hints.setdefault(_netloc(request.url), op.service)
        chunked = notes.get("aws-chunked", {})
        damaged = "damaged" in chunked
        if self.step:
            notes = {**notes, "step": self.step}
        self._seq += 1
        exchange = Exchange(
            seq=self._seq,
            request=redact_request(request, op),
            response=redact_response(response, op),
            session=self.session,
            started=iso_timestamp(started),
            duration_ms=duration_ms,
            service=op.service,
            operation=op.operation,
            region=op.region or self.region_hint,
            protocol=op.protocol,
            auth=auth,
            # A broken streamed upload cannot be re-framed, and its chunk signatures are gone.
            replayable=replayable and not damaged,
            notes=notes,
        )
        self.writer.write(exchange)
        self.tally.recorded[(op.service, op.operation or "?")] += 1
        if damaged:
            self.tally.damaged_uploads += 1
        if not exchange.replayable or self._over_limit(exchange.request.body):
            self.tally.not_replayable += 1
        return exchange

    def _over_limit(self, body: Body) -> bool:
        limit = self.writer.policy.max_body_bytes
        return limit is not None and body.size > limit

    def note_transport_error(self) -> None:
        self.tally.transport_errors += 1


def _netloc(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1].lower()
