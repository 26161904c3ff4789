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
from compat_diff.errors import RecorderFailure

logger = logging.getLogger(__name__)


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
        request = request_of(flow)
        response = response_of(flow)
        started, duration_ms = timing_of(flow)
        try:
            self.recorder.record(request, response, started, duration_ms)
        except RecorderFailure as failure:
            # The server already answered, but the client must not get an answer we did not record.
            flow.response = refusal(str(failure))
            self.on_failure(failure)

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
        if flow.error is not None:
            logger.debug("transport error for %s: %s", flow.request.pretty_url, flow.error.msg)
