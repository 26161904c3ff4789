"""Removing secrets from requests and responses before anything is written down.

Signatures, session tokens and presigned-URL signatures are replaced by a fixed marker, and so are
values the botocore models mark ``sensitive`` (passwords, secret keys, SSE-C keys), plus a small
explicit set of member names for models that lack the flag (STS ``SessionToken``). Bodies are
edited in place at the secret's bytes only, so the rest of a body stays byte-identical and diffs
of recorded answers remain meaningful.

Redaction fails closed: a JSON or XML body that does not parse (truncated, malformed) is redacted
by pattern, under the sensitive members' names and any name that looks like a secret
(``*Secret*``, ``*Password*``, ``*Token*``, ``*Credential*``, ``*Plaintext*``, ...); a body too
large to scan whose operation returns secrets is dropped to its digest and size. A presigned POST's
form fields (signature, policy, credential, token) are redacted inside the multipart body.
"""

from __future__ import annotations

import hashlib
import json
import json.decoder
import re
import xml.parsers.expat
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

import botocore.model

from compat_diff.aws.models import service_model
from compat_diff.model import Body, HttpRequest, HttpResponse, OperationRef

REDACTED = "**REDACTED**"

# The stdlib's own JSON string scanner: it returns where a string ends, which json.loads hides.
scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]

# Member names that always hold a secret, whatever a model says.
FALLBACK_SECRET_NAMES = frozenset(
    {
        "SecretAccessKey",
        "SessionToken",
        "Password",
        "NewPassword",
        "OldPassword",
        "SecretKey",
        "secretAccessKey",
        "sessionToken",
    }
)
_SECRET_HEADERS = frozenset({"x-amz-security-token", "x-amz-s3session-token"})
# Query (and query-protocol form) parameters that carry a signature or a token.
_SECRET_PARAMS = frozenset({"x-amz-signature", "signature", "x-amz-security-token", "securitytoken"})
_SIGV4_SIGNATURE = re.compile(r"(Signature\s*=\s*)[^,\s]*")
# Bodies above this size are uploads or downloads, not API documents holding credentials.
_MAX_BODY_BYTES = 32 << 20


def redact_request(request: HttpRequest, op: OperationRef) -> HttpRequest:
    """``request`` without its signature, session token or any secret the model marks sensitive."""
    secrets = _secret_names(op.service, op.operation, "input")
    headers = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "authorization":
            value = _redact_authorization(value)
        elif lowered in _SECRET_HEADERS or lowered in secrets.headers:
            value = REDACTED
        headers.append((name, value))
    url = _redact_url(request.url, secrets.names)
    body = _redact_body(request.body, request.header("content-type"), secrets, form=True)
    new_headers = _fix_content_length(tuple(headers), request.body, body)
    if url == request.url and body is request.body and new_headers == request.headers:
        return request
    return HttpRequest(method=request.method, url=url, headers=new_headers, body=body)


def redact_response(response: HttpResponse, op: OperationRef) -> HttpResponse:
    """``response`` with credentials in its headers or body replaced, everything else byte-identical."""
    secrets = _secret_names(op.service, op.operation, "output")
    secret_headers = secrets.headers | _SECRET_HEADERS
    headers = response.headers
    if any(name.lower() in secret_headers for name, _ in headers):
        headers = tuple(
            (name, REDACTED if name.lower() in secret_headers else value) for name, value in headers
        )
    body = _redact_body(response.body, response.header("content-type"), secrets, form=False)
    headers = _fix_content_length(headers, response.body, body)
    if body is response.body and headers == response.headers:
        return response
    return HttpResponse(status=response.status, headers=headers, body=body)


@dataclass(frozen=True, slots=True)
class _Secrets:
    """Where an operation's secrets travel: body member names and HTTP header names."""

    names: frozenset[str]
    headers: frozenset[str]
    # Whether the model itself marks a member of the body sensitive (not only the fallback names).
    in_body: bool = False


_FALLBACK = _Secrets(FALLBACK_SECRET_NAMES, frozenset())


@cache
def _secret_names(service: str | None, operation: str | None, direction: str) -> _Secrets:
    if service is None or operation is None:
        return _FALLBACK
    try:
        op_model = service_model(service).operation_model(operation)
    except Exception:
        return _FALLBACK
    shape = op_model.input_shape if direction == "input" else op_model.output_shape
    names: set[str] = set(FALLBACK_SECRET_NAMES)
    headers: set[str] = set()
    if shape is not None:
        found: list[tuple[frozenset[str], frozenset[str]]] = []
        plain: set[str] = set()
        _collect(shape, frozenset(), found, plain, headers, set())
        for parents, aliases in found:
            # A generic name ("Value") that also names harmless members elsewhere in the operation
            # is only a secret under its own parent: EC2's UserData.Value is, InstanceType.Value is not.
            if aliases & plain:
                # At the operation's root the parent is "" (".Value"), as the matchers spell it.
                names.update(f"{parent}.{alias}" for parent in parents or {""} for alias in aliases)
            else:
                names.update(aliases)
        return _Secrets(frozenset(names), frozenset(headers), in_body=bool(found))
    return _Secrets(frozenset(names), frozenset(headers))


def _is_sensitive(shape: botocore.model.Shape) -> bool:
    if shape.metadata.get("sensitive"):
        return True
    # A list or map of secrets is a secret as a whole: redact under the member that holds it.
    if isinstance(shape, botocore.model.ListShape):
        return bool(shape.member.metadata.get("sensitive"))
    if isinstance(shape, botocore.model.MapShape):
        return bool(shape.value.metadata.get("sensitive"))
    return False


def _aliases(member_name: str, member: botocore.model.Shape) -> frozenset[str]:
    """Every name a member may travel under: its own, its wire names, EC2's capitalised form."""
    serialization = member.serialization
    wire = serialization.get("name", member_name)
    names = {member_name, wire, wire[:1].upper() + wire[1:]}
    for key in ("jsonName", "queryName", "locationName"):
        if key in serialization:
            names.add(serialization[key])
    return frozenset(names)


def _collect(
    shape: botocore.model.Shape,
    parents: frozenset[str],
    found: list[tuple[frozenset[str], frozenset[str]]],
    plain: set[str],
    headers: set[str],
    seen: set[str],
) -> None:
    """Record every sensitive member reachable from ``shape`` with its parent's names."""
    if shape.name in seen:
        return
    seen.add(shape.name)
    if isinstance(shape, botocore.model.StructureShape):
        for member_name, member in shape.members.items():
            aliases = _aliases(member_name, member)
            if _is_sensitive(member):
                location = member.serialization.get("location")
                if location == "header":
                    headers.add(member.serialization.get("name", member_name).lower())
                elif location in (None, "querystring"):
                    found.append((parents, aliases))
            else:
                plain.update(aliases)
            _collect(member, aliases, found, plain, headers, seen)
    elif isinstance(shape, botocore.model.ListShape):
        _collect(shape.member, parents, found, plain, headers, seen)
    elif isinstance(shape, botocore.model.MapShape):
        _collect(shape.value, parents, found, plain, headers, seen)


def _is_secret_name(name: str, parent: str, names: frozenset[str]) -> bool:
    return name in names or f"{parent}.{name}" in names


def _redact_authorization(value: str) -> str:
    scheme, sep, rest = value.strip().partition(" ")
    if scheme.startswith("AWS4-"):
        return _SIGV4_SIGNATURE.sub(lambda found: found.group(1) + REDACTED, value)
    if scheme == "AWS" and ":" in rest:
        return f"AWS {rest.rsplit(':', 1)[0]}:{REDACTED}"
    # Any other scheme (Bearer, Basic, ...): the credentials are the whole remainder.
    return f"{scheme} {REDACTED}" if sep else REDACTED


def _redact_pairs(encoded: str, names: frozenset[str]) -> str:
    """Replace secret values in an ``a=b&c=d`` string without re-encoding anything else."""
    parts = encoded.split("&")
    changed = False
    for index, part in enumerate(parts):
        key, sep, _ = part.partition("=")
        if not sep:
            continue
        plain_key = unquote_plus(key)
        steps = [p for p in plain_key.split(".") if not p.isdigit() and p not in ("member", "entry")]
        leaf = steps[-1] if steps else plain_key
        parent = steps[-2] if len(steps) > 1 else ""
        if plain_key.lower() in _SECRET_PARAMS or plain_key in names or _is_secret_name(leaf, parent, names):
            parts[index] = f"{key}={REDACTED}"
            changed = True
    return "&".join(parts) if changed else encoded


def _redact_url(url: str, names: frozenset[str]) -> str:
    base, sep, rest = url.partition("?")
    if not sep:
        return url
    query, hash_sep, fragment = rest.partition("#")
    redacted = _redact_pairs(query, names)
    if redacted == query:
        return url
    return f"{base}?{redacted}{hash_sep}{fragment}"


def _redact_body(body: Body, content_type: str | None, secrets: _Secrets, *, form: bool) -> Body:
    names = secrets.names
    kind = (content_type or "").lower()
    if not body.available or (body.size == 0 and not body.inline):
        return body
    if body.size > _MAX_BODY_BYTES:
        # Too large to scan: an upload or a download, unless the operation answers secrets in an
        # API document; then only its digest and size are kept.
        if secrets.in_body and not form and ("json" in kind or "xml" in kind):
            return _dropped(body)
        return body
    try:
        data = body.read()
    except (LookupError, OSError):
        return body
    if not data:
        return body
    # surrogateescape keeps any non-UTF-8 byte exactly as it was through the round trip.
    text = data.decode("utf-8", "surrogateescape")
    stripped = text.lstrip()
    if form and "x-www-form-urlencoded" in kind:
        new_text = _redact_pairs(text, names)
    elif form and "multipart/form-data" in kind:
        new_text = _redact_multipart(text, content_type or "", names)
    elif stripped.startswith("<"):
        new_text = _redact_embedded_urls(_redact_xml(text, names))
    elif stripped.startswith(("{", "[")):
        new_text = _redact_embedded_urls(_redact_json(text, names))
    elif "json" in kind or "xml" in kind:
        # Announced as an API document but not one: whatever it holds is redacted by pattern.
        new_text = _redact_embedded_urls(_redact_by_pattern(text, names))
    else:
        return body
    if new_text == text:
        return body
    return Body.of(new_text.encode("utf-8", "surrogateescape"))


def _dropped(body: Body) -> Body:
    digest = body.sha256
    if digest is None:
        hashed = hashlib.sha256()
        try:
            for chunk in body.iter_chunks():
                hashed.update(chunk)
            digest = hashed.hexdigest()
        except (LookupError, OSError):
            digest = None
    return Body(inline=None, storage="digest", sha256=digest, size=body.size, is_text=body.is_text)


def _fix_content_length(
    headers: tuple[tuple[str, str], ...], before: Body, after: Body
) -> tuple[tuple[str, str], ...]:
    if after is before:
        return headers
    return tuple(
        (name, str(after.size) if name.lower() == "content-length" else value) for name, value in headers
    )


# Presigned URLs handed out inside answers (Lambda GetFunction's Code.Location, for one) carry a
# signature and often a session token; the value runs up to the next URL, JSON or XML delimiter.
_EMBEDDED_SECRET = re.compile(r"(?i)(X-Amz-Signature=|X-Amz-Security-Token=)[^&\"'<>\s\\]+")


def _redact_embedded_urls(text: str) -> str:
    lowered = text.lower()
    if "x-amz-signature=" not in lowered and "x-amz-security-token=" not in lowered:
        return text
    return _EMBEDDED_SECRET.sub(lambda found: found.group(1) + REDACTED, text)


# --------------------------------------------------------------------------------------------
# XML: element text under a secret element is replaced; tags, attributes and spacing are kept.

_XML_TOKEN = re.compile(
    r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<[?!][^>]*>|<(/?)([A-Za-z_][\w.:-]*)[^>]*?(/?)>", re.DOTALL
)


def _redact_xml(text: str, names: frozenset[str]) -> str:
    if not any(leaf in text for leaf in _leaves(names)):
        # No sensitive member: a well-formed document has nothing to redact, a broken one may.
        if not _looks_secret(text) or _well_formed_xml(text):
            return text
        return _redact_by_pattern(text, names)
    pieces: list[str] = []
    well_formed = True
    position = 0
    # Each entry: whether the element (or an ancestor) is a secret, and the element's name.
    stack: list[tuple[bool, str]] = []
    for token in _XML_TOKEN.finditer(text):
        inside = bool(stack) and stack[-1][0]
        between = text[position : token.start()]
        pieces.append(REDACTED if inside and between.strip() else between)
        raw = token.group(0)
        tag = token.group(2)
        if tag is None:
            pieces.append(REDACTED if inside and raw.startswith("<![CDATA[") else raw)
        else:
            pieces.append(raw)
            local = tag.rsplit(":", 1)[-1]
            if token.group(1):
                if not stack or stack[-1][1] != local:
                    well_formed = False
                if stack:
                    stack.pop()
            elif not token.group(3):
                parent = stack[-1][1] if stack else ""
                # An answer's root members sit under one or two wrapper elements (XxxResponse, XxxResult).
                at_root = len(stack) <= 2 and f".{local}" in names
                stack.append((inside or at_root or _is_secret_name(local, parent, names), local))
        position = token.end()
    tail = text[position:]
    inside = bool(stack) and stack[-1][0]
    pieces.append(REDACTED if inside and tail.strip() else tail)
    redacted = "".join(pieces)
    if stack or not well_formed or "<" in tail:
        # Truncated or malformed: the structure above cannot be trusted to have found every secret.
        return _redact_by_pattern(redacted, names)
    return redacted


# --------------------------------------------------------------------------------------------
# JSON: string values under a secret member are replaced; the document is never re-serialized.

_JSON_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _redact_json(text: str, names: frozenset[str]) -> str:
    if not any(f'"{leaf}"' in text for leaf in _leaves(names)):
        # No sensitive member: a well-formed document has nothing to redact, a broken one may.
        if not _looks_secret(text) or _well_formed_json(text):
            return text
        return _redact_by_pattern(text, names)
    spans: list[tuple[int, int]] = []
    try:
        end = _walk_json(text, _skip(text, 0), names, False, spans, "")
    except (ValueError, IndexError):
        # Truncated or malformed: never kept as it is.
        return _redact_by_pattern(text, names)
    if text[_skip(text, end) :]:
        return _redact_by_pattern(text, names)
    pieces = []
    position = 0
    for start, stop in spans:
        pieces.append(text[position:start])
        pieces.append(f'"{REDACTED}"')
        position = stop
    pieces.append(text[position:])
    return "".join(pieces)


def _skip(text: str, index: int) -> int:
    found = _WHITESPACE.match(text, index)
    return found.end() if found else index


def _walk_json(
    text: str, index: int, names: frozenset[str], secret: bool, spans: list[tuple[int, int]], parent: str
) -> int:
    """Index just past the JSON value at ``index``; records spans of secret strings."""
    char = text[index]
    if char == '"':
        _, end = scanstring(text, index + 1)
        if secret:
            spans.append((index, end))
        return int(end)
    if char == "{":
        index = _skip(text, index + 1)
        if text[index] == "}":
            return index + 1
        while True:
            if text[index] != '"':
                raise ValueError("object key expected")
            key, index = scanstring(text, index + 1)
            index = _skip(text, index)
            if text[index] != ":":
                raise ValueError("colon expected")
            is_secret = secret or _is_secret_name(key, parent, names)
            index = _walk_json(text, _skip(text, index + 1), names, is_secret, spans, key)
            index = _skip(text, index)
            if text[index] == "}":
                return index + 1
            if text[index] != ",":
                raise ValueError("comma expected")
            index = _skip(text, index + 1)
    if char == "[":
        index = _skip(text, index + 1)
        if text[index] == "]":
            return index + 1
        while True:
            index = _skip(text, _walk_json(text, index, names, secret, spans, parent))
            if text[index] == "]":
                return index + 1
            if text[index] != ",":
                raise ValueError("comma expected")
            index = _skip(text, index + 1)
    found = _JSON_SCALAR.match(text, index)
    if found is None:
        raise ValueError("value expected")
    return found.end()


# --------------------------------------------------------------------------------------------
# Failing closed: a document that does not parse is redacted by pattern, under the sensitive
# members' names and any name that looks like a secret. Over-redaction is the price of a body we
# cannot read structurally; leaving a secret in place is not an option.

_SECRETISH = re.compile(
    r"(?i)secret|password|passwd|passphrase|token|credential|plaintext|private_?key|signature"
)
_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*')
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?$)', re.DOTALL)
_JSON_BARE = re.compile(r"[^,}\]\s]*")
_XML_OPEN = re.compile(r"<(?:[\w.-]+:)?([A-Za-z_][\w.-]*)(?:\s[^<>]*)?>")
_PAIR = re.compile(r"(?<![\w.-])([\w.-]+)=([^&\s\"'<>]*)")


_SECRET_WORDS = (
    "secret", "password", "passwd", "passphrase", "token", "credential", "plaintext", "privatekey",
    "private_key", "signature",
)  # fmt: skip


def _looks_secret(text: str) -> bool:
    """Whether ``text`` names anything that may be a secret (cheap: no regular expression)."""
    lowered = text.lower()
    return any(word in lowered for word in _SECRET_WORDS)


@cache
def _leaves(names: frozenset[str]) -> tuple[str, ...]:
    return tuple({name.rpartition(".")[2] for name in names})


def _well_formed_xml(text: str) -> bool:
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(text.encode("utf-8", "surrogateescape"), True)
    except xml.parsers.expat.ExpatError:
        return False
    return True


def _well_formed_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _secret_key(key: str, leaves: frozenset[str]) -> bool:
    return key in leaves or _SECRETISH.search(key) is not None


def _redact_by_pattern(text: str, names: frozenset[str]) -> str:
    leaves = frozenset(_leaves(names))
    return _redact_pairs_pattern(_redact_xml_pattern(_redact_json_pattern(text, leaves), leaves), leaves)


def _redact_json_pattern(text: str, leaves: frozenset[str]) -> str:
    pieces: list[str] = []
    position = 0
    for found in _JSON_KEY.finditer(text):
        if found.start() < position or not _secret_key(found.group(1), leaves):
            continue
        start = found.end()
        if found.group(1) not in leaves and text[start : start + 1] in ("{", "["):
            # A container merely named like a secret ("Credentials"): its members are matched one by one.
            continue
        end = _json_value_end(text, start)
        if text[start:end] == f'"{REDACTED}"':
            continue
        pieces.append(text[position:start])
        pieces.append(f'"{REDACTED}"')
        position = end
    if not pieces:
        return text
    pieces.append(text[position:])
    return "".join(pieces)


def _json_value_end(text: str, start: int) -> int:
    """Where the (possibly truncated) JSON value at ``start`` ends; the text's end if it never does."""
    if start >= len(text):
        return start
    char = text[start]
    if char == '"':
        found = _JSON_STRING.match(text, start)
        return found.end() if found else len(text)
    if char in "{[":
        depth = 0
        index = start
        while index < len(text):
            char = text[index]
            if char == '"':
                found = _JSON_STRING.match(text, index)
                index = found.end() if found else len(text)
                continue
            if char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return index + 1
            index += 1
        return len(text)
    bare = _JSON_BARE.match(text, start)
    return bare.end() if bare else start


def _redact_xml_pattern(text: str, leaves: frozenset[str]) -> str:
    pieces: list[str] = []
    position = 0
    for found in _XML_OPEN.finditer(text):
        if found.start() < position or found.group(0).endswith("/>"):
            continue
        local = found.group(1)
        if not _secret_key(local, leaves):
            continue
        start = found.end()
        closing = re.compile(rf"</(?:[\w.-]+:)?{re.escape(local)}\s*>").search(text, start)
        end = closing.start() if closing else len(text)
        content = text[start:end]
        if content.strip() in ("", REDACTED) or (local not in leaves and "<" in content):
            # An element merely named like a secret that holds elements: they are matched one by one.
            continue
        pieces.append(text[position:start])
        pieces.append(REDACTED)
        position = end
    if not pieces:
        return text
    pieces.append(text[position:])
    return "".join(pieces)


def _redact_pairs_pattern(text: str, leaves: frozenset[str]) -> str:
    def replace(found: re.Match[str]) -> str:
        key = unquote_plus(found.group(1)).rsplit(".", 1)[-1]
        if found.group(2) in ("", REDACTED) or not (
            _secret_key(key, leaves) or key.lower() in _SECRET_PARAMS
        ):
            return found.group(0)
        return f"{found.group(1)}={REDACTED}"

    return _PAIR.sub(replace, text)


# --------------------------------------------------------------------------------------------
# multipart/form-data (S3's presigned POST): the signing fields are replaced in place.

_FORM_SECRET_FIELDS = frozenset(
    {"x-amz-signature", "signature", "policy", "x-amz-credential", "x-amz-security-token"}
)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_FIELD_NAME = re.compile(r'(?i)content-disposition:[^\r\n]*?\bname="([^"]*)"')


def _redact_multipart(text: str, content_type: str, names: frozenset[str]) -> str:
    found = _BOUNDARY.search(content_type)
    if found is None:
        return _redact_by_pattern(text, names)
    delimiter = "--" + found.group(1)
    parts = text.split(delimiter)
    changed = False
    # parts[0] is the preamble; the last part starts with "--" (the closing delimiter).
    for index, part in enumerate(parts[1:], start=1):
        head, sep, value = part.partition("\r\n\r\n")
        if not sep:
            head, sep, value = part.partition("\n\n")
        field = _FIELD_NAME.search(head)
        if not sep or field is None:
            continue
        name = field.group(1)
        if name.lower() in _FORM_SECRET_FIELDS or name in names:
            ending = "\r\n" if value.endswith("\r\n") else ("\n" if value.endswith("\n") else "")
            parts[index] = f"{head}{sep}{REDACTED}{ending}"
            changed = True
    return delimiter.join(parts) if changed else text
