"""``compat-diff import``: captures people already have (HAR files, mitmproxy flow files) become
recordings, identified and redacted exactly like ``compat-diff record`` does (the same Recorder).

What cannot be used is said, never dropped silently: entries that are not AWS calls, entries
without a response, and HAR entries whose bodies the HAR left out (a browser's "HAR without
content"): those are kept when they are still AWS calls, but marked not replayable when the
request body is missing.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compat_diff.capture.recorder import Recorder
from compat_diff.capture.run import open_writer
from compat_diff.errors import InputError, RecorderFailure
from compat_diff.model import Body, ExitStatus, HttpRequest, HttpResponse

# Request headers an HTTP/2 capture shows as pseudo-headers; the recording keeps Host instead.
_PSEUDO = (":method", ":path", ":scheme")


@dataclass
class ImportTally:
    entries: int = 0
    unusable: Counter[str] = field(default_factory=Counter)  # reason -> count


@dataclass(frozen=True)
class Captured:
    request: HttpRequest
    response: HttpResponse | None
    started: float
    duration_ms: float
    request_body_missing: bool = False
    response_body_missing: bool = False


def _har_body(text: str | None, encoding: str | None) -> Body:
    if text is None:
        return Body.of(b"")
    if encoding == "base64":
        return Body.of(base64.b64decode(text))
    return Body.of(text.encode("utf-8", "surrogateescape"))


def _epoch(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _har_headers(items: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    headers = [(str(h.get("name", "")), str(h.get("value", ""))) for h in items or []]
    authority = next((v for n, v in headers if n.lower() == ":authority"), None)
    headers = [(n, v) for n, v in headers if n.lower() not in _PSEUDO and n.lower() != ":authority"]
    if authority and not any(n.lower() == "host" for n, _ in headers):
        headers.insert(0, ("Host", authority))
    return tuple(headers)


def read_har(path: Path) -> Iterator[Captured]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = document["log"]["entries"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{path} is not a readable HAR file ({type(error).__name__}: {error})") from None
    for entry in entries:
        request = entry.get("request") or {}
        response = entry.get("response") or {}
        post = request.get("postData") or {}
        content = response.get("content") or {}
        body_size = int(request.get("bodySize") or 0)
        request_missing = body_size > 0 and "text" not in post
        response_missing = int(content.get("size") or 0) > 0 and "text" not in content
        status = int(response.get("status") or 0)
        yield Captured(
            request=HttpRequest(
                method=str(request.get("method", "GET")).upper(),
                url=str(request.get("url", "")),
                headers=_har_headers(request.get("headers") or []),
                body=_har_body(post.get("text"), post.get("encoding")),
            ),
            response=None
            if status <= 0
            else HttpResponse(
                status=status,
                headers=_har_headers(response.get("headers") or []),
                body=_har_body(content.get("text"), content.get("encoding")),
            ),
            started=_epoch(entry.get("startedDateTime")),
            duration_ms=float(entry.get("time") or 0.0),
            request_body_missing=request_missing,
            response_body_missing=response_missing,
        )


def read_flows(path: Path) -> Iterator[Captured]:
    from mitmproxy import http, io
    from mitmproxy.exceptions import FlowReadException

    from compat_diff.capture.flows import request_of, response_of, timing_of

    try:
        with path.open("rb") as source:
            for flow in io.FlowReader(source).stream():
                if not isinstance(flow, http.HTTPFlow):
                    continue
                started, duration_ms = timing_of(flow)
                yield Captured(
                    request_of(flow),
                    response_of(flow) if flow.response is not None else None,
                    started,
                    duration_ms,
                )
    except FlowReadException as error:
        raise InputError(f"{path} is not a readable mitmproxy flow file ({error})") from None


def captured_of(path: Path) -> Iterator[Captured]:
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file")
    with path.open("rb") as peek:
        start = peek.read(64).lstrip()
    if start.startswith(b"{"):
        return read_har(path)
    return read_flows(path)


def run_import(source: Path, out: Path, session: str, console: Any) -> ExitStatus:
    """Write the AWS calls of a HAR or flow file as a recording; say what could not be used."""
    writer = open_writer(out, session, [], None, {"imported_from": source.name})
    tally = ImportTally()
    recorder = Recorder(writer, session)
    try:
        for captured in captured_of(source):
            tally.entries += 1
            if captured.response is None:
                tally.unusable["no response (the call never completed)"] += 1
                continue
            try:
                exchange = recorder.record(
                    captured.request,
                    captured.response,
                    captured.started,
                    captured.duration_ms,
                    # A request body the HAR left out: the call is known but cannot be sent again.
                    replayable=not captured.request_body_missing,
                )
            except RecorderFailure as failure:
                raise InputError(str(failure)) from None
            if exchange is None:
                tally.unusable["not an AWS call"] += 1
                continue
            if captured.request_body_missing:
                tally.unusable["request body left out of the HAR: kept, marked not replayable"] += 1
            elif captured.response_body_missing:
                tally.unusable["response body left out of the HAR: kept, compared without it"] += 1
    finally:
        writer.close()
    recorded = recorder.tally.exchanges
    console.print(f"{recorded} AWS calls of {tally.entries} entries imported into {out}", markup=False)
    for reason, count in sorted(tally.unusable.items()):
        console.print(f"  {count} {reason}", markup=False)
    if recorded == 0:
        console.print(f"compat-diff: no AWS call found in {source}", markup=False)
        return ExitStatus.CANNOT_RUN
    return ExitStatus.OK
