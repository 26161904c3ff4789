"""Turning model values into the recording's JSON objects and back (spec section 3).

Recordings and run directories share this codec, so a candidate's answer is stored exactly the
way a recorded answer is: bodies inline as text or base64, large ones content-addressed in a
blob folder, oversized ones as a digest only.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from typing import Any

from compat_diff.errors import RecorderFailure
from compat_diff.model import (
    Auth,
    Body,
    Exchange,
    Headers,
    HttpRequest,
    HttpResponse,
    header_bytes,
    header_text,
    is_exact_text,
)

DEFAULT_INLINE_LIMIT = 256 * 1024
# A blob is named by the sha256 of its bytes and nothing else: no path can be spelled with it.
_DIGEST = re.compile(r"[0-9a-f]{64}")


class BlobReferenceError(ValueError):
    """A body names a blob that is not a sha256 digest (a path, ``../x``), or a bad size."""


def check_digest(value: object, what: str) -> str:
    """``value`` when it is a lower-case sha256 hex digest; raises :class:`BlobReferenceError`."""
    if not isinstance(value, str) or not _DIGEST.fullmatch(value):
        shown = value if isinstance(value, str) and len(value) <= 80 else type(value).__name__
        raise BlobReferenceError(f"{what} {shown!r} is not a sha256 digest (64 lower-case hex digits)")
    return value


def _size(obj: dict[str, Any]) -> int:
    size = obj.get("size", 0)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BlobReferenceError(f"a body's size must be a non-negative integer, not {size!r}")
    return size


class BlobStore:
    """Write-once, content-addressed storage for large bodies beside a recording."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, sha256: str) -> Path:
        return self.directory / sha256

    def put_file(self, source: Path, sha256: str) -> None:
        """Store the file ``source`` under ``sha256`` without reading it into memory.

        A spool file already in this folder (written while the body streamed through the proxy)
        is renamed; any other file is copied in chunks and its digest checked on the way.
        """
        target = self.path_for(sha256)
        if source == target:
            return
        try:
            if source.parent == self.directory and source.name.startswith(".spool-"):
                if target.exists():
                    source.unlink()
                else:
                    os.replace(source, target)
                return
            if target.exists():
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            digest = hashlib.sha256()
            with source.open("rb") as reader, partial.open("wb") as writer:
                while chunk := reader.read(1 << 20):
                    digest.update(chunk)
                    writer.write(chunk)
            if digest.hexdigest() != sha256:
                partial.unlink()
                raise RecorderFailure(f"the body blob {source} changed while it was being stored")
            os.replace(partial, target)
        except OSError as error:
            raise RecorderFailure(f"cannot write body blob {target}: {error.strerror or error}") from error

    def put(self, data: bytes, sha256: str) -> None:
        target = self.path_for(sha256)
        if target.exists():
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            partial.write_bytes(data)
            os.replace(partial, target)
        except OSError as error:
            raise RecorderFailure(f"cannot write body blob {target}: {error.strerror or error}") from error


class BodyPolicy:
    """How bodies are stored: inline up to ``inline_limit``, as blobs up to ``max_body_bytes``."""

    def __init__(
        self,
        blobs: BlobStore | None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        max_body_bytes: int | None = None,
    ) -> None:
        self.blobs = blobs
        self.inline_limit = inline_limit
        self.max_body_bytes = max_body_bytes

    def encode(self, body: Body) -> tuple[dict[str, Any], bool]:
        """The JSON form of a body, and whether the bytes were kept (replayable)."""
        if not body.available:
            return {"sha256": body.sha256, "size": body.size}, False
        if body.storage == "blob" and body.blob_path is not None and body.sha256:
            # A body that is already a file (streamed through the proxy, or another recording's
            # blob) is stored or skipped without being read into memory.
            if self.max_body_bytes is not None and body.size > self.max_body_bytes:
                return {"sha256": body.sha256, "size": body.size}, False
            if body.size > self.inline_limit and self.blobs is not None:
                self.blobs.put_file(body.blob_path, body.sha256)
                return {"blob": body.sha256, "size": body.size}, True
        data = body.read()
        size = len(data)
        if self.max_body_bytes is not None and size > self.max_body_bytes:
            return {"sha256": hashlib.sha256(data).hexdigest(), "size": size}, False
        if size > self.inline_limit and self.blobs is not None:
            digest = hashlib.sha256(data).hexdigest()
            self.blobs.put(data, digest)
            return {"blob": digest, "size": size}, True
        return encode_inline(data), True


def encode_inline(data: bytes) -> dict[str, Any]:
    if not data:
        return {"text": ""}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}
    if "\x00" in text:
        return {"base64": base64.b64encode(data).decode("ascii")}
    return {"text": text}


def decode_body(obj: Any, blob_dir: Path | None) -> Body:
    if obj is None:
        return Body()
    if not isinstance(obj, dict):
        raise ValueError("a body must be an object")
    if "text" in obj:
        data = str(obj["text"]).encode("utf-8")
        return Body(inline=data, size=len(data), is_text=True)
    if "base64" in obj:
        data = base64.b64decode(obj["base64"], validate=False)
        return Body(inline=data, size=len(data), is_text=False)
    if "blob" in obj:
        digest = check_digest(obj["blob"], "the body names the blob")
        if blob_dir is None:
            return Body(inline=None, storage="digest", sha256=digest, size=_size(obj))
        return Body(
            inline=None,
            storage="blob",
            sha256=digest,
            size=_size(obj),
            blob_path=blob_dir / digest,
            is_text=False,
        )
    if "sha256" in obj:
        digest = check_digest(obj["sha256"], "the body's sha256")
        return Body(inline=None, storage="digest", sha256=digest, size=_size(obj))
    raise ValueError("a body needs one of text, base64, blob or sha256")


def encode_request(request: HttpRequest, policy: BodyPolicy) -> tuple[dict[str, Any], bool]:
    body, kept = policy.encode(request.body)
    return {
        "method": request.method,
        "url": request.url,
        "headers": encode_headers(request.headers),
        "body": body,
    }, kept


def encode_response(response: HttpResponse, policy: BodyPolicy) -> tuple[dict[str, Any], bool]:
    body, kept = policy.encode(response.body)
    return {
        "status": response.status,
        "headers": encode_headers(response.headers),
        "body": body,
    }, kept


def encode_headers(headers: Headers) -> list[list[Any]]:
    """``[name, value]`` pairs; a name or value whose bytes are not UTF-8 is ``{"base64": ...}``
    of its exact bytes (JSON text cannot hold them)."""
    return [[_header_json(name), _header_json(value)] for name, value in headers]


def _header_json(text: str) -> Any:
    if is_exact_text(text):
        return text
    return {"base64": base64.b64encode(header_bytes(text)).decode("ascii")}


def decode_headers(pairs: Any) -> Headers:
    return tuple((_header_from_json(name), _header_from_json(value)) for name, value in pairs)


def _header_from_json(value: Any) -> str:
    if isinstance(value, dict) and "base64" in value:
        return header_text(base64.b64decode(value["base64"]))
    return str(value)


def decode_request(obj: dict[str, Any], blob_dir: Path | None) -> HttpRequest:
    return HttpRequest(
        method=str(obj["method"]),
        url=str(obj["url"]),
        headers=decode_headers(obj.get("headers", ())),
        body=decode_body(obj.get("body"), blob_dir),
    )


def decode_response(obj: dict[str, Any], blob_dir: Path | None) -> HttpResponse:
    return HttpResponse(
        status=int(obj["status"]),
        headers=decode_headers(obj.get("headers", ())),
        body=decode_body(obj.get("body"), blob_dir),
    )


def encode_auth(auth: Auth) -> dict[str, Any]:
    out: dict[str, Any] = {"scheme": auth.scheme}
    if auth.access_key is not None:
        out["access_key"] = auth.access_key
    if auth.signed_headers:
        out["signed_headers"] = list(auth.signed_headers)
    if auth.payload_hash is not None:
        out["payload_hash"] = auth.payload_hash
    return out


def decode_auth(obj: Any) -> Auth:
    if not isinstance(obj, dict):
        return Auth()
    return Auth(
        scheme=str(obj.get("scheme", "none")),
        access_key=obj.get("access_key"),
        signed_headers=tuple(obj.get("signed_headers", ())),
        payload_hash=obj.get("payload_hash"),
    )


def encode_exchange(exchange: Exchange, policy: BodyPolicy) -> dict[str, Any]:
    request, request_kept = encode_request(exchange.request, policy)
    response, _ = encode_response(exchange.response, policy)
    obj: dict[str, Any] = {
        "seq": exchange.seq,
        "session": exchange.session,
        "started": exchange.started,
        "duration_ms": round(exchange.duration_ms, 3),
        "service": exchange.service,
        "operation": exchange.operation,
        "region": exchange.region,
        "protocol": exchange.protocol,
        "auth": encode_auth(exchange.auth),
        "request": request,
        "response": response,
    }
    # Only the request body decides replayability: a response we cannot keep is still comparable by digest.
    if not (exchange.replayable and request_kept):
        obj["replayable"] = False
    if exchange.notes:
        obj["notes"] = exchange.notes
    return obj


def decode_exchange(obj: dict[str, Any], blob_dir: Path | None) -> Exchange:
    return Exchange(
        seq=int(obj["seq"]),
        session=str(obj.get("session") or "default"),
        started=str(obj.get("started") or ""),
        duration_ms=float(obj.get("duration_ms") or 0.0),
        service=obj.get("service"),
        operation=obj.get("operation"),
        region=obj.get("region"),
        protocol=obj.get("protocol"),
        auth=decode_auth(obj.get("auth")),
        request=decode_request(obj["request"], blob_dir),
        response=decode_response(obj["response"], blob_dir),
        replayable=bool(obj.get("replayable", True)),
        notes=dict(obj.get("notes") or {}),
    )
