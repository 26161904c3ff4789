"""Reading how a request was signed: scheme, access key id, signed headers and credential scope.

Covers SigV4 in the ``Authorization`` header and presigned in the query string, SigV4a (whose
scope has no region; the region set travels in ``X-Amz-Region-Set``), SigV2 for S3 in both
forms, and SigV2 of the Query APIs (EC2, IAM, STS ...: ``SignatureVersion=2`` with
``AWSAccessKeyId`` and ``Signature`` in the query string or a form body). Nothing here verifies a
signature: the recorder only needs to know who signed and for which service, and the secret parts
are never needed.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from compat_diff.model import Auth, HttpRequest

_SIGV4_ALGORITHMS = ("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")
_PARAM = re.compile(r"(\w+)\s*=\s*([^,\s]*)")
# Form bodies of query-protocol calls are small; a larger body is an upload, not an Action form.
MAX_FORM_BYTES = 1 << 20


def query_params(url: str) -> dict[str, str]:
    """The query string of ``url`` as a dict (first value wins, blank values kept)."""
    query = urlsplit(url).query
    if not query:
        return {}
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)
    return params


def _sigv4_header_fields(authorization: str) -> dict[str, str] | None:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm not in _SIGV4_ALGORITHMS:
        return None
    return {key: value for key, value in _PARAM.findall(rest)}


def _sigv2_header_key(authorization: str) -> str | None:
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme != "AWS" or ":" not in rest:
        return None
    return rest.rsplit(":", 1)[0].strip()


def parse_auth(request: HttpRequest) -> Auth:
    """How ``request`` was authenticated; ``Auth()`` (scheme ``none``) when it carries no AWS signature."""
    payload_hash = request.header("x-amz-content-sha256")
    authorization = request.header("authorization")
    if authorization:
        fields = _sigv4_header_fields(authorization)
        if fields is not None:
            credential = fields.get("Credential", "")
            return Auth(
                scheme="sigv4",
                access_key=credential.split("/", 1)[0] or None,
                signed_headers=_split_signed_headers(fields.get("SignedHeaders", "")),
                payload_hash=payload_hash,
            )
        access_key = _sigv2_header_key(authorization)
        if access_key is not None:
            return Auth(scheme="sigv2", access_key=access_key or None, payload_hash=payload_hash)
    params = query_params(request.url)
    if params.get("X-Amz-Algorithm") in _SIGV4_ALGORITHMS or "X-Amz-Credential" in params:
        credential = params.get("X-Amz-Credential", "")
        return Auth(
            scheme="sigv4-query",
            access_key=credential.split("/", 1)[0] or None,
            signed_headers=_split_signed_headers(params.get("X-Amz-SignedHeaders", "")),
            payload_hash=payload_hash,
        )
    if "AWSAccessKeyId" in params and "Signature" in params:
        return Auth(
            scheme="sigv2-query", access_key=params["AWSAccessKeyId"] or None, payload_hash=payload_hash
        )
    form = form_params(request)
    if "AWSAccessKeyId" in form and "Signature" in form:
        return Auth(
            scheme="sigv2-query", access_key=form["AWSAccessKeyId"] or None, payload_hash=payload_hash
        )
    return Auth(payload_hash=payload_hash)


def form_params(request: HttpRequest) -> dict[str, str]:
    """The parameters of a small ``x-www-form-urlencoded`` body (first value wins); empty otherwise."""
    content_type = (request.header("content-type") or "").lower()
    body = request.body
    if "x-www-form-urlencoded" not in content_type or not body.available or body.size > MAX_FORM_BYTES:
        return {}
    params: dict[str, str] = {}
    for key, value in parse_qsl(body.read().decode("utf-8", "replace"), keep_blank_values=True):
        params.setdefault(key, value)
    return params


def is_sigv2_query_api(request: HttpRequest) -> bool:
    """Whether ``request`` is a Query API call signed with SigV2 (``SignatureVersion=2`` and an Action).

    S3's presigned SigV2 URLs carry ``AWSAccessKeyId`` and ``Signature`` too, but neither an
    ``Action`` nor a ``SignatureVersion``.
    """
    for params in (query_params(request.url), form_params(request)):
        if "Signature" in params and "AWSAccessKeyId" in params:
            return "Action" in params or params.get("SignatureVersion") in ("0", "1", "2")
    return False


def _split_signed_headers(value: str) -> tuple[str, ...]:
    return tuple(name for name in value.split(";") if name)


def credential_scope(request: HttpRequest) -> tuple[str, str] | None:
    """(region, signing service) from a SigV4 credential scope in the header or presigned query.

    SigV4a scopes name no region; the first entry of ``X-Amz-Region-Set`` stands in for it
    (``*`` when the signature is valid everywhere).
    """
    credential = None
    authorization = request.header("authorization")
    if authorization:
        fields = _sigv4_header_fields(authorization)
        if fields is not None:
            credential = fields.get("Credential")
    if credential is None:
        params = query_params(request.url) if "?" in request.url else {}
        credential = params.get("X-Amz-Credential")
        region_set = params.get("X-Amz-Region-Set")
    else:
        region_set = request.header("x-amz-region-set")
    if not credential:
        return None
    parts = credential.split("/")
    # access-key/date/region/service/aws4_request, or without the region for SigV4a.
    if len(parts) >= 5 and parts[-1] == "aws4_request":
        return parts[-3], parts[-2]
    if len(parts) == 4 and parts[-1] == "aws4_request":
        return (region_set or "*").split(",")[0].strip(), parts[-2]
    return None
