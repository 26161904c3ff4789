"""Questions the replay asks the service models about a request's parameters.

- Which request fields carry absolute times (timestamp shapes, in headers, the query string and
  bodies), so a replay can shift them by the time elapsed since the recording.
- Which operations create a named resource that a matching ``Delete*`` operation removes, which
  request members name it, and how long such a name may be, so a replay can give every resource
  it creates a run-scoped name and delete it afterwards.
- How a recorded request's parameters are read back (a small, read-only request parser for the
  protocols the recorder sees), and whether an answer's body is opaque user data.

Everything is derived from the botocore models; nothing here names a service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import botocore.model

from compat_diff.aws.models import has_service, service_model

# HTTP headers that carry an absolute date whatever the operation (RFC 9110 conditional requests).
HTTP_DATE_HEADERS = frozenset({"if-modified-since", "if-unmodified-since"})
# Names longer than this are cut even when the model sets no limit (a DNS label's limit, which S3
# bucket names share; every other service allows at least this many characters for its names).
DEFAULT_NAME_LIMIT = 63


@dataclass(frozen=True)
class TimestampFields:
    """Where an operation's request carries timestamps, by the names they take on the wire."""

    headers: frozenset[str]  # lower case
    query: frozenset[str]
    body: frozenset[str]  # member names, locationNames and queryNames of body members

    def __bool__(self) -> bool:
        return bool(self.headers or self.query or self.body)


@cache
def timestamp_fields(service: str | None, operation: str | None) -> TimestampFields:
    shape = _input_shape(service, operation)
    headers: set[str] = set(HTTP_DATE_HEADERS)
    query: set[str] = set()
    body: set[str] = set()
    if shape is not None:
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if member.type_name == "timestamp":
                if location == "header":
                    headers.add(wire.lower())
                elif location == "querystring":
                    query.add(wire)
        for member_name, member in _walk_members(shape):
            if member.type_name == "timestamp" and member.serialization.get("location") is None:
                body.update(_wire_names(member_name, member))
    return TimestampFields(frozenset(headers), frozenset(query), frozenset(body))


def _wire_names(member_name: str, member: botocore.model.Shape) -> set[str]:
    names = {member_name}
    for key in ("name", "queryName"):
        value = member.serialization.get(key)
        if value:
            names.add(value)
    return names


def _walk_members(shape: botocore.model.Shape) -> Iterator[tuple[str, botocore.model.Shape]]:
    """Every (member name, member shape) reachable from ``shape``, each shape visited once."""
    seen: set[str] = set()
    stack = [shape]
    while stack:
        current = stack.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        if isinstance(current, botocore.model.StructureShape):
            for name, member in current.members.items():
                yield name, member
                stack.append(member)
        elif isinstance(current, botocore.model.ListShape):
            stack.append(current.member)
        elif isinstance(current, botocore.model.MapShape):
            stack.append(current.key)
            stack.append(current.value)


def _input_shape(service: str | None, operation: str | None) -> botocore.model.StructureShape | None:
    if not service or not operation or not has_service(service):
        return None
    try:
        model = service_model(service).operation_model(operation)
    except Exception:  # an operation this botocore does not know
        return None
    shape = model.input_shape
    return shape if isinstance(shape, botocore.model.StructureShape) else None


def input_shape(service: str | None, operation: str | None) -> botocore.model.StructureShape | None:
    """The input shape of ``operation``, or None when the model does not know it."""
    return _input_shape(service, operation)


def _output_shape(service: str | None, operation: str | None) -> botocore.model.StructureShape | None:
    if not service or not operation or not has_service(service):
        return None
    try:
        shape = service_model(service).operation_model(operation).output_shape
    except Exception:
        return None
    return shape if isinstance(shape, botocore.model.StructureShape) else None


def opaque_answer(service: str | None, operation: str | None) -> bool:
    """Whether an answer's body is user data (an object's content), never API structure."""
    shape = _output_shape(service, operation)
    if shape is None:
        return False
    payload = shape.serialization.get("payload")
    if not payload or payload not in shape.members:
        return False
    # A string payload (a bucket policy) is API text; only blobs are user data.
    return shape.members[payload].type_name == "blob"


def opaque_request(service: str | None, operation: str | None) -> bool:
    """Whether a request's body is user data (an object's content), never API structure."""
    shape = _input_shape(service, operation)
    if shape is None:
        return False
    payload = shape.serialization.get("payload")
    if not payload or payload not in shape.members:
        return False
    # A string payload (a bucket policy) is API text; only blobs are user data.
    return shape.members[payload].type_name == "blob"


# --------------------------------------------------------------------------------------------
# Create/delete pairs and the members that name what a create makes.


@dataclass(frozen=True)
class CreatePair:
    """A ``Create<X>`` operation, its ``Delete<X>``, and the members naming the resource."""

    create: str
    delete: str
    # Members of the create's input the client chose the resource's name with.
    name_members: tuple[str, ...]
    # Required members of the delete's input (filled from the create's request or answer).
    delete_required: tuple[str, ...]
    # The longest name each name member allows (the model's max, else DEFAULT_NAME_LIMIT).
    limits: tuple[int, ...]


@cache
def create_pair(service: str | None, operation: str | None) -> CreatePair | None:
    """The create/delete pair ``operation`` opens in ``service``, when it is one."""
    if not operation or not operation.startswith("Create"):
        return None
    shape = _input_shape(service, operation)
    if shape is None or service is None:
        return None
    delete = "Delete" + operation[len("Create") :]
    if delete not in service_model(service).operation_names:
        return None
    delete_shape = _input_shape(service, delete)
    delete_members = set(delete_shape.members) if delete_shape is not None else set()
    required = list(shape.required_members)
    names: list[str] = []
    limits: list[int] = []
    for member_name in required:
        member = shape.members[member_name]
        if member.type_name != "string" or member.enum:
            continue
        # A name the client chooses: not an ARN, URL or id of something that already exists.
        refers = member_name.endswith(("Arn", "ARN", "Url", "URL", "Id", "ID"))
        if not refers and (
            member_name in delete_members or member_name.endswith("Name") or member_name == "Bucket"
        ):
            names.append(member_name)
            maximum = member.metadata.get("max")
            limits.append(int(maximum) if isinstance(maximum, int) else DEFAULT_NAME_LIMIT)
    if not names:
        return None
    delete_required = tuple(delete_shape.required_members) if delete_shape is not None else ()
    return CreatePair(operation, delete, tuple(names), delete_required, tuple(limits))


@cache
def operation_protocol(service: str) -> str:
    protocol: str = service_model(service).metadata.get("protocol", "")
    return protocol


# --------------------------------------------------------------------------------------------
# Reading a recorded request's top-level parameters back.


def request_parameters(
    service: str | None,
    operation: str | None,
    method: str,
    url: str,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
    bucket_from_host: str | None = None,
) -> dict[str, str]:
    """The top-level string parameters of a recorded request, by member name.

    ``bucket_from_host`` is the bucket a virtual-host style S3 request named in its host, which is
    put back in front of the path so the model's URI template matches.
    """
    shape = _input_shape(service, operation)
    if shape is None or service is None or operation is None:
        return {}
    protocol = operation_protocol(service)
    parts = urlsplit(url)
    path = parts.path or "/"
    if bucket_from_host:
        path = "/" + bucket_from_host + (path if path.startswith("/") else "/" + path)
    found: dict[str, str] = {}
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if protocol in ("rest-xml", "rest-json"):
        uri_values = _uri_values(service, operation, path)
        lowered = {name.lower(): value for name, value in headers}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri" and wire in uri_values:
                found[name] = uri_values[wire]
            elif location == "querystring" and wire in query:
                found[name] = query[wire]
            elif location == "header" and wire.lower() in lowered:
                found[name] = lowered[wire.lower()]
        if protocol == "rest-json" and body[:1] == b"{":
            found.update(_json_strings(body, shape))
        return found
    if protocol == "json":
        return _json_strings(body, shape) if body[:1] == b"{" else {}
    # query and ec2: form body (or query string)
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)) if body else {}
    form.update({key: value for key, value in query.items() if key not in form})
    for name, member in shape.members.items():
        for wire in _wire_names(name, member) | {name[:1].upper() + name[1:]}:
            if wire in form:
                found[name] = form[wire]
                break
    return found


def _json_strings(body: bytes, shape: botocore.model.StructureShape) -> dict[str, str]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    found = {}
    for name, member in shape.members.items():
        wire = member.serialization.get("name", name)
        value = document.get(wire)
        if isinstance(value, str):
            found[name] = value
    return found


@cache
def _uri_pattern(service: str, operation: str) -> re.Pattern[str] | None:
    http = service_model(service).operation_model(operation).http
    template = http.get("requestUri", "/").split("?", 1)[0]
    pattern = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{") and piece.endswith("}"):
            label = piece[1:-1]
            greedy = label.endswith("+")
            label = label.rstrip("+")
            group = re.sub(r"\W", "_", label)
            pattern += f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)"
        else:
            pattern += re.escape(piece)
    try:
        return re.compile(pattern + "/?$")
    except re.error:
        return None


def _uri_values(service: str, operation: str, path: str) -> dict[str, str]:
    pattern = _uri_pattern(service, operation)
    if pattern is None:
        return {}
    match = pattern.match(path)
    if match is None:
        return {}
    values: dict[str, str] = {}
    http = service_model(service).operation_model(operation).http
    template = http.get("requestUri", "/")
    for label in re.findall(r"\{([^}]+)\}", template):
        label = label.rstrip("+")
        group = re.sub(r"\W", "_", label)
        value = match.groupdict().get(group)
        if value is not None:
            values[label] = unquote(value)
    return values


def output_strings(parsed: Any, wanted: tuple[str, ...]) -> dict[str, str]:
    """Values of ``wanted`` member names found at the top of a parsed answer, or one level down."""
    found: dict[str, str] = {}
    if not isinstance(parsed, dict):
        return found
    for name in wanted:
        value = parsed.get(name)
        if isinstance(value, str):
            found[name] = value
            continue
        for nested in parsed.values():
            if isinstance(nested, dict) and isinstance(nested.get(name), str):
                found[name] = nested[name]
                break
    return found


@cache
def input_members(service: str | None, operation: str | None) -> frozenset[str]:
    shape = _input_shape(service, operation)
    return frozenset(shape.members) if shape is not None else frozenset()


# Read-only calls that need no input, by preference: listing the caller's own things first.
_HARMLESS_PREFIXES = ("List", "Describe", "Get")


@cache
def harmless_operation(service: str) -> str | None:
    """A read-only operation of ``service`` that needs no parameters, to check credentials with.

    ``GetCallerIdentity``, ``ListBuckets``, ``DescribeRegions``, ``ListQueues`` ... are what the
    model yields. A call that lists what the service's ``Create<X>`` makes comes first (Kinesis'
    ``ListStreams``, not ``ListShards``, which answers an error without a stream; Logs'
    ``DescribeLogGroups``, the older of its two such calls); then the shortest name of the most
    general verb.
    """
    if not has_service(service):
        return None
    model = service_model(service)
    found: list[tuple[bool, bool, int, int, int, int, str]] = []
    for name in model.operation_names:
        for rank, prefix in enumerate(_HARMLESS_PREFIXES):
            if not name.startswith(prefix):
                continue
            operation = model.operation_model(name)
            shape = operation.input_shape
            if shape is not None and shape.required_members:
                break
            if operation.deprecated or operation.http.get("method", "POST").upper() not in ("GET", "POST"):
                break
            noun = name[len(prefix) :]
            lists_made = noun.endswith("s") and f"Create{noun[:-1]}" in model.operation_names
            # When both list the same thing, Describe<X>s is the older call (Logs' DescribeLogGroups;
            # ListLogGroups came a decade later), so more servers implement it.
            twin = prefix == "List" and f"Describe{noun}" in model.operation_names
            members = len(shape.members) if shape is not None else 0
            # Among the listings of what Create<X> makes, the shortest name (the service's main noun).
            main = len(name) if lists_made else 0
            found.append((not lists_made, twin, main, rank, len(name), members, name))
            break
    preferred = [
        entry for entry in found if entry[-1] in ("GetCallerIdentity", "ListBuckets", "DescribeRegions")
    ]
    if preferred:
        return preferred[0][-1]
    return min(found)[-1] if found else None


@cache
def state_members(service: str | None, operation: str | None) -> frozenset[tuple[str, str]]:
    """The members of an operation's output that report a state, at any depth, as pairs of the
    member's name and, for a state given as a structure, the name of its member holding the state.

    A string member named ``State``/``Status`` or ending so (``TableStatus``) is ``(name, "")``. A
    structure member named so whose structure has a string member ``Name`` (EC2's
    ``State: {Code, Name}``), else exactly one enum-typed string member, is ``(name, "Name")``:
    its state is at ``...State.Name``.
    """
    shape = _output_shape(service, operation)
    if shape is None:
        return frozenset()
    found: set[tuple[str, str]] = set()
    for name, member in _walk_members(shape):
        if not name.endswith(("State", "Status")):
            continue
        if member.type_name == "string":
            found.add((name, ""))
        elif isinstance(member, botocore.model.StructureShape):
            inner = _state_inside(member)
            if inner:
                found.add((name, inner))
    return frozenset(found)


def _state_inside(structure: botocore.model.StructureShape) -> str | None:
    name = structure.members.get("Name")
    if name is not None and name.type_name == "string":
        return "Name"
    enums = [key for key, member in structure.members.items() if member.type_name == "string" and member.enum]
    return enums[0] if len(enums) == 1 else None
