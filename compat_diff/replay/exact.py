"""Sending a request whose header bytes are not UTF-8, byte for byte.

aiohttp writes header values as UTF-8 text and drops what is not, so a Latin-1 ``x-amz-meta-*``
value (``Hello World\\xe9``) cannot cross it unchanged. The few such requests go through the
standard library's ``http.client`` instead (in a worker thread, one connection per request),
which writes header bytes as given; the answer is read within the same cap and spooled the same
way as every other answer.
"""

from __future__ import annotations

import asyncio
import http.client
import ssl
from collections.abc import AsyncIterator
from typing import IO, Any
from urllib.parse import urlsplit

from compat_diff.model import Body, HttpResponse, header_bytes, header_text, is_exact_text
from compat_diff.replay.answers import read_body

_CHUNK = 1 << 16


def needs_exact_bytes(headers: tuple[tuple[str, str], ...]) -> bool:
    """Whether a header holds bytes aiohttp cannot send (see the module docstring)."""
    return not all(is_exact_text(name) and is_exact_text(value) for name, value in headers)


async def send_exact(
    method: str,
    url: str,
    headers: tuple[tuple[str, str], ...],
    body: bytes | IO[bytes] | None,
    *,
    timeout: float,
    tls: ssl.SSLContext | bool,
    blob_dir: Any,
    limit: int,
) -> HttpResponse:
    """Send one request with its exact header bytes; its answer, read within ``limit`` bytes."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if parts.scheme == "https":
        context = tls if isinstance(tls, ssl.SSLContext) else ssl._create_unverified_context()
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)

    def start() -> http.client.HTTPResponse:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(header_bytes(name), header_bytes(value))
        connection.endheaders(body)
        return connection.getresponse()

    try:
        reply = await asyncio.to_thread(start)
        # http.client reads header bytes as Latin-1; held like every other answer's headers.
        answer_headers = tuple(
            (header_text(name.encode("latin-1")), header_text(value.encode("latin-1")))
            for name, value in reply.getheaders()
        )

        async def chunks() -> AsyncIterator[bytes]:
            while piece := await asyncio.to_thread(reply.read, _CHUNK):
                yield piece

        encoding = reply.getheader("Content-Encoding")
        answer: Body = await read_body(chunks(), encoding, blob_dir, limit)
        return HttpResponse(status=reply.status, headers=answer_headers, body=answer)
    finally:
        connection.close()
