"""Time-shifted replay: absolute times a recorded client computed from "now" move with the replay.

A recording made at T and replayed at T + D sends ``If-Modified-Since``, an object lock's
``RetainUntilDate``, ``Expires`` and every other timestamp member of the request shifted by D, so
"ten seconds from now" still means ten seconds from now. Which fields are times comes from the
service model's timestamp shapes (headers, query string, form, JSON and XML bodies), plus the
HTTP conditional date headers. A value keeps its recorded format (ISO 8601 with or without
fractions, HTTP dates, epoch seconds). Opaque bodies (object contents) are never touched.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import email.utils
import re
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from compat_diff.aws.shapes import TimestampFields, opaque_request, timestamp_fields
from compat_diff.model import Body, Exchange, HttpRequest
from compat_diff.replay.retarget import checksum_header

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?P<sep>[T ])(?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d+)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)
_EPOCH = re.compile(r"^\d{9,11}(?:\.\d+)?$")
_HTTP_DATE = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")


def recording_start(exchanges: list[Exchange]) -> _dt.datetime | None:
    """When the recording began: its earliest exchange's start time."""
    times = [parse_iso(exchange.started) for exchange in exchanges if exchange.started]
    known = [time for time in times if time is not None]
    return min(known) if known else None


def parse_iso(value: str) -> _dt.datetime | None:
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.UTC)


def shift_text(value: str, delta: _dt.timedelta) -> str | None:
    """``value`` moved by ``delta`` in the format it was written in; None when it is no time."""
    text = value.strip()
    match = _ISO.match(text)
    if match:
        return _shift_iso(match, delta)
    if _HTTP_DATE.match(text):
        parsed = email.utils.parsedate_to_datetime(text)
        return email.utils.format_datetime((parsed + delta).astimezone(_dt.UTC), usegmt=True)
    if _EPOCH.match(text):
        if "." in text:
            decimals = len(text.split(".", 1)[1])
            return f"{float(text) + delta.total_seconds():.{decimals}f}"
        return str(int(text) + round(delta.total_seconds()))
    return None


def _shift_iso(match: re.Match[str], delta: _dt.timedelta) -> str:
    fraction = match.group("fraction") or ""
    zone = match.group("zone") or ""
    base = _dt.datetime.fromisoformat(f"{match.group('date')}T{match.group('time')}{fraction[:7]}")
    shifted = base + delta
    out = shifted.strftime("%Y-%m-%d") + match.group("sep") + shifted.strftime("%H:%M:%S")
    if fraction:
        digits = len(fraction) - 1
        micro = f"{shifted.microsecond:06d}"
        out += "." + (micro[:digits] if digits <= 6 else micro + "0" * (digits - 6))
    return out + zone


def shift_exchange(exchange: Exchange, delta: _dt.timedelta) -> Exchange:
    """``exchange`` with the absolute times of its request moved by ``delta`` (itself when none)."""
    if not delta:
        return exchange
    fields = timestamp_fields(exchange.service, exchange.operation)
    request = exchange.request
    headers, headers_changed = _shift_headers(request.headers, fields, delta)
    url, url_changed = _shift_query(request.url, fields, delta)
    body, body_changed = _shift_body(exchange, fields, delta)
    if not (headers_changed or url_changed or body_changed):
        return exchange
    if body_changed:
        data = body.read()
        headers = tuple(
            (name, checksum_header(name, data) or value) if _is_checksum(name) else (name, value)
            for name, value in headers
        )
    shifted = HttpRequest(request.method, url, headers, body)
    return dataclasses.replace(exchange, request=shifted)


def _is_checksum(name: str) -> bool:
    lower = name.lower()
    return lower == "content-md5" or lower.startswith("x-amz-checksum-")


def _shift_headers(
    headers: tuple[tuple[str, str], ...], fields: TimestampFields, delta: _dt.timedelta
) -> tuple[tuple[tuple[str, str], ...], bool]:
    changed = False
    out = []
    for name, value in headers:
        if name.lower() in fields.headers:
            moved = shift_text(value, delta)
            if moved is not None and moved != value:
                value, changed = moved, True
        out.append((name, value))
    return tuple(out), changed


def _shift_query(url: str, fields: TimestampFields, delta: _dt.timedelta) -> tuple[str, bool]:
    if "?" not in url or not (fields.query or fields.body):
        return url, False
    parts = urlsplit(url)
    query, changed = _shift_pairs(parts.query, fields.query | fields.body, delta)
    if not changed:
        return url, False
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)), True


def _shift_pairs(encoded: str, names: frozenset[str], delta: _dt.timedelta) -> tuple[str, bool]:
    """A form or query string with the values of time parameters moved; other pairs byte for byte."""
    changed = False
    pairs = []
    for pair in encoded.split("&"):
        key, sep, value = pair.partition("=")
        if sep and _last_name(unquote_plus(key)) in names:
            moved = shift_text(unquote_plus(value), delta)
            if moved is not None:
                pair = f"{key}={quote(moved, safe='')}"
                changed = True
        pairs.append(pair)
    return "&".join(pairs), changed


def _last_name(key: str) -> str:
    """The member a flattened Query key ends in: ``Foo.member.1.Bar`` names ``Bar``."""
    for part in reversed(key.split(".")):
        if not part.isdigit() and part not in ("member", "entry", "item", "value", "key"):
            return part
    return key


def _shift_body(exchange: Exchange, fields: TimestampFields, delta: _dt.timedelta) -> tuple[Body, bool]:
    body = exchange.request.body
    if not fields.body or body.storage != "inline" or not body.size:
        return body, False
    if opaque_request(exchange.service, exchange.operation):
        return body, False
    try:
        text = body.read().decode("utf-8")
    except UnicodeDecodeError:
        return body, False
    stripped = text.lstrip()
    if stripped.startswith("<"):
        changed_text = _shift_xml(text, fields.body, delta)
    elif stripped.startswith("{"):
        changed_text = _shift_json(text, fields.body, delta)
    else:
        changed_text, _ = _shift_pairs(text, fields.body, delta)
    if changed_text == text:
        return body, False
    return Body.of(changed_text.encode("utf-8")), True


def _shift_xml(text: str, names: frozenset[str], delta: _dt.timedelta) -> str:
    pattern = re.compile(
        r"(<(?:[\w.-]+:)?(?P<tag>" + "|".join(re.escape(name) for name in names) + r")(?:\s[^>]*)?>)"
        r"(?P<value>[^<]*)(</)"
    )

    def replace(match: re.Match[str]) -> str:
        moved = shift_text(match.group("value"), delta)
        if moved is None:
            return match.group(0)
        return match.group(1) + moved + match.group(4)

    return pattern.sub(replace, text)


def _shift_json(text: str, names: frozenset[str], delta: _dt.timedelta) -> str:
    pattern = re.compile(
        r'("(?:' + "|".join(re.escape(name) for name in names) + r')"\s*:\s*)'
        r'(?P<value>"[^"\\]*"|-?\d+(?:\.\d+)?)'
    )

    def replace(match: re.Match[str]) -> str:
        raw = match.group("value")
        quoted = raw.startswith('"')
        moved = shift_text(raw.strip('"'), delta)
        if moved is None:
            return match.group(0)
        return match.group(1) + (f'"{moved}"' if quoted else moved)

    return pattern.sub(replace, text)
