"""Factories for the shared model objects, shipped in the package so every test builds them alike.

Each factory fills sensible defaults so a test names only what it is about; everything returned
is a real ``compat_diff.model`` value, never a stand-in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compat_diff.model import Auth, Body, Exchange, HttpRequest, HttpResponse, headers_from


def _body(body: bytes | str | Body | None) -> Body:
    return body if isinstance(body, Body) else Body.of(body)


def make_request(
    method: str = "GET",
    url: str = "http://127.0.0.1:5000/",
    headers: Iterable[tuple[str, str]] | dict[str, str] = (),
    body: bytes | str | Body | None = None,
) -> HttpRequest:
    """An ``HttpRequest``; a ``Content-Length`` is not added, so tests control headers exactly."""
    return HttpRequest(method=method.upper(), url=url, headers=headers_from(headers), body=_body(body))


def make_response(
    status: int = 200,
    headers: Iterable[tuple[str, str]] | dict[str, str] = (),
    body: bytes | str | Body | None = None,
) -> HttpResponse:
    return HttpResponse(status=status, headers=headers_from(headers), body=_body(body))


def make_exchange(
    seq: int = 1,
    request: HttpRequest | None = None,
    response: HttpResponse | None = None,
    *,
    service: str | None = None,
    operation: str | None = None,
    region: str | None = "us-east-1",
    protocol: str | None = None,
    auth: Auth | None = None,
    **extra: Any,
) -> Exchange:
    """An ``Exchange``; extra keyword arguments set the remaining ``Exchange`` fields."""
    return Exchange(
        seq=seq,
        request=request if request is not None else make_request(),
        response=response if response is not None else make_response(),
        service=service,
        operation=operation,
        region=region,
        protocol=protocol,
        auth=auth if auth is not None else Auth(),
        **extra,
    )
