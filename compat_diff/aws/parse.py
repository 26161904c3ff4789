"""Parsing recorded answers into what a client sees, with botocore's own parsers (the only place we do).

A response becomes the dictionary botocore would hand to a program: the operation's output members,
``Error`` (code, message, type) for an error, and ``ResponseMetadata`` holding the raw facts a client
notices beside the parsed view: status code, content type family, unmodeled headers clients read,
and body integrity checks a client verifies (``x-amz-crc32``, ``x-amz-checksum-*``, ETag and
Content-MD5). Timestamps stay as their wire text (marked :class:`TimestampText`) so a format change
stays visible, blobs stay as their base64 text, and streamed payloads (S3 object bodies) become
``{"sha256", "length"}`` of the raw bytes. Without a model the body is compared by generic
XML/JSON structure, and the result says so.

botocore's parsers are used through thin subclasses that give the same result faster: modeled
headers are looked up from the headers present, each XML structure's member layout is worked out
once per shape, JSON is read with orjson where that reads it identically, and the copy of all
headers botocore adds to a successful answer's metadata is not made (only its request ids are kept).
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from dataclasses import dataclass
from functools import cache
from typing import Any
from xml.etree import ElementTree

import botocore.model
import orjson
from botocore.parsers import (
    PROTOCOL_PARSERS,
    EC2QueryParser,
    JSONParser,
    QueryParser,
    ResponseParserError,
    RestJSONParser,
    RestXMLParser,
)

from compat_diff.aws.customize import after_call, before_parse
from compat_diff.aws.models import service_model
from compat_diff.model import HttpRequest, HttpResponse, OperationRef, TimestampText, client_header_text

_JSON_PROTOCOLS = frozenset({"json", "rest-json"})
_XML_PROTOCOLS = frozenset({"query", "ec2", "rest-xml"})
# Unmodeled response headers a client reads; modeled ones already appear as output members.
_CLIENT_HEADERS = ("x-amzn-errortype", "x-amzn-query-error")
# Headers that carry semantics for HTTP clients, browsers and caches whether or not the
# operation's model names them (a 304's ETag, a CORS answer's Access-Control-Allow-Origin, a
# redirect's Location and x-amz-bucket-region, a throttle's Retry-After). They are compared under
# ``ResponseMetadata.HTTPHeaders`` unless the answer already parsed them as output members.
SEMANTIC_HEADERS = (
    "etag",
    "location",
    "content-range",
    "cache-control",
    "retry-after",
    "x-amz-bucket-region",
)
SEMANTIC_HEADER_PREFIXES = ("access-control-",)
_CHECKSUMS = {"crc32": "crc32", "sha1": "sha1", "sha256": "sha256"}


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """One response as a client sees it.

    ``tree`` is the view that normalizers and the comparison work on; ``problem`` is set (and
    ``tree`` holds only the metadata) when the body does not parse; ``generic`` is True when no
    API model was available and the body was read as plain XML or JSON.
    """

    tree: dict[str, Any]
    status: int
    is_error: bool
    generic: bool = False
    problem: str | None = None


def parse_answer(
    response: HttpResponse, op: OperationRef, request: HttpRequest | None = None
) -> ParsedAnswer:
    """Parse one response for the operation ``op`` (its protocol as recorded, else the model's)."""
    status = response.status
    is_error = status >= 300
    operation_model = _operation_model(op.service, op.operation)
    headers = _HeaderViews(response)
    metadata = _metadata(response, request, op, headers)
    if operation_model is None:
        return _generic(response, status, is_error, metadata)
    protocol = op.protocol if op.protocol in PROTOCOL_PARSERS else operation_model.metadata.get("protocol")
    if not isinstance(protocol, str) or protocol not in PROTOCOL_PARSERS:
        return _generic(response, status, is_error, metadata)
    try:
        raw = response.body.read() if response.body.available else b""
    except (LookupError, OSError) as error:
        return ParsedAnswer(
            {"ResponseMetadata": metadata}, status, is_error, problem=f"body unavailable: {error}"
        )
    output_shape = operation_model.output_shape
    payload = _streaming_payload(output_shape) if not is_error else None
    problem = _syntax_problem(raw, protocol, is_error, payload is not None)
    if problem is not None:
        return ParsedAnswer({"ResponseMetadata": metadata}, status, is_error, problem=problem)
    parser = _parser(protocol)
    wire: dict[str, Any] = {
        "status_code": status,
        "headers": headers.joined,
        "body": b"" if payload is not None else raw,
    }
    try:
        customized = before_parse(operation_model, wire)
        parsed = parser.parse(wire, output_shape)
        if isinstance(parsed, dict):
            parsed.update(customized)
            if not is_error:
                after_call(operation_model, parsed, status, headers.joined, wire["body"])
    except (ResponseParserError, ValueError, KeyError, TypeError, AttributeError, SyntaxError) as error:
        return ParsedAnswer({"ResponseMetadata": metadata}, status, is_error, problem=_reason(error))
    if not isinstance(parsed, dict):
        parsed = {"Output": parsed}
    tree = dict(parsed)
    if payload is not None:
        tree[payload] = _digest_view(response)
    botocore_meta = tree.pop("ResponseMetadata", None) or {}
    for key in ("RequestId", "HostId"):
        if botocore_meta.get(key):
            metadata[key] = botocore_meta[key]
    tree["ResponseMetadata"] = metadata
    return ParsedAnswer(tree, status, is_error)


@cache
def _operation_model(service: str | None, operation: str | None) -> botocore.model.OperationModel | None:
    if not service or not operation:
        return None
    try:
        return service_model(service).operation_model(operation)
    except Exception:
        # Unknown service or operation (botocore raises several types): compare generically.
        return None


@cache
def _parser(protocol: str) -> Any:
    parser_class = _FAST_PARSERS.get(protocol) or PROTOCOL_PARSERS[protocol]
    return parser_class(timestamp_parser=_keep_timestamp, blob_parser=_keep_blob)


@dataclass(frozen=True, slots=True)
class _HeaderPlan:
    """The output members a REST answer carries outside its body, indexed by header name.

    ``kept`` holds the shape so its id, the cache key, cannot be reused while the plan is cached.
    """

    kept: Any
    by_header: dict[str, tuple[tuple[int, str, Any], ...]]
    other: tuple[tuple[int, str, Any, str], ...]


_HEADER_PLANS: dict[int, _HeaderPlan] = {}


def _header_plan(shape: Any) -> _HeaderPlan:
    plan = _HEADER_PLANS.get(id(shape))
    if plan is not None and plan.kept is shape:
        return plan
    by_header: dict[str, list[tuple[int, str, Any]]] = {}
    other: list[tuple[int, str, Any, str]] = []
    for index, (name, member_shape) in enumerate(shape.members.items()):
        location = member_shape.serialization.get("location")
        if location == "header":
            header = member_shape.serialization.get("name", name).lower()
            by_header.setdefault(header, []).append((index, name, member_shape))
        elif location in ("statusCode", "headers"):
            other.append((index, name, member_shape, location))
    plan = _HeaderPlan(shape, {k: tuple(v) for k, v in by_header.items()}, tuple(other))
    if len(_HEADER_PLANS) > 1024:
        _HEADER_PLANS.clear()
    _HEADER_PLANS[id(shape)] = plan
    return plan


class _HeaderIndexMixin:
    """botocore's REST parsers, reading modeled headers by looking up the headers present.

    botocore asks the answer for every header member of the output shape (about 50 for S3
    ``GetObject``); an answer carries a handful, so the members are looked up from the answer's
    headers instead. Members are parsed and stored in model order, as botocore does, so the
    result (and the first error, if a header value does not parse) is the same.
    """

    def _parse_non_payload_attrs(
        self, response: dict[str, Any], shape: Any, member_shapes: Any, final_parsed: dict[str, Any]
    ) -> None:
        headers = response["headers"]
        if not isinstance(headers, _Headers):
            # Only our lower-cased header dict can be iterated for its names directly.
            super()._parse_non_payload_attrs(response, shape, member_shapes, final_parsed)  # type: ignore[misc]
            return
        plan = _header_plan(shape)
        found: list[tuple[int, str, Any, str, Any]] = [
            (index, name, member_shape, location, None) for index, name, member_shape, location in plan.other
        ]
        by_header = plan.by_header
        for header in dict.keys(headers):
            members = by_header.get(header)
            if members:
                for index, name, member_shape in members:
                    found.append((index, name, member_shape, "header", dict.__getitem__(headers, header)))
        if len(found) > 1:
            found.sort(key=lambda item: item[0])
        parse_shape = self._parse_shape  # type: ignore[attr-defined]
        for _, name, member_shape, location, value in found:
            if location == "header":
                final_parsed[name] = parse_shape(member_shape, value)
            elif location == "statusCode":
                final_parsed[name] = parse_shape(member_shape, response["status_code"])
            else:
                final_parsed[name] = self._parse_header_map(member_shape, headers)  # type: ignore[attr-defined]


# orjson reads an integer past 64 bits as a float, losing the digits that could differ; a body
# with 19 digits in a row (a long number, or digits in a string) is left to the json module.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


class _OrjsonBodyMixin:
    """botocore's JSON body reading with orjson, which accepts no text the json module rejects.

    A body orjson refuses (NaN ...) or may read differently (long numbers) goes to botocore's
    own reading, so every body ends up as botocore would read it.
    """

    def _parse_body_as_json(self, body_contents: bytes) -> Any:
        if body_contents and not _LONG_DIGITS.search(body_contents):
            try:
                return orjson.loads(body_contents)
            except orjson.JSONDecodeError:
                pass
        return super()._parse_body_as_json(body_contents)  # type: ignore[misc]


# Element tags are few (the model's names, with or without a namespace); past this many distinct
# ones an answer full of unexpected elements stops growing the caches.
_XML_CACHE_LIMIT = 4096


class _XMLStructureMixin:
    """botocore's XML structure reading, with each structure shape's member layout worked out once.

    botocore recomputes, for every structure element of every answer, which members are in the
    body and under which element name. That depends on the shape alone, so it is kept per shape;
    the members are then read exactly as botocore reads them, in the same order. Stripping the
    namespace from a tag is likewise remembered per tag.
    """

    _namespace_re: re.Pattern[str]

    def _node_tag(self, node: Any) -> str:
        tags: dict[Any, str] = self.__dict__.setdefault("_tag_names", {})
        tag = node.tag
        name = tags.get(tag)
        if name is None:
            name = self._namespace_re.sub("", tag)
            if len(tags) < _XML_CACHE_LIMIT:
                tags[tag] = name
        return name

    def _structure_layout(self, shape: Any) -> tuple[tuple[str, Any, str, Any], ...]:
        layouts: dict[int, tuple[Any, tuple[tuple[str, Any, str, Any], ...]]]
        layouts = self.__dict__.setdefault("_layouts", {})
        found = layouts.get(id(shape))
        if found is not None and found[0] is shape:
            return found[1]
        members = []
        for member_name, member_shape in shape.members.items():
            serialization = member_shape.serialization
            if (
                serialization.get("location") in self.KNOWN_LOCATIONS  # type: ignore[attr-defined]
                or serialization.get("eventheader")
            ):
                continue
            xml_name = self._member_key_name(member_shape, member_name)  # type: ignore[attr-defined]
            # An attribute's name is read where botocore reads it: when its element is absent.
            attribute = serialization if serialization.get("xmlAttribute") else None
            members.append((member_name, member_shape, xml_name, attribute))
        layout = tuple(members)
        if len(layouts) < _XML_CACHE_LIMIT:
            # The shape is kept with its layout so its id cannot be reused while cached.
            layouts[id(shape)] = (shape, layout)
        return layout

    def _handle_structure(self, shape: Any, node: Any) -> Any:
        parsed: dict[str, Any] = {}
        if shape.metadata.get("exception", False):
            node = self._get_error_root(node)  # type: ignore[attr-defined]
        xml_dict = self._build_name_to_xml_node(node)  # type: ignore[attr-defined]
        if self._has_unknown_tagged_union_member(shape, xml_dict):  # type: ignore[attr-defined]
            tag = self._get_first_key(xml_dict)  # type: ignore[attr-defined]
            return self._handle_unknown_tagged_union_member(tag)  # type: ignore[attr-defined]
        parse_shape = self._parse_shape  # type: ignore[attr-defined]
        for member_name, member_shape, xml_name, attribute in self._structure_layout(shape):
            member_node = xml_dict.get(xml_name)
            if member_node is not None:
                parsed[member_name] = parse_shape(member_shape, member_node)
            elif attribute is not None:
                name = attribute["name"]
                prefix = name.split(":")[0] + ":"
                attributes = {
                    self._namespace_re.sub(prefix, key): value for key, value in node.attrib.items()
                }
                if name in attributes:
                    parsed[member_name] = attributes[name]
        return parsed


class _SuccessMetadataMixin:
    """botocore's ``parse`` for a successful answer, without the copy of every header it adds.

    botocore stores a lower-cased copy of all headers as ``ResponseMetadata.HTTPHeaders``;
    ``parse_answer`` keeps only ``RequestId`` and ``HostId`` of that metadata (the headers a
    client reads are taken from the answer itself), so the copy is not made. Error answers take
    botocore's path unchanged.
    """

    def parse(self, response: dict[str, Any], shape: Any) -> Any:
        if response["status_code"] >= 301:
            return super().parse(response, shape)  # type: ignore[misc]
        parsed = self._do_parse(response, shape)  # type: ignore[attr-defined]
        if shape is not None and shape.serialization.get("eventstream"):
            return parsed
        if isinstance(parsed, dict):
            metadata = parsed.get("ResponseMetadata", {})
            metadata["HTTPStatusCode"] = response["status_code"]
            parsed["ResponseMetadata"] = metadata
        return parsed


class _RestXMLParser(_SuccessMetadataMixin, _XMLStructureMixin, _HeaderIndexMixin, RestXMLParser):
    pass


class _RestJSONParser(_SuccessMetadataMixin, _OrjsonBodyMixin, _HeaderIndexMixin, RestJSONParser):
    pass


class _JSONParser(_SuccessMetadataMixin, _OrjsonBodyMixin, JSONParser):
    pass


class _QueryParser(_SuccessMetadataMixin, _XMLStructureMixin, QueryParser):
    pass


class _EC2QueryParser(_SuccessMetadataMixin, _XMLStructureMixin, EC2QueryParser):
    pass


_FAST_PARSERS: dict[str, type] = {
    "rest-xml": _RestXMLParser,
    "rest-json": _RestJSONParser,
    "json": _JSONParser,
    "query": _QueryParser,
    "ec2": _EC2QueryParser,
}


def _keep_timestamp(value: Any) -> TimestampText:
    return TimestampText(value if isinstance(value, str) else repr(value))


def _keep_blob(value: Any) -> Any:
    return value


class _Headers(dict[str, str]):
    """Case-insensitive headers for botocore's parsers, as a plain dict with lower-case keys.

    botocore only reads headers (``in``, ``[]``, ``get``, iteration); a dict keeps those at C
    speed, where botocore's own HeadersDict costs more than the parsing itself for small answers.
    """

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)

    def __delitem__(self, name: str) -> None:
        dict.__delitem__(self, name.lower())


class _HeaderViews:
    """An answer's headers by lower-case name, read in one pass for every consumer.

    ``joined`` is what a client sees (repeated headers joined, as http.client joins them),
    ``first`` what ``HttpResponse.header`` answers, ``last`` the value a later duplicate leaves.
    """

    __slots__ = ("first", "joined", "last")

    def __init__(self, response: HttpResponse) -> None:
        joined = _Headers()
        first: dict[str, str] = {}
        last: dict[str, str] = {}
        for name, raw in response.headers:
            key = name.lower()
            # What a client reads: http.client gives botocore one character per byte.
            value = raw if raw.isascii() else client_header_text(raw)
            if key in first:
                dict.__setitem__(joined, key, dict.__getitem__(joined, key) + ", " + value)
            else:
                dict.__setitem__(joined, key, value)
                first[key] = value
            last[key] = value
        self.joined = joined
        self.first = first
        self.last = last


def _streaming_payload(shape: botocore.model.Shape | None) -> str | None:
    """The member holding a raw payload (a stream or a blob/string body), if the output has one."""
    if shape is None or not isinstance(shape, botocore.model.StructureShape):
        return None
    member = shape.serialization.get("payload")
    if member is None or member not in shape.members:
        return None
    if shape.members[member].type_name in ("blob", "string"):
        return str(member)
    return None


def _digest_view(response: HttpResponse) -> dict[str, Any]:
    body = response.body
    if not body.available:
        return {"sha256": body.sha256, "length": body.size}
    digest = hashlib.sha256()
    length = 0
    for chunk in body.iter_chunks():
        digest.update(chunk)
        length += len(chunk)
    return {"sha256": digest.hexdigest(), "length": length}


def _syntax_problem(raw: bytes, protocol: str, is_error: bool, streaming: bool) -> str | None:
    """Why a body is not the JSON/XML its protocol promises (botocore would silently read it as empty)."""
    if streaming or not raw.strip():
        return None
    if protocol in _JSON_PROTOCOLS:
        try:
            orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            return f"body is not JSON: {error}"
        return None
    if protocol in _XML_PROTOCOLS and is_error:
        # botocore falls back to the status code for an error body it cannot read, hiding the problem.
        if raw.lstrip()[:6].lower() == b"<html>":
            return None
        try:
            ElementTree.fromstring(raw)
        except ElementTree.ParseError as error:
            return f"body is not XML: {error}"
    return None


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return f"{type(error).__name__}: {first}"[:300]


# ---------------------------------------------------------------------------------------------
# Raw facts beside the parsed view


def content_family(content_type: str | None) -> str | None:
    if not content_type:
        return None
    main = content_type.split(";", 1)[0].strip().lower()
    if "json" in main:
        return "json"
    if "xml" in main:
        return "xml"
    if "cbor" in main:
        return "cbor"
    if main.startswith("text/html"):
        return "html"
    if main.startswith("text/"):
        return "text"
    return main or None


def _metadata(
    response: HttpResponse, request: HttpRequest | None, op: OperationRef, views: _HeaderViews
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"HTTPStatusCode": response.status}
    body_available = response.body.available and bool(response.body.size or response.body.inline)
    content_type = views.first.get("content-type")
    if body_available or content_type:
        family = content_family(content_type)
        if family is not None:
            metadata["ContentType"] = family
    first = views.first
    headers = {name: value for name in _CLIENT_HEADERS if (value := first.get(name)) is not None}
    headers.update(_semantic_headers(response, request, op, views))
    if headers:
        metadata["HTTPHeaders"] = headers
    integrity = _integrity(response, request, op, views.last)
    if integrity:
        metadata["Integrity"] = integrity
    return metadata


def _semantic_headers(
    response: HttpResponse, request: HttpRequest | None, op: OperationRef, views: _HeaderViews
) -> dict[str, str]:
    """The semantic headers present (joined, as a client reads them), minus the members the
    operation's output parses from headers on a successful answer (compared there already)."""
    # CORS headers answer a CORS request (one with an Origin): elsewhere a server may send them
    # or not (moto sends them on every answer, AWS does not), and no client looks.
    cors = request is not None and request.header("origin") is not None
    found = {
        name: value
        for name, value in views.joined.items()
        if name in SEMANTIC_HEADERS or (cors and name.startswith(SEMANTIC_HEADER_PREFIXES))
    }
    if not found or response.status >= 300:
        return found
    operation_model = _operation_model(op.service, op.operation)
    output = operation_model.output_shape if operation_model is not None else None
    if isinstance(output, botocore.model.StructureShape):
        modeled = _header_plan(output).by_header
        found = {name: value for name, value in found.items() if name not in modeled}
    return found


def _integrity(
    response: HttpResponse, request: HttpRequest | None, op: OperationRef, names: dict[str, str]
) -> dict[str, str]:
    """Checks a client makes on the raw bytes: 'ok' or 'mismatch' per header present (last value)."""
    checks: dict[str, str] = {}
    body = response.body
    wanted = [
        name
        for name in names
        if name == "x-amz-crc32" or name == "content-md5" or name.startswith("x-amz-checksum-")
    ]
    uploaded = op.operation in ("PutObject", "UploadPart") and request is not None
    downloaded = op.operation == "GetObject" and response.status == 200
    if "etag" in names and (uploaded or downloaded):
        wanted.append("etag")
    if not wanted:
        return checks
    if not body.available:
        return {name: "unverified" for name in wanted}
    data = body.read()
    payload = _checksummed_payload(response, request, op)
    for name in wanted:
        value = names[name].strip()
        if name == "x-amz-crc32":
            checks[name] = _verdict(value == str(zlib.crc32(data) & 0xFFFFFFFF))
        elif name == "content-md5":
            checks[name] = _verdict(value == base64.b64encode(hashlib.md5(data).digest()).decode())
        elif name.startswith("x-amz-checksum-"):
            algorithm = name.removeprefix("x-amz-checksum-")
            if algorithm == "type" or algorithm == "mode":
                continue
            checks[name] = (
                "unverified" if payload is None else _checksum(algorithm, value, payload, response.status)
            )
        elif name == "etag":
            checks[name] = _etag(value, request, data, op.operation)
    return checks


def _checksummed_payload(
    response: HttpResponse, request: HttpRequest | None, op: OperationRef
) -> bytes | None:
    """The bytes an answer's x-amz-checksum-* header describes, when the exchange carries them.

    The header speaks of the object's payload: the answer's body when the output streams it
    (GetObject), the request's body when the input streams it (PutObject, UploadPart), and
    nothing present in the exchange otherwise (HeadObject, CopyObject: the stored object).
    """
    model = _operation_model(op.service, op.operation)
    if model is None:
        return response.body.read()
    if _streams(model.output_shape):
        return response.body.read()
    if _streams(model.input_shape) and request is not None and request.body.available:
        if "aws-chunked" in (request.header("content-encoding") or "").lower():
            return None
        return request.body.read()
    return None


def _streams(shape: botocore.model.Shape | None) -> bool:
    if not isinstance(shape, botocore.model.StructureShape):
        return False
    payload = shape.serialization.get("payload")
    return bool(payload and shape.members[payload].type_name == "blob")


def _verdict(ok: bool) -> str:
    return "ok" if ok else "mismatch"


def _checksum(algorithm: str, value: str, data: bytes, status: int) -> str:
    if "-" in value:
        return "composite"
    if status == 206 or algorithm not in _CHECKSUMS:
        return "unverified"
    if algorithm == "crc32":
        digest = (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    else:
        digest = hashlib.new(algorithm, data).digest()
    return _verdict(base64.b64encode(digest).decode() == value)


def _etag(value: str, request: HttpRequest | None, data: bytes, operation: str | None) -> str:
    etag = value.strip('"').lower()
    if "-" in etag:
        return "multipart"
    if operation in ("PutObject", "UploadPart"):
        if request is None or not request.body.available:
            return "unverified"
        if "aws-chunked" in (request.header("content-encoding") or "").lower():
            return "unverified"
        data = request.body.read()
    return _verdict(etag == hashlib.md5(data).hexdigest())


# ---------------------------------------------------------------------------------------------
# Without a model


def _generic(response: HttpResponse, status: int, is_error: bool, metadata: dict[str, Any]) -> ParsedAnswer:
    if not response.body.available:
        tree = {"Body": _digest_view(response), "ResponseMetadata": metadata}
        return ParsedAnswer(tree, status, is_error, generic=True)
    raw = response.body.read()
    family = metadata.get("ContentType")
    stripped = raw.strip()
    body: Any
    if not stripped:
        body = None
    elif family == "json" or stripped[:1] in (b"{", b"["):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            if family == "json":
                return ParsedAnswer(
                    {"ResponseMetadata": metadata},
                    status,
                    is_error,
                    generic=True,
                    problem=f"body is not JSON: {error}",
                )
            body = _digest_view(response)
    elif family == "xml" or stripped[:1] == b"<":
        try:
            root = ElementTree.fromstring(raw)
        except ElementTree.ParseError as error:
            if family == "xml":
                return ParsedAnswer(
                    {"ResponseMetadata": metadata},
                    status,
                    is_error,
                    generic=True,
                    problem=f"body is not XML: {error}",
                )
            body = _digest_view(response)
        else:
            body = {_local(root.tag): _xml_value(root)}
    else:
        body = _digest_view(response)
    tree = {"Body": body, "ResponseMetadata": metadata}
    return ParsedAnswer(tree, status, is_error, generic=True)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_value(node: ElementTree.Element) -> Any:
    children = list(node)
    if not children:
        return (node.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        name = _local(child.tag)
        value = _xml_value(child)
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def model_declares(service: str | None, operation: str | None, keys: tuple[str | int, ...]) -> bool:
    """Whether the operation's output model names a member at ``keys`` (a path of the parsed view).

    List positions and map keys follow the list's or map's member shape; a member name must be one
    the model declares. False without a model, or under ``ResponseMetadata`` and ``Error``.
    """
    operation_model = _operation_model(service, operation)
    if operation_model is None or not keys or keys[0] in ("ResponseMetadata", "Error"):
        return False
    shape: botocore.model.Shape | None = operation_model.output_shape
    named = False
    for key in keys:
        named = False
        if isinstance(shape, botocore.model.StructureShape):
            if not isinstance(key, str) or key not in shape.members:
                return False
            shape = shape.members[key]
            named = True
        elif isinstance(shape, botocore.model.ListShape):
            if not isinstance(key, int):
                return False
            shape = shape.member
        elif isinstance(shape, botocore.model.MapShape):
            if not isinstance(key, str):
                return False
            shape = shape.value
        else:
            return False
    # Only a named member counts: an extra list item or map entry is no member the model promises.
    return named
