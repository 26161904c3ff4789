"""A small SigV4 signer and aws-chunked framer, written from the published algorithm.

It produces the streaming upload form (``Content-Encoding: aws-chunked``,
``x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, one signature per chunk chained from
the request's seed signature) that the Java SDK v1 and minio-go send, and none of the Python
clients here do. It can also damage the framing on purpose (a wrong chunk signature, a body cut
short) so tests can see how the recorder treats a stream it cannot verify.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    region: str
    service: str = "s3"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _signing_key(creds: Credentials, day: str) -> bytes:
    key = _hmac(("AWS4" + creds.secret_key).encode("utf-8"), day)
    for part in (creds.region, creds.service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _canonical_query(query: str) -> str:
    pairs = []
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


@dataclass(frozen=True)
class Signed:
    headers: dict[str, str]
    signature: str
    amz_date: str
    scope: str


def sign(
    creds: Credentials,
    method: str,
    url: str,
    headers: dict[str, str],
    payload_hash: str,
    now: datetime.datetime | None = None,
) -> Signed:
    """SigV4 header auth: returns the headers to send (with Host, X-Amz-Date and Authorization)."""
    moment = now or datetime.datetime.now(datetime.UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parts = urlsplit(url)
    all_headers = {
        **headers,
        "host": parts.netloc,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_hash,
    }
    lowered = {name.lower(): " ".join(str(value).split()) for name, value in all_headers.items()}
    signed_names = sorted(lowered)
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/-_.~"),
            _canonical_query(parts.query),
            "".join(f"{name}:{lowered[name]}\n" for name in signed_names),
            ";".join(signed_names),
            payload_hash,
        ]
    )
    scope = f"{day}/{creds.region}/{creds.service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    signature = hmac.new(_signing_key(creds, day), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed_names)}, Signature={signature}"
    )
    return Signed({**all_headers, "Authorization": authorization}, signature, amz_date, scope)


def frame(creds: Credentials, data: bytes, chunk_size: int, seed: Signed, damage: str | None = None) -> bytes:
    """The aws-chunked body: each chunk signed over the previous chunk's signature.

    ``damage="signature"`` gives the second chunk a well-formed but wrong signature (only a holder
    of the secret can tell); ``damage="malformed"`` gives it one that is not 64 hex digits;
    ``damage="truncated"`` drops the last data chunk and the closing zero-length chunk, so fewer
    bytes arrive than declared.
    """
    key = _signing_key(creds, seed.amz_date[:8])
    previous = seed.signature
    pieces = [data[offset : offset + chunk_size] for offset in range(0, len(data), chunk_size)] + [b""]
    framed: list[bytes] = []
    for index, piece in enumerate(pieces):
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                seed.amz_date,
                seed.scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(piece).hexdigest(),
            ]
        )
        signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        previous = signature
        if damage == "signature" and index == 1:
            signature = signature[:-8] + "deadbeef"
        elif damage == "malformed" and index == 1:
            signature = "not-a-signature"
        framed.append(f"{len(piece):x};chunk-signature={signature}\r\n".encode("ascii") + piece + b"\r\n")
    if damage == "truncated":
        framed = framed[:-2]
    return b"".join(framed)


def streaming_put(
    creds: Credentials,
    url: str,
    data: bytes,
    chunk_size: int = 64 * 1024,
    damage: str | None = None,
    content_type: str = "application/octet-stream",
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a streaming-signed PutObject (or UploadPart) of ``data``.

    Content-Length is left out of the signed headers, so it can describe the (possibly damaged)
    framed body that is actually sent.
    """
    headers = {
        "content-encoding": "aws-chunked",
        "content-type": content_type,
        "x-amz-decoded-content-length": str(len(data)),
    }
    seed = sign(creds, "PUT", url, headers, STREAMING)
    body = frame(creds, data, chunk_size, seed, damage)
    return {**seed.headers, "content-length": str(len(body))}, body


def send(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes = b"",
    proxy: str | None = None,
    ca_file: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request with http.client, through an HTTP proxy when given (absolute-form for http,
    CONNECT for https), so nothing rewrites the framing on the way."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        import ssl

        context = ssl.create_default_context(cafile=ca_file)
        if proxy:
            proxy_parts = urlsplit(proxy)
            connection = http.client.HTTPSConnection(
                proxy_parts.hostname or "", proxy_parts.port, context=context, timeout=60
            )
            connection.set_tunnel(parts.hostname or "", parts.port or 443)
        else:
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, context=context, timeout=60
            )
    elif proxy:
        proxy_parts = urlsplit(proxy)
        connection = http.client.HTTPConnection(proxy_parts.hostname or "", proxy_parts.port, timeout=60)
        target = url
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body and not any(name.lower() == "content-length" for name in headers):
            connection.putheader("content-length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()
