"""Conversion of mitmproxy flows into our plain model values, done as soon as a flow completes.

Bodies are taken RAW (``raw_content``): mitmproxy's decoded view undoes Content-Encoding and
fails on S3's ``aws-chunked``; the recording keeps bodies as they crossed the wire (only the
aws-chunked request framing is removed later, with a note). Header names and values keep their
order and duplicates; bytes that are not UTF-8 are kept as surrogate escapes, so the exact bytes
are recorded and replayed (``model.header_bytes``).
"""

from __future__ import annotations

from urllib.parse import quote

from mitmproxy import http

from compat_diff.model import Body, Headers, HttpRequest, HttpResponse, header_text

# Where the request's headers as the client sent them are kept when the proxy will change them.
SENT_HEADERS = "compat-diff.sent-headers"


def keep_sent_headers(flow: http.HTTPFlow) -> None:
    """Remember the request headers before mitmproxy answers ``Expect: 100-continue`` itself and
    drops that header: the client sent it (and signed it), so the recording keeps it."""
    if "expect" in flow.request.headers:
        flow.metadata[SENT_HEADERS] = flow.request.headers.fields


def request_of(flow: http.HTTPFlow, streamed: Body | None = None) -> HttpRequest:
    """The request as the client sent it; ``streamed`` is its body when it went by as a stream."""
    source = flow.request
    headers = _headers(flow.metadata.get(SENT_HEADERS) or source.headers.fields)
    if not any(name.lower() == "host" for name, _ in headers):
        # HTTP/2 and HTTP/3 carry the host as the :authority pseudo-header; signatures cover
        # "host", so the recording states it like an HTTP/1.1 request would.
        authority = source.authority or source.host_header
        if authority:
            headers = (("Host", authority), *headers)
    return HttpRequest(
        method=source.method.upper(),
        url=_ascii_url(source.url),
        headers=headers,
        body=streamed if streamed is not None else Body.of(source.raw_content or b""),
    )


def response_of(flow: http.HTTPFlow, streamed: Body | None = None) -> HttpResponse:
    source = flow.response
    assert source is not None
    return HttpResponse(
        status=source.status_code,
        headers=_headers(source.headers.fields),
        body=streamed if streamed is not None else Body.of(source.raw_content or b""),
    )


def timing_of(flow: http.HTTPFlow) -> tuple[float, float]:
    """When the request started (epoch seconds) and how long until the response ended (ms)."""
    started = flow.request.timestamp_start
    ended = (flow.response.timestamp_end if flow.response else None) or started
    return started, max(0.0, (ended - started) * 1000.0)


def _headers(fields: tuple[tuple[bytes, bytes], ...]) -> Headers:
    return tuple((_text(name), _text(value)) for name, value in fields)


def _text(raw: bytes) -> str:
    return header_text(raw)


def _ascii_url(url: str) -> str:
    if url.isascii():
        return url
    # mitmproxy decodes the request target with surrogateescape; percent-encode whatever is not
    # ASCII so the URL stays valid JSON text and names the same bytes.
    raw = url.encode("utf-8", "surrogateescape")
    return quote(raw, safe="".join(chr(c) for c in range(0x21, 0x7F)))
