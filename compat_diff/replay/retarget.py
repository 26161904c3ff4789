"""Rebuilding one recorded request for a target: URL and Host, S3 bucket addressing, id
substitution, transport headers, de-chunked uploads, checksums, and the new signature.

The result, :class:`OutgoingRequest`, is exactly what goes on the wire (and, redacted, what the
run directory records). Nothing here does IO beyond reading a recorded body.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from compat_diff.aws.addressing import bucket_addressed, bucket_from_host
from compat_diff.aws.auth import credential_scope, is_sigv2_query_api, parse_auth
from compat_diff.aws.checksums import checksum_header
from compat_diff.aws.identify import recorded_endpoint_path
from compat_diff.aws.models import has_service, service_meta
from compat_diff.aws.redact import REDACTED
from compat_diff.aws.signing import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    Clock,
    SigningCredentials,
    SigningPlan,
    presigned_expiry,
    query_api_signature_method,
    sign_query_api_v2,
    sign_request,
    strip_query_api_v2,
    system_clock,
    uses_s3_signing_rules,
)
from compat_diff.model import Auth, Body, Exchange, HttpRequest, client_header_text, is_exact_text
from compat_diff.replay.idmap import Substituter, substitutable_body
from compat_diff.replay.targets import Target

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Recomputed for every request rather than copied.
_REBUILT = frozenset({"host", "content-length", "expect"})
_CHUNKED_ONLY = frozenset({"x-amz-decoded-content-length", "x-amz-trailer"})


# SSE-C key headers: the user's own secret, redacted in recordings, put back from the target.
_SSE_C_KEY_HEADERS = frozenset(
    {"x-amz-server-side-encryption-customer-key", "x-amz-copy-source-server-side-encryption-customer-key"}
)


# The recorded signature schemes a request can be re-signed with (or sent unsigned, "none").
_RESIGNABLE_SCHEMES = frozenset({"none", "sigv4", "sigv4-query", "sigv2", "sigv2-query"})


class NotReplayable(Exception):
    """The recorded input itself cannot be replayed (its body was not kept, its signature scheme or
    URL is unusable); the call is skipped with this sentence. Any other exception from
    :func:`rebuild` is a bug of compat-diff, never an outcome of the candidate."""


@dataclass(frozen=True)
class OutgoingRequest:
    """What is sent: ``body`` is bytes, or a recorded blob streamed from disk when unchanged."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | Body
    expect_continue: bool
    broken_dependencies: tuple[dict[str, object], ...] = ()

    @property
    def body_size(self) -> int:
        return len(self.body) if isinstance(self.body, bytes) else self.body.size

    def as_http_request(self) -> HttpRequest:
        if isinstance(self.body, bytes):
            body = Body.of(self.body)
        else:
            body = Body(inline=None, storage="digest", sha256=self.body.digest(), size=self.body.size)
        return HttpRequest(self.method, self.url, self.headers, body)


def recorded_auth(exchange: Exchange) -> Auth:
    if exchange.auth.scheme != "none":
        return exchange.auth
    return parse_auth(exchange.request)


def rebuild(
    exchange: Exchange,
    target: Target,
    substituter: Substituter | None = None,
    *,
    clock: Clock = system_clock,
    broken: tuple[dict[str, object], ...] = (),
) -> OutgoingRequest:
    """The request to send to ``target`` for recorded ``exchange``, signed for the target."""
    request = exchange.request
    auth = recorded_auth(exchange)
    if auth.scheme not in _RESIGNABLE_SCHEMES:
        raise NotReplayable(f"the recorded signature scheme {auth.scheme!r} cannot be re-signed")
    scope = credential_scope(request)
    signing_service = scope[1] if scope else "s3"
    # Whether the bucket may travel in the host: the service model's request paths say (/{Bucket}/...).
    is_s3 = bucket_addressed(exchange.service or signing_service)

    try:
        recorded = urlsplit(request.url)
    except ValueError as error:
        raise NotReplayable(f"the recorded URL does not parse: {error}") from None
    path = _without_recorded_prefix(exchange, target, recorded.path or "/")
    query = recorded.query
    if is_s3:
        bucket = bucket_from_host(recorded.netloc, exchange.service or signing_service)
        if bucket:
            path = "/" + bucket + (path if path.startswith("/") else "/" + path)

    scheme, netloc, prefix = _endpoint(target.endpoint_for(exchange.service))
    auth_path: str | None = None
    if is_s3 and target.s3_addressing == "virtual":
        first, _, rest = path.lstrip("/").partition("/")
        if first:
            netloc = f"{substituter.text(first) if substituter else first}.{netloc}"
            auth_path = path
            path = "/" + rest
    path = prefix + path if prefix else path

    if substituter:
        path = substituter.text(path)
        query = substituter.text(query)
        if auth_path:
            auth_path = substituter.text(auth_path)
    url = urlunsplit((scheme, netloc, path, query, ""))

    chunked = _is_aws_chunked(exchange)
    headers: list[tuple[str, str]] = []
    exact: dict[str, str] = {}
    expect_continue = False
    for name, value in request.headers:
        lower = name.lower()
        if lower == "expect" and value.strip().lower() == "100-continue":
            expect_continue = True
        if lower in HOP_BY_HOP or lower in _REBUILT or lower.startswith("proxy-"):
            continue
        if chunked and lower in _CHUNKED_ONLY:
            continue
        if chunked and lower == "content-encoding":
            value = ", ".join(
                part.strip() for part in value.split(",") if part.strip().lower() != "aws-chunked"
            )
            if not value:
                continue
        if substituter and lower not in ("authorization", "x-amz-content-sha256"):
            value = substituter.text(value)
        if lower in _SSE_C_KEY_HEADERS and value == REDACTED:
            value = _sse_customer_key(request, lower, target)
        if not is_exact_text(value):
            # Bytes that are not UTF-8 (a Latin-1 x-amz-meta-* value): signed as the client signed
            # them, one character per byte, and sent as the very bytes recorded.
            exact[client_header_text(value)] = value
            value = client_header_text(value)
        headers.append((name, value))
    headers.insert(0, ("Host", netloc))

    body, body_changed = _body(request, substituter)
    if chunked:
        headers.extend(_trailer_checksums(exchange, headers, body))
    if body_changed:
        headers = _recompute_checksums(headers, body)
    body_bytes = body if isinstance(body, bytes) else b""
    size = len(body) if isinstance(body, bytes) else body.size
    if size or request.method.upper() not in ("GET", "HEAD", "DELETE", "OPTIONS"):
        headers.append(("Content-Length", str(size)))

    credentials = target.credentials_for(auth.access_key, exchange.service)
    if auth.scheme == "sigv2-query" and is_sigv2_query_api(request):
        data = body if isinstance(body, bytes) else body.read()
        signed_url, signed_headers, body = _sign_query_api(
            exchange, target, request.method, url, headers, data, credentials, clock
        )
        return OutgoingRequest(
            method=request.method,
            url=signed_url,
            headers=_exact_values(signed_headers, exact),
            body=body,
            expect_continue=expect_continue,
            broken_dependencies=broken,
        )
    plan = _signing_plan(exchange, target, auth, scope, signing_service, body, chunked, auth_path)
    signed_url, signed_headers = sign_request(
        request.method, url, headers, body_bytes, plan, credentials, clock
    )
    return OutgoingRequest(
        method=request.method,
        url=signed_url,
        headers=_exact_values(signed_headers, exact),
        body=body,
        expect_continue=expect_continue,
        broken_dependencies=broken,
    )


def _exact_values(headers: list[tuple[str, str]], exact: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The signed headers with each value that was signed in its client view put back as the
    exact bytes recorded (``model.header_text``)."""
    if not exact:
        return tuple(headers)
    return tuple((name, exact.get(value, value)) for name, value in headers)


def _without_recorded_prefix(exchange: Exchange, target: Target, path: str) -> str:
    """The recorded path without the prefix of the endpoint it was recorded behind, when known.

    The target's ``recorded_prefix`` for the service says it; otherwise a Query, JSON or RPC call's
    protocol does (its path only addresses the endpoint). REST calls without a declared prefix keep
    their whole path.
    """
    prefix = target.recorded_prefix_for(exchange.service)
    if not prefix:
        prefix = (recorded_endpoint_path(exchange.service, exchange.protocol, path) or "").rstrip("/")
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        return path[len(prefix) :] or "/"
    return path


def _sign_query_api(
    exchange: Exchange,
    target: Target,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    credentials: SigningCredentials | None,
    clock: Clock,
) -> tuple[str, list[tuple[str, str]], bytes]:
    """A SigV2-signed Query API call signed again: SigV2 with a fresh Timestamp, or SigV4 when the
    target says ``sigv2 = "v4"``; sent unsigned when the target has no credentials at all."""
    if credentials is None:
        return strip_query_api_v2(method, url, headers, body)
    if target.sigv2 != "v4":
        signature_method = query_api_signature_method(exchange.request.url, _recorded_form(exchange), headers)
        return sign_query_api_v2(
            method, url, headers, body, credentials, signature_method=signature_method, clock=clock
        )
    url, headers, body = strip_query_api_v2(method, url, headers, body)
    service = exchange.service
    signing_name = service_meta(service).signing_name if service and has_service(service) else "ec2"
    region = target.region or exchange.region or "us-east-1"
    plan = SigningPlan(scheme="sigv4", service=signing_name, region=region)
    signed_url, signed_headers = sign_request(method, url, headers, body, plan, credentials, clock)
    return signed_url, signed_headers, body


def _recorded_form(exchange: Exchange) -> bytes:
    body = exchange.request.body
    return body.read() if body.available and body.size <= 1 << 20 else b""


@lru_cache(maxsize=256)
def _endpoint(url: str) -> tuple[str, str, str]:
    """Scheme, host[:port] and path prefix of a target endpoint; a run has only a handful of them."""
    parts = urlsplit(url)
    return parts.scheme, _netloc(parts.scheme, parts.hostname or "", parts.port), parts.path.rstrip("/")


def _netloc(scheme: str, host: str, port: int | None) -> str:
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return host
    return f"{host}:{port}"


def _is_aws_chunked(exchange: Exchange) -> bool:
    """Whether the recorded upload was framed (so the replay frames it again, for the target)."""
    note = exchange.notes.get("aws-chunked")
    if isinstance(note, dict):
        # An empty body that only named aws-chunked in Content-Encoding was never framed.
        return note.get("framed", True) is not False
    encoding = exchange.request.header("content-encoding") or ""
    payload = exchange.request.header("x-amz-content-sha256") or ""
    return "aws-chunked" in encoding.lower() or payload.startswith("STREAMING-")


def _sse_customer_key(request: HttpRequest, header: str, target: Target) -> str:
    """The target's SSE-C key for a redacted key header, matched by the MD5 recorded beside it.

    Without it the candidate would get the redaction marker as a key and refuse the call, a
    failure of ours counted against it: the call is not replayable instead, with the reason.
    """
    recorded_md5 = request.header(header + "-md5")
    key = target.sse_customer_key(recorded_md5)
    if key is not None:
        return key
    which = f" with MD5 {recorded_md5}" if recorded_md5 else ""
    if target.sse_customer_keys:
        raise NotReplayable(f"the target has no SSE-C customer key{which} for the redacted {header} header")
    raise NotReplayable(
        f"the SSE-C customer key{which} in {header} was redacted when recorded; give it in the "
        "targets file (sse_customer_key_env) to replay this call"
    )


def _body(request: HttpRequest, substituter: Substituter | None) -> tuple[bytes | Body, bool]:
    body = request.body
    if not body.available:
        raise NotReplayable(f"the request body ({body.size} bytes) was not kept in the recording")
    if substituter and substitutable_body(request):
        original = body.read()
        changed = substituter.data(original)
        return changed, changed != original
    if body.storage == "blob":
        return body, False
    return body.read(), False


def _signing_plan(
    exchange: Exchange,
    target: Target,
    auth: Auth,
    scope: tuple[str, str] | None,
    signing_service: str,
    body: bytes | Body,
    chunked: bool,
    auth_path: str | None,
) -> SigningPlan:
    scheme = auth.scheme
    if target.sigv2 == "v4" and scheme in ("sigv2", "sigv2-query"):
        scheme = "sigv4" if scheme == "sigv2" else "sigv4-query"
    region = (
        target.region or (scope[0] if scope and scope[0] != "*" else None) or exchange.region or "us-east-1"
    )
    recorded_hash = auth.payload_hash or exchange.request.header("x-amz-content-sha256")
    if recorded_hash == UNSIGNED_PAYLOAD or (chunked and recorded_hash and "UNSIGNED" in recorded_hash):
        payload_hash: str | None = UNSIGNED_PAYLOAD
    elif isinstance(body, Body):
        payload_hash = body.digest()
    elif recorded_hash or uses_s3_signing_rules(signing_service):
        # S3's SigV4 variant always sends the payload hash; the model's signatureVersion says who uses it.
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    else:
        payload_hash = None
    # Only a presigned URL carries a lifetime; the recorded time is parsed only for one.
    url = exchange.request.url
    expires = (presigned_expiry(url, _parse_time(exchange.started)) if "?" in url else None) or 3600
    return SigningPlan(
        scheme=scheme,
        service=signing_service,
        region=region,
        payload_hash=payload_hash,
        signed_headers=_lowered(tuple(auth.signed_headers)),
        expires=expires,
        auth_path=auth_path if scheme == "sigv2" or scheme == "sigv2-query" else None,
        payload_hash_header=recorded_hash is not None,
    )


@lru_cache(maxsize=1024)
def _lowered(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


def _parse_time(value: str) -> _dt.datetime | None:
    if not value:
        return None
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Checksums: recomputed when a body changed, and sent as headers instead of aws-chunked trailers.


def _recompute_checksums(headers: list[tuple[str, str]], body: bytes | Body) -> list[tuple[str, str]]:
    data = body if isinstance(body, bytes) else body.read()
    out = []
    for name, value in headers:
        fresh = checksum_header(name, data)
        out.append((name, fresh if fresh is not None else value))
    return out


def _trailer_checksums(
    exchange: Exchange, headers: list[tuple[str, str]], body: bytes | Body
) -> list[tuple[str, str]]:
    """An aws-chunked upload's trailing checksum, sent as an ordinary header of the de-chunked body."""
    note = exchange.notes.get("aws-chunked")
    trailers: dict[str, str] = {}
    if isinstance(note, dict):
        for key in ("trailers", "trailer"):
            value = note.get(key)
            if isinstance(value, dict):
                trailers.update({str(k).lower(): str(v) for k, v in value.items()})
            elif isinstance(value, list):
                trailers.update({str(pair[0]).lower(): str(pair[1]) for pair in value if len(pair) == 2})
    declared = (exchange.request.header("x-amz-trailer") or "").lower()
    names = {name.strip() for name in declared.split(",") if name.strip()} | set(trailers)
    present = {name.lower() for name, _ in headers}
    out = []
    for name in sorted(names):
        if name in present or not name.startswith("x-amz-checksum-"):
            continue
        value = trailers.get(name)
        if value is None or "REDACTED" in value:
            data = body if isinstance(body, bytes) else body.read()
            value = checksum_header(name, data)
        if value:
            out.append((name, value))
    return out
