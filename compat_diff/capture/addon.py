"""The mitmproxy addon: hands each completed flow to the :class:`Recorder`, answers the session
control requests itself, and enforces that no traffic passes once the recording cannot be written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from mitmproxy import http

from compat_diff.capture.flows import keep_sent_headers, request_of, response_of, timing_of
from compat_diff.capture.recorder import CONTROL_HOST, Recorder
from compat_diff.capture.spool import BodySpool
from compat_diff.errors import RecorderFailure
from compat_diff.model import Body

logger = logging.getLogger(__name__)

REQUEST_SPOOL = "compat-diff.request-spool"
RESPONSE_SPOOL = "compat-diff.response-spool"


def refusal(reason: str) -> http.Response:
    return http.Response.make(
        502,
        f"compat-diff recorder stopped: {reason}\n".encode(),
        {"Content-Type": "text/plain; charset=utf-8", "X-Compat-Diff": "recorder-stopped"},
    )


class CaptureAddon:
    """Records every completed flow; after a write failure, answers 502 and asks the proxy to stop."""

    def __init__(self, recorder: Recorder, on_failure: Callable[[RecorderFailure], None]) -> None:
        self.recorder = recorder
        self.on_failure = on_failure

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        keep_sent_headers(flow)
        if self.recorder.failure is None and self._large(flow.request.headers):
            flow.request.stream = self._spool(flow, REQUEST_SPOOL) or False

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None and self.recorder.failure is None and self._large(flow.response.headers):
            flow.response.stream = self._spool(flow, RESPONSE_SPOOL) or False

    def _large(self, headers: http.Headers) -> bool:
        """A body announced over the inline limit, or of unknown length: streamed, not buffered."""
        length = headers.get("content-length")
        if length is not None:
            return length.strip().isdigit() and int(length) > self.recorder.writer.policy.inline_limit
        return "chunked" in headers.get("transfer-encoding", "").lower()

    def _spool(self, flow: http.HTTPFlow, key: str) -> BodySpool | None:
        """A spool for the body, or None to let mitmproxy buffer it when no spool can be written
        (writing the exchange then fails and stops the recorder the usual way)."""
        policy = self.recorder.writer.policy
        if policy.blobs is None:
            return None
        try:
            spool = BodySpool(policy.blobs.directory, policy.max_body_bytes)
        except RecorderFailure:
            return None
        flow.metadata[key] = spool
        return spool

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host.lower() == CONTROL_HOST:
            flow.response = self._control(flow.request.pretty_url)
            return
        failure = self.recorder.failure
        if failure is not None:
            # Answering here keeps the request from ever reaching the server unrecorded.
            flow.response = refusal(str(failure))

    def response(self, flow: http.HTTPFlow) -> None:
        ours = flow.response.headers.get("X-Compat-Diff") if flow.response is not None else None
        if ours in ("recorder-stopped", "control"):
            return
        try:
            request = request_of(flow, _spooled(flow, REQUEST_SPOOL))
            response = response_of(flow, _spooled(flow, RESPONSE_SPOOL))
            started, duration_ms = timing_of(flow)
            self.recorder.record(request, response, started, duration_ms)
        except RecorderFailure as failure:
            # The server already answered, but the client must not get an answer we did not record.
            flow.response = refusal(str(failure))
            self.on_failure(failure)
        finally:
            # A spool the recording did not take (redacted, not an AWS call) must not stay on disk.
            _discard_spools(flow)

    def _control(self, url: str) -> http.Response:
        """``GET http://compat-diff.invalid/session?name=TEST&step=STEP``: later calls belong to TEST."""
        parts = urlsplit(url)
        if parts.path.rstrip("/") != "/session":
            usage = b"compat-diff: the control host answers /session?name=...&step=...\n"
            return http.Response.make(404, usage, {"X-Compat-Diff": "control"})
        query = parse_qs(parts.query)
        name = (query.get("name") or [""])[0]
        step = (query.get("step") or [""])[0]
        self.recorder.begin(name or None, step or None)
        answer = f"session {self.recorder.session}\n".encode()
        return http.Response.make(200, answer, {"Content-Type": "text/plain", "X-Compat-Diff": "control"})

    def error(self, flow: http.HTTPFlow) -> None:
        # The call never completed (server unreachable, TLS refused, client gone): nothing to record.
        self.recorder.note_transport_error()
        _discard_spools(flow)
        if flow.error is not None:
            logger.debug("transport error for %s: %s", flow.request.pretty_url, flow.error.msg)


def _spooled(flow: http.HTTPFlow, key: str) -> Body | None:
    """The streamed body kept under ``key``, or None when the body was buffered as usual."""
    spool = flow.metadata.get(key)
    if not isinstance(spool, BodySpool) or spool.size == 0:
        return None  # never streamed (a HEAD answer announces a length it does not send)
    return spool.body()


def _discard_spools(flow: http.HTTPFlow) -> None:
    for key in (REQUEST_SPOOL, RESPONSE_SPOOL):
        spool = flow.metadata.pop(key, None)
        if isinstance(spool, BodySpool):
            spool.discard()
