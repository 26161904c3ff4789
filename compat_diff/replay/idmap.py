"""Ids the candidate generates: which recorded values later requests send back, and what the
candidate answered in their place.

Before any request is sent, :class:`DependencyIndex` scans the recording once: every value of a
recorded response (XML element text, JSON value, a few headers) that no earlier request already
contained, but some later request does, is a *generated* value that later calls depend on. The
index maps each request to the values it needs and where they came from, so the replay only looks
at what matters and the per-request cost stays a dictionary lookup.

During replay, :class:`IdMap` (one per target) pairs each needed recorded value with the
candidate's value at the same structural path of the same exchange's answer, and
:class:`Substituter` rewrites a later request with longest-first exact replacement, in the plain,
percent-encoded, XML- and JSON-escaped forms the value can take on the wire.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit
from xml.sax.saxutils import escape as xml_escape

from compat_diff.aws.redact import REDACTED
from compat_diff.model import Exchange, HttpRequest, HttpResponse

# Response headers whose values clients send back (Location of a created resource, versions, ETags).
VALUE_HEADERS = ("location", "x-amz-version-id", "etag", "x-amz-copy-source-version-id")
# Request headers that never carry a value taken from a response.
_SKIPPED_REQUEST_HEADERS = frozenset(
    {
        "authorization",
        "host",
        "date",
        "x-amz-date",
        "user-agent",
        "content-length",
        "x-amz-content-sha256",
        "x-amz-security-token",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "accept-encoding",
        "accept",
        "connection",
        "content-type",
        "expect",
    }
)
MAX_PARSED_BODY = 8 * 1024 * 1024
_TOKEN_SPLIT = re.compile(r"[\s\"'<>&=?,;{}\[\]()]+")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
# The redaction marker stands in for many different secrets: it is never one id.
_BORING = frozenset({"true", "false", "null", "none", "None", "True", "False", REDACTED})
# AWS id grammars: a value of these shapes is an id even when short.
ID_GRAMMAR = re.compile(
    r"^(?:(?:i|vol|sg|subnet|vpc|ami|snap|eni|igw|rtb|acl|eipalloc|eipassoc|nat|vpce|pcx|lt|key|dopt|"
    r"tgw|cgw|vgw|vpn|r|sir|fleet|spot|fpga|host|elb|ce)-[0-9a-f]{4,}|arn:[^\s]+)$"
)
_BOUNDARY_BEFORE = r"(?:(?<![A-Za-z0-9_-])|(?<=%[0-9A-Fa-f]{2}))"
_BOUNDARY_AFTER = r"(?![A-Za-z0-9_-])"


def interesting(value: str) -> bool:
    """Whether a response value could be an id a client sends back (the index decides the rest)."""
    if ID_GRAMMAR.match(value):
        return True
    if len(value) < 4 or len(value) > 4096 or value in _BORING:
        return False
    if value.isdigit() and len(value) < 8:
        return False
    return not _TIMESTAMP.match(value)


def strip_quotes(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if value.startswith('W/"') and value.endswith('"'):
        return value[3:-1]
    return value


# --------------------------------------------------------------------------------------------
# Reading values out of responses (with their structural path) and tokens out of requests.


def response_values(response: HttpResponse) -> list[tuple[str, str]]:
    """(path, value) for every value of a response a client might send back later."""
    found: list[tuple[str, str]] = []
    for name in VALUE_HEADERS:
        value = response.header(name)
        if value:
            found.append((f"header.{name}", strip_quotes(value)))
    found.extend(body_values(response.body.read() if _parseable(response.body) else b""))
    derived: list[tuple[str, str]] = []
    for path, value in found:
        # A URL's path travels on its own too (query-protocol SQS posts to the queue URL's path).
        if value.startswith(("http://", "https://")):
            url_path = urlsplit(value).path
            if len(url_path) > 1:
                derived.append((path + "#path", url_path))
    return [(path, value) for path, value in found + derived if interesting(value)]


def _parseable(body: Any) -> bool:
    return bool(body.available and 0 < body.size <= MAX_PARSED_BODY)


def body_values(data: bytes) -> list[tuple[str, str]]:
    text = data.lstrip()
    if not text:
        return []
    if text[:1] == b"<":
        return list(_xml_values(data))
    if text[:1] in (b"{", b"["):
        try:
            return list(_json_values(json.loads(data), "$"))
        except ValueError:
            return []
    return []


def _xml_values(data: bytes) -> Iterator[tuple[str, str]]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return
    yield from _walk_xml(root, "$." + _local(root.tag))


def _walk_xml(element: ET.Element, path: str) -> Iterator[tuple[str, str]]:
    children = list(element)
    if not children:
        if element.text and element.text.strip():
            yield path, strip_quotes(element.text)
        return
    seen: dict[str, int] = {}
    for child in children:
        tag = _local(child.tag)
        index = seen.get(tag, 0)
        seen[tag] = index + 1
        yield from _walk_xml(child, f"{path}.{tag}" + (f"[{index}]" if index else ""))


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _json_values(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_values(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_values(item, f"{path}[{index}]")
    elif isinstance(value, str):
        # Some ids end in a newline (Kinesis shard iterators); the client sends the id back as a token.
        yield path, value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, str(value)


def request_tokens(request: HttpRequest) -> set[str]:
    """Every string a request carries, decoded and split at delimiters that never occur inside ids."""
    strings: list[str] = []
    parts = urlsplit(request.url)
    path = unquote(parts.path)
    strings.append(path)
    strings.extend(segment for segment in path.split("/") if segment)
    strings.extend(value for _, value in parse_qsl(parts.query, keep_blank_values=False))
    for name, value in request.headers:
        if name.lower() not in _SKIPPED_REQUEST_HEADERS:
            strings.append(value)
            strings.append(unquote(value))
    if _parseable(request.body) and substitutable_body(request):
        data = request.body.read()
        content_type = (request.header("content-type") or "").lower()
        if "x-www-form-urlencoded" in content_type:
            strings.extend(
                value for _, value in parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=False)
            )
        else:
            strings.extend(value for _, value in body_values(data))
            if not strings or data.lstrip()[:1] not in (b"<", b"{", b"["):
                strings.append(data.decode("utf-8", "replace"))
    tokens: set[str] = set()
    for text in strings:
        if len(text) <= _REMEMBERED_TEXT:
            tokens.update(_remembered_tokens(text))
        else:
            _add_tokens(text, tokens)
    return tokens


# Header values and path segments repeat from call to call (user agents, buckets, dates), so the
# tokens of short texts are worked out once; the cache is bounded in entries and each entry's size.
_REMEMBERED_TEXT = 512


@lru_cache(maxsize=16384)
def _remembered_tokens(text: str) -> frozenset[str]:
    tokens: set[str] = set()
    _add_tokens(text, tokens)
    return frozenset(tokens)


def _add_tokens(text: str, tokens: set[str]) -> None:
    text = text.strip()
    if not text:
        return
    tokens.add(text)
    tokens.add(strip_quotes(text))
    for piece in _TOKEN_SPLIT.split(text):
        if not piece:
            continue
        tokens.add(piece)
        if "/" in piece or ":" in piece:
            tokens.update(part for part in re.split(r"[/:]", piece) if part)
            tokens.update(part for part in piece.split("/") if part)


def substitutable_body(request: HttpRequest) -> bool:
    """Whether a request body is API structure (form, JSON, XML) rather than opaque user data."""
    content_type = (request.header("content-type") or "").lower()
    if any(kind in content_type for kind in ("x-www-form-urlencoded", "json", "xml")):
        return True
    if content_type:
        return False
    # boto sends some XML bodies without a content type; a text body that looks structured counts.
    return request.body.is_text and request.body.size > 0


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Need:
    """A recorded value a request sends back, and the exchange whose response first produced it."""

    value: str
    origin: int


@dataclass
class DependencyIndex:
    """Which generated values each request of the recording needs, computed once before replay."""

    # seq -> values its response produced that some later request needs
    produced: dict[int, set[str]] = field(default_factory=dict)
    # seq -> what it needs, longest values first
    needs: dict[int, list[Need]] = field(default_factory=dict)

    @classmethod
    def build(cls, exchanges: Iterable[Exchange]) -> DependencyIndex:
        ordered = sorted(exchanges, key=lambda exchange: exchange.seq)
        first_in_request: dict[str, int] = {}
        tokens_by_seq: dict[int, set[str]] = {}
        for exchange in ordered:
            tokens = request_tokens(exchange.request)
            tokens_by_seq[exchange.seq] = tokens
            for token in tokens:
                first_in_request.setdefault(token, exchange.seq)
        origin: dict[str, int] = {}
        for exchange in ordered:
            for _, value in response_values(exchange.response):
                if value in origin:
                    continue
                first_sent = first_in_request.get(value)
                # Sent before (or by) the call that returned it: the client chose it, so it needs no mapping.
                if first_sent is None or first_sent <= exchange.seq:
                    continue
                origin[value] = exchange.seq
        index = cls()
        if not origin:
            return index
        for exchange in ordered:
            wanted = [
                Need(token, origin[token])
                for token in tokens_by_seq[exchange.seq]
                if token in origin and origin[token] < exchange.seq
            ]
            if wanted:
                wanted.sort(key=lambda need: (-len(need.value), need.value))
                index.needs[exchange.seq] = wanted
                for need in wanted:
                    index.produced.setdefault(need.origin, set()).add(need.value)
        return index

    def origins_of(self, seq: int) -> set[int]:
        return {need.origin for need in self.needs.get(seq, ())}


@dataclass(frozen=True, slots=True)
class Mapping:
    recorded: str
    candidate: str
    seq: int
    path: str


@dataclass
class IdMap:
    """What one target answered in place of each recorded generated value (evidence for idmap.json)."""

    index: DependencyIndex
    mappings: dict[str, Mapping] = field(default_factory=dict)
    # recorded values the candidate answered identically (nothing to substitute)
    same: set[str] = field(default_factory=set)
    # recorded value -> origin seq, for values the candidate never produced
    missing: dict[str, int] = field(default_factory=dict)
    unresolved: list[dict[str, Any]] = field(default_factory=list)

    def learn(self, seq: int, recorded: HttpResponse, candidate: HttpResponse | None) -> None:
        """Pair the values exchange ``seq`` produced with the candidate's answer to it."""
        wanted = self.index.produced.get(seq)
        if not wanted:
            return
        if candidate is None:
            for value in wanted:
                self._missing(value, seq)
            return
        recorded_values = response_values(recorded)
        candidate_by_path: dict[str, str] = {}
        by_leaf: dict[str, list[str]] = {}
        for path, value in response_values(candidate):
            candidate_by_path.setdefault(path, value)
            by_leaf.setdefault(_leaf(path), []).append(value)
        for path, value in recorded_values:
            if value not in wanted or value in self.mappings or value in self.same:
                continue
            answer = candidate_by_path.get(path)
            if answer is None:
                # Different wrapping on the candidate: accept a leaf of the same name if it is unambiguous.
                alternatives = by_leaf.get(_leaf(path), [])
                answer = alternatives[0] if len(set(alternatives)) == 1 else None
            if answer is None:
                continue
            self.missing.pop(value, None)
            if answer == value:
                self.same.add(value)
            else:
                self.mappings[value] = Mapping(value, answer, seq, path)
        for value in wanted:
            if value not in self.mappings and value not in self.same:
                self._missing(value, seq)

    def _missing(self, value: str, seq: int) -> None:
        self.missing.setdefault(value, seq)

    def known(self) -> dict[str, str]:
        """Every recorded value the candidate answered otherwise, with the candidate's value."""
        return {value: mapping.candidate for value, mapping in self.mappings.items()}

    def resolve(self, seq: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Replacements for request ``seq`` and the dependencies the candidate could not satisfy."""
        replacements: dict[str, str] = {}
        broken: list[dict[str, Any]] = []
        for need in self.index.needs.get(seq, ()):
            mapping = self.mappings.get(need.value)
            if mapping is not None:
                replacements[need.value] = mapping.candidate
            elif need.value not in self.same:
                broken.append({"seq": need.origin, "value": need.value})
                self.unresolved.append({"seq": seq, "value": need.value, "needed_from_seq": need.origin})
        return replacements, broken

    def evidence(self, target: str) -> dict[str, Any]:
        return {
            "format": "compat-diff/idmap",
            "version": 1,
            "target": target,
            "mappings": [
                {"recorded": m.recorded, "candidate": m.candidate, "seq": m.seq, "path": m.path}
                for m in sorted(self.mappings.values(), key=lambda m: (m.seq, m.path))
            ],
            "unresolved": sorted(self.unresolved, key=lambda item: (item["seq"], item["value"])),
        }


def _leaf(path: str) -> str:
    leaf = path.rsplit(".", 1)[-1]
    return leaf.split("[", 1)[0]


# --------------------------------------------------------------------------------------------


class Substituter:
    """Longest-first exact replacement of recorded values, in every form they take on the wire."""

    def __init__(self, replacements: dict[str, str]) -> None:
        forms: dict[str, str] = {}
        for recorded, candidate in replacements.items():
            for encode in _ENCODINGS:
                before, after = encode(recorded), encode(candidate)
                if before and before not in forms:
                    forms[before] = after
        self._forms = forms
        self._pattern = (
            re.compile(
                _BOUNDARY_BEFORE
                + "(?:"
                + "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
                + ")"
                + _BOUNDARY_AFTER
            )
            if forms
            else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(lambda match: self._forms[match.group(0)], value)

    def data(self, value: bytes) -> bytes:
        if self._pattern is None:
            return value
        try:
            decoded = value.decode("utf-8")
        except UnicodeDecodeError:
            return value
        return self.text(decoded).encode("utf-8")


def _json_escape(value: str) -> str:
    return json.dumps(value)[1:-1]


_ENCODINGS = (
    lambda value: value,
    lambda value: quote(value, safe="-_.~"),
    lambda value: quote(value, safe="-_.~/"),
    lambda value: quote_plus(value, safe="-_.~"),
    lambda value: xml_escape(value, {'"': "&quot;"}),
    _json_escape,
)
