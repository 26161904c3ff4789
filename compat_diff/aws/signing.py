"""Re-signing a rebuilt request for a target's credentials, with botocore's own signers.

Replay keeps the recorded signing scheme (SigV4 header, SigV4 presigned, SigV2 header, SigV2
presigned) and signing service, and swaps in the target's credentials, region and the current
time. botocore's signers do the cryptography; the subclasses below only inject the clock (so tests
can pin it), let the caller dictate the payload hash (so a large body is never read twice), and
limit the signed headers to the ones the original client chose to sign.

This module also resolves credentials through botocore's standard chain, because botocore is
only imported inside ``compat_diff.aws``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import email.utils
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import botocore.auth
import botocore.credentials
import botocore.exceptions
import botocore.session
from botocore.awsrequest import AWSRequest

Clock = Callable[[], _dt.datetime]
HeaderList = list[tuple[str, str]]

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# Query parameters a presigned request carries for its signature; they are rebuilt, never copied.
SIGV4_QUERY_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)
SIGV2_QUERY_PARAMS = frozenset({"AWSAccessKeyId", "Signature", "Expires", "x-amz-security-token"})
# Headers a signature owns; stripped from the recorded request before signing again.
SIGNATURE_HEADERS = frozenset({"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"})


def system_clock() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


@dataclass(frozen=True, slots=True)
class SigningCredentials:
    """A principal's keys on a target. ``repr`` hides the secret so it never reaches a log."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"SigningCredentials(access_key={self.access_key!r}, secret_key=***)"

    def _botocore(self) -> botocore.credentials.ReadOnlyCredentials:
        return botocore.credentials.ReadOnlyCredentials(self.access_key, self.secret_key, self.token)


def credentials_from_chain(profile: str | None = None) -> SigningCredentials | None:
    """Credentials from the standard AWS chain (environment, profile, config files), or ``None``.

    Raises ``LookupError`` with a sentence when the named profile does not exist.
    """
    try:
        session = botocore.session.Session(profile=profile)
        found = session.get_credentials()
    except botocore.exceptions.ProfileNotFound as error:
        raise LookupError(f"AWS profile {profile!r} is not configured") from error
    except botocore.exceptions.BotoCoreError as error:
        raise LookupError(str(error)) from error
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    return SigningCredentials(frozen.access_key, frozen.secret_key, frozen.token)


@cache
def uses_s3_signing_rules(signing_service: str) -> bool:
    """Whether a signing name follows S3's SigV4 variant (no path normalisation, payload hash header).

    The service model says so (``signatureVersion`` s3/s3v4), so no service is named here.
    """
    from compat_diff.aws.models import service_for_signing_name, service_model

    service = service_for_signing_name(signing_service)
    if service is None:
        return False
    try:
        version = service_model(service).metadata.get("signatureVersion")
    except Exception:
        return False
    return version in ("s3", "s3v4")


# --------------------------------------------------------------------------------------------
# botocore signers with an injected clock, a dictated payload hash and a chosen set of signed headers.


class _SignedHeaders:
    """The headers a signature covers, as botocore's canonicalisation reads them (lower-case names).

    A light stand-in for botocore's ``HTTPHeaders`` (an ``email.message`` subclass whose lookups
    dominate the cost of signing); it offers the two things the signer uses: iteration over names
    and ``get_all``.
    """

    def __init__(self) -> None:
        self._values: dict[str, list[str]] = {}

    def add(self, name: str, value: str) -> None:
        self._values.setdefault(name, []).append(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __len__(self) -> int:
        return len(self._values)

    def get_all(self, name: str, default: Any = None) -> list[str] | Any:
        return self._values.get(name, default)


class _ChosenHeaders:
    """Mixin: sign only the headers listed in ``request.context['sign_only']`` when it is set, and
    compute that set once per signature (botocore asks twice)."""

    def headers_to_sign(self, request: AWSRequest) -> _SignedHeaders:
        cached = request.context.get("_headers_to_sign")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        wanted = request.context.get("sign_only")
        chosen = _SignedHeaders()
        for name, value in request.headers.items():
            lower = name.lower()
            if lower in botocore.auth.SIGNED_HEADERS_BLACKLIST:
                continue
            # Servers insist that every x-amz-* header sent is signed, including ones replay added.
            if wanted and lower not in wanted and not lower.startswith("x-amz-"):
                continue
            chosen.add(lower, value)
        if "host" not in chosen:
            chosen.add("host", botocore.auth._host_from_url(request.url))
        request.context["_headers_to_sign"] = chosen
        return chosen

    def payload(self, request: AWSRequest) -> str:
        dictated = request.context.get("payload_hash")
        if dictated:
            return str(dictated)
        return str(super().payload(request))  # type: ignore[misc]


class _ClockedSigV4:
    """Mixin: ``add_auth`` as botocore's, with the timestamp from ``request.context['clock']``."""

    def add_auth(self, request: AWSRequest) -> None:
        clock: Clock = request.context.get("clock") or system_clock
        request.context["timestamp"] = _sigv4_timestamp(clock())
        self._modify_request_before_signing(request)  # type: ignore[attr-defined]
        # The date and token headers were just set: the signed set is computed from here on.
        request.context.pop("_headers_to_sign", None)
        canonical = self.canonical_request(request)  # type: ignore[attr-defined]
        string_to_sign = self.string_to_sign(request, canonical)  # type: ignore[attr-defined]
        signature = self.signature(string_to_sign, request)  # type: ignore[attr-defined]
        self._inject_signature_to_request(request, signature)  # type: ignore[attr-defined]

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        # The derived key only changes with the day, so it is computed once per principal and day.
        key = _signing_key(
            self.credentials.secret_key,  # type: ignore[attr-defined]
            request.context["timestamp"][0:8],
            self._region_name,  # type: ignore[attr-defined]
            self._service_name,  # type: ignore[attr-defined]
        )
        return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


# The last second formatted: a replay signs thousands of calls a second, and strftime cost more
# than the rest of the timestamp handling together.
_last_timestamp: tuple[int, str] = (-1, "")


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_SECOND = _dt.timedelta(seconds=1)


def _sigv4_timestamp(moment: _dt.datetime) -> str:
    global _last_timestamp
    if moment.tzinfo is None:
        return moment.astimezone(_dt.UTC).strftime(botocore.auth.SIGV4_TIMESTAMP)
    # Exact integer seconds (a float timestamp can round x.999999 up into the next second).
    second = (moment - _EPOCH) // _SECOND
    remembered, text = _last_timestamp
    if remembered != second:
        text = moment.astimezone(_dt.UTC).strftime(botocore.auth.SIGV4_TIMESTAMP)
        _last_timestamp = (second, text)
    return text


@lru_cache(maxsize=256)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


class SigV4Signer(_ClockedSigV4, _ChosenHeaders, botocore.auth.SigV4Auth):
    pass


class S3SigV4Signer(_ClockedSigV4, _ChosenHeaders, botocore.auth.S3SigV4Auth):
    pass


class SigV4QuerySigner(_ClockedSigV4, _ChosenHeaders, botocore.auth.SigV4QueryAuth):
    pass


class S3SigV4QuerySigner(_ClockedSigV4, _ChosenHeaders, botocore.auth.S3SigV4QueryAuth):
    pass


class SigV2Signer(botocore.auth.HmacV1Auth):
    def __init__(self, credentials: botocore.credentials.ReadOnlyCredentials, clock: Clock) -> None:
        super().__init__(credentials)
        self._clock = clock

    def _get_date(self) -> str:
        return email.utils.formatdate(self._clock().timestamp(), usegmt=True)


class SigV2QuerySigner(botocore.auth.HmacV1QueryAuth):
    def __init__(
        self, credentials: botocore.credentials.ReadOnlyCredentials, expires: int, clock: Clock
    ) -> None:
        super().__init__(credentials, expires)
        self._clock = clock

    def _get_date(self) -> str:
        return str(int(self._clock().timestamp() + int(self._expires)))


# --------------------------------------------------------------------------------------------
# SigV2 of the Query APIs (EC2, IAM, STS, Auto Scaling, ELB, CloudWatch ... as euca2ools, boto2 and
# CloudStack's clients sign them). botocore keeps SigV2Auth only for its old SimpleDB-era clients and
# reads the clock itself, so this is our own implementation; the tests check it against botocore's.

# Parameters a SigV2 Query signature owns; rebuilt on every signature, never copied.
SIGV2_QUERY_API_PARAMS = frozenset(
    {
        "AWSAccessKeyId",
        "Signature",
        "SignatureVersion",
        "SignatureMethod",
        "Timestamp",
        "Expires",
        "SecurityToken",
    }
)
_SIGV2_DIGESTS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}
_SIGV2_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


def _aws_quote(text: str) -> str:
    # RFC 3986 unreserved characters stay, everything else (space as %20) is percent-encoded.
    return quote(text, safe="-_.~")


def _is_form(headers: Sequence[tuple[str, str]]) -> bool:
    return any(
        name.lower() == "content-type" and "x-www-form-urlencoded" in value.lower() for name, value in headers
    )


def _query_api_params(
    method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes
) -> tuple[bool, list[tuple[str, str]]]:
    """Where the call's parameters travel (True: a form body) and those parameters, signature removed."""
    in_body = method.upper() == "POST" and _is_form(headers)
    encoded = body.decode("utf-8", "replace") if in_body else urlsplit(url).query
    pairs = parse_qsl(encoded, keep_blank_values=True)
    return in_body, [(k, v) for k, v in pairs if k not in SIGV2_QUERY_API_PARAMS]


def _with_body(
    url: str, headers: Sequence[tuple[str, str]], in_body: bool, encoded: str
) -> tuple[str, HeaderList, bytes]:
    parts = urlsplit(url)
    if not in_body:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, encoded, "")), list(headers), b""
    data = encoded.encode("ascii")
    # The form was re-encoded, so its length changed; any query string besides it is kept.
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    kept.append(("Content-Length", str(len(data))))
    return url, kept, data


def sigv2_string_to_sign(
    method: str, host: str, path: str, params: Iterable[tuple[str, str]]
) -> tuple[str, str]:
    """(canonical query string, string to sign) of a SigV2 Query call, as AWS's SigV2 spec defines them."""
    canonical = "&".join(
        f"{_aws_quote(key)}={_aws_quote(value)}" for key, value in sorted(params, key=lambda pair: pair[0])
    )
    return canonical, f"{method.upper()}\n{host.lower()}\n{path or '/'}\n{canonical}"


def sign_query_api_v2(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    credentials: SigningCredentials,
    *,
    signature_method: str = "HmacSHA256",
    clock: Clock = system_clock,
) -> tuple[str, HeaderList, bytes]:
    """Sign a Query API call with SigV2 and a fresh ``Timestamp``; returns the URL, headers and body to send.

    The parameters stay where the call carried them (query string or form body); the recorded
    ``SignatureMethod`` is kept (HmacSHA256 or HmacSHA1). The string to sign names the host the
    request is sent to and its full path, prefix included, as servers behind a prefix check it.
    """
    digest = _SIGV2_DIGESTS.get(signature_method, hashlib.sha256)
    method_name = signature_method if signature_method in _SIGV2_DIGESTS else "HmacSHA256"
    in_body, params = _query_api_params(method, url, headers, body)
    params.append(("AWSAccessKeyId", credentials.access_key))
    params.append(("SignatureVersion", "2"))
    params.append(("SignatureMethod", method_name))
    params.append(("Timestamp", clock().astimezone(_dt.UTC).strftime(_SIGV2_TIMESTAMP)))
    if credentials.token:
        params.append(("SecurityToken", credentials.token))
    parts = urlsplit(url)
    host = next((value for name, value in headers if name.lower() == "host"), parts.netloc)
    canonical, string_to_sign = sigv2_string_to_sign(method, host, parts.path, params)
    mac = hmac.new(credentials.secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), digest)
    signature = base64.b64encode(mac.digest()).decode("ascii")
    return _with_body(url, headers, in_body, f"{canonical}&Signature={_aws_quote(signature)}")


def strip_query_api_v2(
    method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes
) -> tuple[str, HeaderList, bytes]:
    """The Query API call without its SigV2 parameters (to be signed with SigV4 instead)."""
    in_body, params = _query_api_params(method, url, headers, body)
    encoded = "&".join(f"{_aws_quote(key)}={_aws_quote(value)}" for key, value in params)
    return _with_body(url, headers, in_body, encoded)


def query_api_signature_method(url: str, body: bytes, headers: Sequence[tuple[str, str]]) -> str:
    """The ``SignatureMethod`` a recorded SigV2 Query call used (HmacSHA256 when it says none)."""
    for encoded in (urlsplit(url).query, body.decode("utf-8", "replace") if _is_form(headers) else ""):
        for key, value in parse_qsl(encoded, keep_blank_values=True):
            if key == "SignatureMethod" and value in _SIGV2_DIGESTS:
                return value
    return "HmacSHA256"


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SigningPlan:
    """How to sign one request: scheme, service and region, and what the original client chose.

    ``scheme`` is ``sigv4``, ``sigv4-query``, ``sigv2``, ``sigv2-query`` or ``none``.
    ``payload_hash`` is the hash to sign (the real sha256 or ``UNSIGNED-PAYLOAD``); ``None`` lets
    botocore hash ``body``. ``signed_headers`` limits which headers are signed (lower-case names;
    empty means every header sent). ``expires`` is the lifetime of a presigned request in seconds.
    ``auth_path`` is SigV2's canonical resource when the bucket travels in the host name.
    """

    scheme: str
    service: str = "s3"
    region: str = "us-east-1"
    payload_hash: str | None = None
    signed_headers: frozenset[str] = frozenset()
    expires: int = 3600
    auth_path: str | None = None
    # Non-S3 services only send X-Amz-Content-SHA256 when the original client did.
    payload_hash_header: bool = False


def sign_request(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    plan: SigningPlan,
    credentials: SigningCredentials | None,
    clock: Clock = system_clock,
) -> tuple[str, HeaderList]:
    """Sign ``method url headers body`` as ``plan`` says; returns the URL and headers to send.

    Whatever signature the request carried is removed first. With ``credentials`` ``None`` or
    scheme ``none`` the request is returned unsigned (anonymous calls stay anonymous).
    """
    if plan.scheme in ("sigv4-query", "sigv2-query"):
        url = strip_query_params(url, SIGV4_QUERY_PARAMS | SIGV2_QUERY_PARAMS)
    kept: HeaderList = [(k, v) for k, v in headers if k.lower() not in SIGNATURE_HEADERS]
    if plan.scheme == "none" or credentials is None:
        return url, kept

    creds = credentials._botocore()
    if plan.scheme in ("sigv2", "sigv2-query"):
        return _sign_v2(method, url, kept, plan, creds, clock)
    if plan.scheme not in ("sigv4", "sigv4-query"):
        raise ValueError(f"unknown signing scheme {plan.scheme!r}")

    s3_rules = uses_s3_signing_rules(plan.service)
    request = _aws_request(method, url, kept, body)
    request.context["clock"] = clock
    if plan.scheme == "sigv4-query":
        request.context["sign_only"] = _with_names(frozenset(plan.signed_headers), _HOST)
        signer_class = S3SigV4QuerySigner if s3_rules else SigV4QuerySigner
        signer = signer_class(creds, plan.service, plan.region, expires=plan.expires)
        # Presigning moves body parameters into the query string; a replayed presigned call keeps its body.
        request.data = b""
        signer.add_auth(request)
        return request.url, kept

    if plan.payload_hash:
        request.context["payload_hash"] = plan.payload_hash
    if plan.signed_headers:
        chosen = frozenset(plan.signed_headers)
        request.context["sign_only"] = _with_names(chosen, _HOST_AND_SIGNATURE_HEADERS)
    v4_signer = (S3SigV4Signer if s3_rules else SigV4Signer)(creds, plan.service, plan.region)
    if plan.payload_hash and plan.payload_hash_header and not s3_rules:
        # A non-S3 client that sent a payload hash header gets it again, with the value we sign.
        request.headers["X-Amz-Content-SHA256"] = plan.payload_hash
    v4_signer.add_auth(request)
    return request.url, list(request.headers.items())


_HOST = frozenset({"host"})
_HOST_AND_SIGNATURE_HEADERS = frozenset(
    {"host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "date"}
)


@lru_cache(maxsize=1024)
def _with_names(chosen: frozenset[str], extra: frozenset[str]) -> frozenset[str]:
    # A recording holds a handful of distinct signed-header sets, so each union is made once.
    return chosen | extra


def _sign_v2(
    method: str,
    url: str,
    headers: HeaderList,
    plan: SigningPlan,
    creds: botocore.credentials.ReadOnlyCredentials,
    clock: Clock,
) -> tuple[str, HeaderList]:
    if plan.scheme == "sigv2-query":
        # The server checks a SigV2 query signature against the Content-MD5, Content-Type and
        # x-amz-* headers the request carries, so those are part of the string to sign; botocore
        # copies them into the query as well, so copies already there are dropped first.
        covered = [
            (k, v)
            for k, v in headers
            if k.lower() in ("content-md5", "content-type") or k.lower().startswith("x-amz-")
        ]
        url = strip_query_params(url, {k.lower() for k, _ in covered})
        request = _aws_request(method, url, covered, b"")
        request.auth_path = plan.auth_path
        SigV2QuerySigner(creds, plan.expires, clock).add_auth(request)
        return request.url, headers
    request = _aws_request(method, url, [(k, v) for k, v in headers if k.lower() != "date"], b"")
    request.auth_path = plan.auth_path
    SigV2Signer(creds, clock).add_auth(request)
    return request.url, list(request.headers.items())


class _RequestHeaders:
    """The part of botocore's ``HTTPHeaders`` its signers use (case-insensitive, repeatable names),
    without the ``email.message`` machinery that made header handling most of a signature's cost."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._pairs: list[tuple[str, str]] = list(pairs)

    def __contains__(self, name: object) -> bool:
        wanted = str(name).lower()
        return any(key.lower() == wanted for key, _ in self._pairs)

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def get(self, name: str, default: Any = None) -> Any:
        wanted = name.lower()
        for key, value in self._pairs:
            if key.lower() == wanted:
                return value
        return default

    def get_all(self, name: str, default: Any = None) -> Any:
        wanted = name.lower()
        found = [value for key, value in self._pairs if key.lower() == wanted]
        return found or default

    def __setitem__(self, name: str, value: str) -> None:
        self._pairs.append((name, value))

    def __delitem__(self, name: str) -> None:
        wanted = name.lower()
        self._pairs = [(key, value) for key, value in self._pairs if key.lower() != wanted]

    def __iter__(self) -> Iterator[str]:
        return iter([key for key, _ in self._pairs])

    def keys(self) -> list[str]:
        return [key for key, _ in self._pairs]

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)


def _aws_request(method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body)
    request.headers = _RequestHeaders(headers)
    return request


def strip_query_params(url: str, names: Iterable[str]) -> str:
    """``url`` without the named query parameters, every other byte of the query kept as it was."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    dropped = set(names)
    kept = [pair for pair in parts.query.split("&") if pair and _unquoted_key(pair) not in dropped]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), parts.fragment))


def _unquoted_key(pair: str) -> str:
    key = pair.split("=", 1)[0]
    parsed = parse_qsl(key + "=", keep_blank_values=True)
    return parsed[0][0] if parsed else key


def presigned_expiry(url: str, recorded_at: _dt.datetime | None) -> int | None:
    """The lifetime in seconds of a recorded presigned request (SigV4 ``X-Amz-Expires``, or SigV2's
    absolute ``Expires`` minus when it was recorded)."""
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if params.get("X-Amz-Expires", "").isdigit():
        return int(params["X-Amz-Expires"])
    if params.get("Expires", "").isdigit() and recorded_at is not None:
        return max(1, int(params["Expires"]) - int(recorded_at.timestamp()))
    return None


def quote_path_segment(text: str) -> str:
    """Percent-encode one path segment the way AWS SDKs do (unreserved characters kept)."""
    return quote(text, safe="-_.~")
