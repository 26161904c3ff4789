"""Which AWS operation an HTTP request is, worked out from the botocore service models.

The service comes from the SigV4 credential scope when the request is signed (SigV2 in a header or
an S3 presigned URL means S3), otherwise from what the request itself shows (a JSON target prefix,
a smithy RPC path), from hosts where signed calls of a service were seen, from an
``*.amazonaws.com`` host name, or, for a Query API call (``Action`` and ``Version``, often signed
with SigV2) to any other host, from the endpoint's path when it names the service the way
Eucalyptus does (``/services/Euare``) or else from the models that have that action at that version. The
operation then comes from the wire protocol the request actually speaks: ``Action`` for the
query protocols, ``X-Amz-Target`` for JSON, the smithy RPC path for CBOR, and the models' HTTP
routes for the REST protocols, where the most specific route wins. Route tables are compiled once
per service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from urllib.parse import parse_qsl, urlsplit

from compat_diff.aws.addressing import bucket_from_host
from compat_diff.aws.auth import credential_scope, is_sigv2_query_api
from compat_diff.aws.models import (
    service_meta,
    service_model,
    service_names,
    services_for_endpoint_prefix,
    services_for_signing_name,
    services_for_target_prefix,
)
from compat_diff.aws.services import alias_for_path, alias_prefix
from compat_diff.model import HttpRequest, OperationRef

_REST_PROTOCOLS = ("rest-json", "rest-xml")
_QUERY_PROTOCOLS = ("query", "ec2")
_CBOR = "smithy-rpc-v2-cbor"
_SMITHY_PATH = re.compile(r"/service/([^/]+)/operation/([^/?]+)$")
_LABEL = re.compile(r"\{([^}]+)\}")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_AWS_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
# Host labels that qualify an endpoint without naming the service.
_ENDPOINT_QUALIFIERS = frozenset({"dualstack", "fips"})
# Form bodies of query-protocol calls are small; a larger body is an upload, not an Action form.
_MAX_FORM_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class _Route:
    operation: str
    method: str
    path: re.Pattern[str]
    literal_query: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    rank: tuple[int, ...]

    def matches(self, path: str, query: Mapping[str, str], header_names: frozenset[str]) -> bool:
        if self.path.fullmatch(path) is None:
            return False
        for key, value in self.literal_query:
            if key not in query or (value is not None and query[key] != value):
                return False
        return all(key in query for key in self.required_query) and all(
            name in header_names for name in self.required_headers
        )


@dataclass(frozen=True, slots=True)
class _RouteTable:
    by_method: Mapping[str, tuple[_Route, ...]]
    bucket_style: bool


def _compile_path(template: str) -> tuple[re.Pattern[str], int, int]:
    """A regex for a requestUri path, its count of literal characters and of literal segments."""
    pattern = []
    position = 0
    for label in _LABEL.finditer(template):
        pattern.append(re.escape(template[position : label.start()]))
        pattern.append("(.+)" if label.group(1).endswith("+") else "([^/]+)")
        position = label.end()
    pattern.append(re.escape(template[position:]))
    regex = "".join(pattern)
    if not template.endswith("/"):
        # Clients differ on a trailing slash; the template without one still means the same call.
        regex += "/?"
    literal_chars = len(_LABEL.sub("", template))
    literal_segments = sum(1 for part in template.split("/") if part and "{" not in part)
    return re.compile(regex), literal_chars, literal_segments


def _special_endpoint(op_model: object) -> bool:
    """Operations that AWS serves only on a dedicated endpoint (e.g. S3 Express ListDirectoryBuckets)."""
    params = getattr(op_model, "static_context_parameters", ()) or ()
    return any(param.name.startswith("Use") and param.value is True for param in params)


@cache
def _route_table(service: str) -> _RouteTable:
    model = service_model(service)
    by_method: dict[str, list[_Route]] = {}
    bucket_style = False
    for name in model.operation_names:
        op_model = model.operation_model(name)
        http = op_model.http
        request_uri = http.get("requestUri", "/")
        path_template, _, query_template = request_uri.partition("?")
        bucket_style = bucket_style or path_template.startswith("/{Bucket}")
        path, literal_chars, literal_segments = _compile_path(path_template)
        literal_query = tuple(
            (key, value if sep else None)
            for key, sep, value in (part.partition("=") for part in query_template.split("&") if part)
        )
        required_query: list[str] = []
        required_headers: list[str] = []
        shape = op_model.input_shape
        if shape is not None:
            for member_name in shape.required_members:
                member = shape.members[member_name]
                location = member.serialization.get("location")
                wire_name = member.serialization.get("name", member_name)
                if location == "querystring":
                    required_query.append(wire_name)
                elif location == "header":
                    required_headers.append(wire_name.lower())
        discriminators = len(literal_query) + len(required_query) + len(required_headers)
        rank = (
            literal_segments,
            literal_chars,
            discriminators,
            0 if op_model.deprecated else 1,
            0 if _special_endpoint(op_model) else 1,
        )
        route = _Route(
            operation=name,
            method=http.get("method", "POST").upper(),
            path=path,
            literal_query=literal_query,
            required_query=tuple(required_query),
            required_headers=tuple(required_headers),
            rank=rank,
        )
        by_method.setdefault(route.method, []).append(route)
    ordered = {
        method: tuple(sorted(routes, key=lambda r: r.rank, reverse=True))
        for method, routes in by_method.items()
    }
    return _RouteTable(by_method=ordered, bucket_style=bucket_style)


class _RequestView:
    """The parts of a request identification looks at, each computed at most once."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        parts = urlsplit(request.url)
        self.netloc = parts.netloc.rsplit("@", 1)[-1].lower()
        self.hostname = (parts.hostname or "").lower()
        self.path = parts.path or "/"
        self.raw_query = parts.query
        self.method = request.method.upper()
        self._query: dict[str, str] | None = None
        self._form: dict[str, str] | None = None

    @property
    def query(self) -> dict[str, str]:
        if self._query is None:
            self._query = _first_values(self.raw_query)
        return self._query

    @property
    def form(self) -> dict[str, str]:
        """Form body parameters of a query-protocol call; empty for anything else."""
        if self._form is None:
            self._form = {}
            body = self.request.body
            content_type = (self.request.header("content-type") or "").lower()
            if "x-www-form-urlencoded" in content_type and body.available and body.size <= _MAX_FORM_BYTES:
                try:
                    self._form = _first_values(body.read().decode("utf-8", "replace"))
                except LookupError:
                    self._form = {}
        return self._form

    def param(self, name: str) -> str | None:
        return self.query.get(name) or self.form.get(name)

    @property
    def header_names(self) -> frozenset[str]:
        return frozenset(name.lower() for name, _ in self.request.headers)

    @property
    def target(self) -> tuple[str, str] | None:
        value = self.request.header("x-amz-target")
        if not value or "." not in value:
            return None
        prefix, _, operation = value.strip().rpartition(".")
        return prefix, operation

    @property
    def smithy(self) -> tuple[str, str] | None:
        found = _SMITHY_PATH.search(self.path)
        if found is None or not (self.request.header("smithy-protocol") or self.method == "POST"):
            return None
        return found.group(1), found.group(2)


def _first_values(encoded: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        values.setdefault(key, value)
    return values


def identify(request: HttpRequest, host_hints: Mapping[str, str] | None = None) -> OperationRef:
    """The service, operation, region and wire protocol of ``request``; unknown parts are None."""
    view = _RequestView(request)
    region: str | None = None
    candidates: list[str] = []
    scope = credential_scope(request)
    if scope is not None:
        region, signing_name = scope
        candidates = services_for_signing_name(signing_name, view.netloc)
    elif _is_sigv2(view):
        candidates = ["s3"]
    if not candidates:
        candidates = _from_request_shape(view)
    hinted: str | None = None
    if not candidates and host_hints:
        hinted = _hinted_service(view, host_hints)
        if hinted is not None:
            candidates = [hinted]
    if not candidates:
        candidates, host_region = _from_aws_host(view.hostname)
        region = region or host_region
    if not candidates:
        candidates = _from_query_action(view)
    if not candidates:
        return OperationRef(region=region)
    if region is None:
        region = _from_aws_host(view.hostname)[1]
    candidates = _narrow(candidates, view)
    first_protocol: str | None = None
    for service in candidates:
        operation, protocol = _resolve(service, view, host_hints)
        if operation is not None:
            return OperationRef(service, operation, region, protocol)
        first_protocol = first_protocol or protocol
    if hinted is not None:
        # One endpoint often serves every service (moto, LocalStack): an unsigned Query call there
        # (STS AssumeRoleWithWebIdentity) is named by its Action and Version, not by the host.
        for service in _from_query_action(view):
            operation, protocol = _resolve(service, view, host_hints)
            if operation is not None:
                return OperationRef(service, operation, region, protocol)
    return OperationRef(candidates[0], None, region, first_protocol)


def recorded_endpoint_path(service: str | None, protocol: str | None, path: str) -> str | None:
    """The part of a recorded path that only addresses the endpoint, when the protocol says so.

    A Query or JSON call names its operation in parameters, a body or a header, so its whole path
    is where the endpoint was served (``/services/compute/``); a smithy RPC call's endpoint is what
    precedes ``/service/...``. REST calls carry the operation in the path: only a leading prefix
    that names the service by an alias (``/services/objectstorage``) is known to be the endpoint's.
    An old client posting a Query form to a service whose model has left the Query protocol (SQS
    queue URLs) keeps its path too.
    """
    if service is None or protocol is None:
        return None
    if protocol == _CBOR:
        found = _SMITHY_PATH.search(path)
        return path[: found.start()] if found else None
    if protocol in ("query", "ec2", "json") and protocol in service_meta(service).protocols:
        return path
    if protocol in _REST_PROTOCOLS:
        # Behind a prefix that names the service by an alias (Eucalyptus's /services/objectstorage).
        return alias_prefix(path, service)
    return None


def _is_sigv2(view: _RequestView) -> bool:
    authorization = view.request.header("authorization") or ""
    if authorization.startswith("AWS ") and ":" in authorization:
        return True
    # Query-protocol calls once used SigV2 too, but those carry an Action; S3's form does not.
    return "AWSAccessKeyId" in view.query and "Signature" in view.query and "Action" not in view.query


def _from_query_action(view: _RequestView) -> list[str]:
    """Query-protocol services a call with an ``Action`` to an unknown host can be.

    The endpoint's path decides when it names a service (``/services/compute``); otherwise the
    services whose model has the action at the ``Version`` sent. Without a known ``Version`` only a
    SigV2-signed call counts, so that an unrelated ``?Action=`` on some web page is not taken for AWS.
    """
    if view.method not in ("GET", "POST"):
        return []
    action = view.param("Action")
    if not action:
        return []
    named = alias_for_path(view.path)
    if named is not None and _speaks_query(named):
        return [named]
    version = view.param("Version")
    query_services = [s for s in service_names() if _speaks_query(s)]
    if version:
        same_version = [s for s in query_services if service_meta(s).api_version == version]
        found = [s for s in same_version if action in service_model(s).operation_names]
        if found:
            return found
    if not is_sigv2_query_api(view.request):
        return []
    return [s for s in query_services if action in service_model(s).operation_names]


def _speaks_query(service: str) -> bool:
    return any(protocol in _QUERY_PROTOCOLS for protocol in service_meta(service).protocols)


def _from_request_shape(view: _RequestView) -> list[str]:
    target = view.target
    if target is not None:
        found = services_for_target_prefix(target[0])
        if found:
            return found
    smithy = view.smithy
    if smithy is not None:
        return services_for_target_prefix(smithy[0])
    return []


def _hinted_service(view: _RequestView, host_hints: Mapping[str, str]) -> str | None:
    for key in (view.netloc, view.hostname):
        if key in host_hints:
            return host_hints[key]
    # A virtual-hosted bucket is a subdomain of a host the hints know.
    for known, service in host_hints.items():
        known = known.lower()
        if view.netloc.endswith("." + known) or view.hostname.endswith("." + known):
            return service
    return None


def _from_aws_host(hostname: str) -> tuple[list[str], str | None]:
    """Services (and the region) an ``*.amazonaws.com`` host name names through its endpoint prefix."""
    for suffix in _AWS_SUFFIXES:
        if hostname.endswith(suffix):
            labels = hostname[: -len(suffix)].split(".")
            break
    else:
        return [], None
    # The region sits next to the suffix; a bucket or access point name further left may look like one.
    region = next((label for label in reversed(labels) if _REGION.match(label)), None)
    labels = [label for label in labels if label != region and label not in _ENDPOINT_QUALIFIERS]
    # The endpoint prefix sits right before the region; anything left of it is a bucket or account.
    for start in range(len(labels)):
        found = services_for_endpoint_prefix(".".join(labels[start:]))
        if found:
            return found, region
    if labels:
        # Legacy S3 endpoints glue the region on (s3-us-west-2, s3-external-1), access points a
        # suffix (s3-accesspoint), S3 Express zonal endpoints a zone (s3express-usw2-az1).
        head, _, tail = labels[-1].partition("-")
        found = services_for_endpoint_prefix(head) if tail else []
        if not found and tail and head.endswith("express"):
            found = services_for_endpoint_prefix(head.removesuffix("express"))
        if found:
            return found, region or (tail if _REGION.match(tail) else None)
    return [], region


def _narrow(candidates: list[str], view: _RequestView) -> list[str]:
    """Keep the candidates a protocol-level discriminator agrees with, when any does."""
    if len(candidates) < 2:
        return candidates
    target = view.target or view.smithy
    if target is not None:
        agreeing = [s for s in candidates if service_meta(s).target_prefix == target[0]]
        if agreeing:
            return agreeing
    version = view.param("Version") if view.method in ("GET", "POST") else None
    if version:
        agreeing = [s for s in candidates if service_meta(s).api_version == version]
        if agreeing:
            return agreeing
    return candidates


def _resolve(
    service: str, view: _RequestView, host_hints: Mapping[str, str] | None
) -> tuple[str | None, str | None]:
    """(operation, protocol) of the request within ``service``."""
    model = service_model(service)
    protocols = tuple(model.metadata.get("protocols") or ()) or (model.protocol,)
    operations = model.operation_names
    target = view.target
    if target is not None:
        return (target[1] if target[1] in operations else None), "json"
    smithy = view.smithy
    if smithy is not None and _CBOR in protocols:
        return (smithy[1] if smithy[1] in operations else None), _CBOR
    rest = next((p for p in protocols if p in _REST_PROTOCOLS), None)
    if rest is None:
        # Older clients still send query-protocol forms to services that moved to JSON (SQS).
        action = view.param("Action")
        protocol = "ec2" if model.protocol == "ec2" else "query"
        if action is not None:
            return (action if action in operations else None), protocol
        return None, protocols[0]
    return _match_route(service, view, host_hints), rest


def _match_route(service: str, view: _RequestView, host_hints: Mapping[str, str] | None) -> str | None:
    table = _route_table(service)
    routes = table.by_method.get(view.method, ())
    if not routes:
        return None
    query = view.query
    header_names = view.header_names
    paths = [view.path]
    prefix = alias_prefix(view.path, service)
    if prefix is not None:
        # Served behind a prefix that names the service (Eucalyptus's /services/objectstorage).
        paths.insert(0, view.path[len(prefix) :] or "/")
    if table.bucket_style:
        bucket = _virtual_host_bucket(service, view, host_hints)
        if bucket is not None:
            paths.insert(0, "/" + bucket + (view.path if view.path != "/" else ""))
    prefers_special = view.hostname.startswith(service_meta(service).endpoint_prefix + "express")
    for path in paths:
        matching = [route for route in routes if route.matches(path, query, header_names)]
        if matching:
            # Smithy-generated SDKs name the operation in ``x-id``; trust it among the routes that fit.
            named = query.get("x-id")
            if named and any(route.operation == named for route in matching):
                return named
            if prefers_special:
                special = [r for r in matching if r.rank[-1] == 0]
                if special and special[0].rank[:-2] == matching[0].rank[:-2]:
                    return special[0].operation
            return matching[0].operation
    return None


def _virtual_host_bucket(
    service: str, view: _RequestView, host_hints: Mapping[str, str] | None
) -> str | None:
    """The bucket named by a virtual-hosted-style host (``bucket.s3.amazonaws.com``), if any."""
    known = [host for host, hinted in (host_hints or {}).items() if hinted == service]
    return bucket_from_host(view.netloc, service, known)
