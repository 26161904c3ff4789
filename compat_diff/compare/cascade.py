"""Cascades: a call that changed state differently on the two sides explains later divergences.

When a state-changing call succeeds on one side and fails on the other (a ``DeleteBucket`` the
candidate allowed where the reference refused), the two clouds no longer hold the same state, and
later calls on the same resources diverge as a consequence. Those later divergences get
``caused_by`` = the seq of that call, so a reviewer reads one cause and its consequences.

Resources are recognised by the names a request carries (path segments, query values and the
top-level strings of a JSON or form body): the same names the model puts in an operation's
input, without knowing any service in particular.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from compat_diff.aws.models import is_read_only
from compat_diff.model import Exchange, ExchangeResult, HttpRequest

# How many diverging state changes are remembered; the latest one touching a resource wins.
MAX_REMEMBERED = 256
_MAX_BODY = 64 * 1024
# Values too common to tie two calls together (versions, actions, booleans, small numbers).
_COMMON = frozenset({"true", "false", "", "json", "xml"})


def resources_of(request: HttpRequest) -> frozenset[str]:
    """The names a request addresses: enough to tell that two calls touch the same thing."""
    parts = urlsplit(request.url)
    names = {unquote(segment) for segment in parts.path.split("/") if segment}
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key not in ("Action", "Version"):
            names.add(value)
    body = request.body
    if body.available and body.storage == "inline" and 0 < body.size <= _MAX_BODY:
        names.update(_body_names(body.read()))
    return frozenset(name for name in names if _distinctive(name))


def _body_names(data: bytes) -> set[str]:
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return set()
        return {value for value in obj.values() if isinstance(value, str)} if isinstance(obj, dict) else set()
    if b"=" in data and not stripped.startswith(b"<"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return set()
        return {value for key, value in parse_qsl(text) if key not in ("Action", "Version")}
    return set()


def _distinctive(name: str) -> bool:
    return len(name) >= 3 and name.lower() not in _COMMON and not name.isdigit()


def _splits_success(result: ExchangeResult) -> bool:
    """One side succeeded and the other failed (the root divergence of exchange.fold_under_root)."""
    return any(d.kind == "status" and d.severity == "critical" for d in result.divergences)


class Cascades:
    """Follows one target's exchanges in seq order and links consequences to their cause."""

    def __init__(self) -> None:
        self._changes: deque[tuple[int, frozenset[str]]] = deque(maxlen=MAX_REMEMBERED)

    def link(self, exchange: Exchange, result: ExchangeResult) -> ExchangeResult:
        if not any(d.counts for d in result.divergences):
            return result
        resources = resources_of(exchange.request)
        cause = self._cause(resources)
        if cause is not None:
            result = replace(
                result,
                divergences=tuple(
                    d if d.caused_by is not None else replace(d, caused_by=cause) for d in result.divergences
                ),
            )
        if _splits_success(result) and not _read_only(exchange):
            self._changes.append((exchange.seq, resources))
        return result

    def _cause(self, resources: frozenset[str]) -> int | None:
        if not resources:
            return None
        for seq, touched in reversed(self._changes):
            if touched & resources:
                return seq
        return None


def _read_only(exchange: Exchange) -> bool:
    if exchange.service is None or exchange.operation is None:
        return exchange.request.method.upper() in ("GET", "HEAD", "OPTIONS")
    try:
        return is_read_only(exchange.service, exchange.operation)
    except Exception:  # an unknown model: judge by the method, as a REST client would
        return exchange.request.method.upper() in ("GET", "HEAD", "OPTIONS")


__all__ = ["Cascades", "resources_of"]
