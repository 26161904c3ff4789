"""Run-scoped names: what the recording created gets a name of its own on every run and target.

Before the replay, one pass over the recording finds the names the recorded client chose for
resources it created: the name members of every successful ``Create<X>`` call that has a matching
``Delete<X>`` in the service model (``Bucket``, ``QueueName``, ``UserName``, ``TableName`` ...),
when no earlier request already used that name (then the resource existed before the recording).

For each target, every such name gets the target's run id as a suffix (``jobs`` becomes
``jobs-3f9a1c``), within the longest name the model allows (63 characters when it sets no limit,
a DNS label's length, which S3 bucket names share). A name that would not fit is cut and
completed with four characters of its hash, so two long names never meet. A trailing ``.fifo``
stays last. The same substitution the replay uses for the candidate's ids rewrites requests
(paths, virtual hosts, query, headers, form/JSON/XML bodies, and ARNs or URLs that embed a name);
answers are mapped back before they are stored, so the comparison sees the recorded names.

Along the way every successful call the model knows an undo for is remembered with what the undo
needs (``aws.undo``), for the cleanup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from compat_diff.aws.addressing import bucket_from_host
from compat_diff.aws.parse import parse_answer
from compat_diff.aws.shapes import (
    create_pair,
    opaque_answer,
    request_parameters,
)
from compat_diff.aws.undo import undo_of, undo_parameters
from compat_diff.model import Body, Exchange, HttpResponse
from compat_diff.replay.idmap import Substituter
from compat_diff.replay.retarget import checksum_header, recorded_auth

_FIFO = ".fifo"


def new_run_id() -> str:
    """Six lower-case hex characters: short, DNS-safe and allowed in every AWS name."""
    return secrets.token_hex(3)


@dataclass(frozen=True)
class CreatedName:
    """A name the recorded client chose for a resource it created."""

    seq: int
    service: str
    operation: str
    member: str
    value: str
    limit: int


def created_names(exchanges: list[Exchange]) -> list[CreatedName]:
    """Every name the recording created, in order of creation (see the module docstring)."""
    ordered = sorted(exchanges, key=lambda exchange: exchange.seq)
    proposed: list[CreatedName] = []
    seen: set[str] = set()
    for exchange in ordered:
        pair = create_pair(exchange.service, exchange.operation)
        if pair is None or exchange.response.status >= 300 or exchange.service is None:
            continue
        assert exchange.operation is not None
        params = _parameters(exchange)
        for member, limit in zip(pair.name_members, pair.limits, strict=True):
            value = params.get(member)
            if value and value not in seen:
                seen.add(value)
                proposed.append(
                    CreatedName(exchange.seq, exchange.service, exchange.operation, member, value, limit)
                )
    if not proposed:
        return []
    first = _first_successful_use(ordered, [name.value for name in proposed])
    return [name for name in proposed if first.get(name.value, name.seq) >= name.seq]


def _parameters(exchange: Exchange) -> dict[str, str]:
    request = exchange.request
    host = request.url.split("/")[2] if request.url.count("/") >= 2 else ""
    body = request.body.read() if request.body.storage == "inline" else b""
    return request_parameters(
        exchange.service,
        exchange.operation,
        request.method,
        request.url,
        request.headers,
        body,
        bucket_from_host=bucket_from_host(host),
    )


def _first_successful_use(ordered: list[Exchange], values: list[str]) -> dict[str, int]:
    """The first seq at which a successful call sent or received each value as a whole token.

    A name used before its create, by a call that succeeded, belonged to a resource that existed
    before the recording; a failed call (a 404 to "does it exist?") proves nothing. One pass with
    one pattern for every value, so the cost does not grow with names times calls.
    """
    by_form: dict[bytes, str] = {}
    for value in values:
        by_form.setdefault(value.encode("utf-8"), value)
        by_form.setdefault(quote(value, safe="").encode("ascii"), value)
    alternatives = b"|".join(re.escape(form) for form in sorted(by_form, key=len, reverse=True))
    pattern = re.compile(rb"(?<![A-Za-z0-9_.-])(?:" + alternatives + rb")(?![A-Za-z0-9_-])")
    first: dict[str, int] = {}
    for exchange in ordered:
        if exchange.response.status >= 400:
            continue
        texts = [exchange.request.url.encode("utf-8", "replace")]
        for body in (exchange.request.body, exchange.response.body):
            if body.storage == "inline" and body.inline:
                texts.append(body.inline)
        for text in texts:
            for match in pattern.finditer(text):
                first.setdefault(by_form[match.group(0)], exchange.seq)
    return first


def scoped_name(value: str, run_id: str, limit: int) -> str:
    """``value`` carrying ``run_id``, no longer than ``limit`` (see the module docstring)."""
    stem, ending = (value[: -len(_FIFO)], _FIFO) if value.endswith(_FIFO) else (value, "")
    suffix = "-" + run_id
    if len(stem) + len(suffix) + len(ending) <= limit:
        return stem + suffix + ending
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:4]
    room = max(1, limit - len(suffix) - len(ending) - len(digest) - 1)
    return stem[:room].rstrip("-.") + "-" + digest + suffix + ending


@dataclass
class Resource:
    """Something the run made or changed on one target, and the call that undoes it (``create``
    is the call, ``delete`` its undo: the names the run directory has always used)."""

    seq: int
    service: str
    create: str
    delete: str
    params: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    # Where and as whom it was created: the delete goes the same way.
    region: str | None = None
    recorded_key: str | None = None
    # Whether the call made a resource of its own (else it changed one: attached, put, added ...).
    makes: bool = True
    # The model's waiter that says when the undo is complete (``InstanceTerminated``).
    wait: str | None = None

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "seq": self.seq,
            "service": self.service,
            "create": self.create,
            "delete": self.delete,
            "params": self.params,
            "region": self.region,
            "recorded_key": self.recorded_key,
            "makes": self.makes,
        }
        if self.wait:
            line["wait"] = self.wait
        if self.missing:
            line["missing"] = self.missing
        return line


class NameScope:
    """One target's run-scoped names: recorded -> scoped for requests, scoped -> recorded for answers."""

    def __init__(self, run_id: str, names: list[CreatedName], scoped: bool = True) -> None:
        self.run_id = run_id
        self.names = names
        self.scoped = scoped
        self.forward: dict[str, str] = (
            {name.value: scoped_name(name.value, run_id, name.limit) for name in names} if scoped else {}
        )
        self._requests = Substituter(self.forward)
        self._answers = Substituter({new: old for old, new in self.forward.items()})
        self.resources: list[Resource] = []
        # The values naming what the run made (its undos' parameters): a change to one is undone.
        self._made: set[str] = set()

    def substituter(self, ids: Substituter | None) -> Substituter | None:
        """The candidate's ids first, then the names: a recorded URL that embeds a name is replaced
        whole by the candidate's URL, whose run-scoped name the second pass leaves alone (a name
        only matches as a whole token, and the run id follows it after a hyphen)."""
        if not self._requests:
            return ids
        if ids is None:
            return self._requests
        return _Chain(ids, self._requests)

    def map_back(self, exchange: Exchange, response: HttpResponse) -> HttpResponse:
        """The candidate's answer with the run-scoped names put back to the recorded ones."""
        return _rewrite(exchange, response, self._answers)

    def map_forward(self, exchange: Exchange, response: HttpResponse) -> HttpResponse:
        """A stored (mapped back) answer as the candidate sent it, for a resumed run."""
        return _rewrite(exchange, response, self._requests)

    def note_created(
        self,
        exchange: Exchange,
        response: HttpResponse,
        ids: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        """Remember what a successful call made or changed on the target and how to undo it.

        ``ids`` gives the candidate's values for recorded ones known so far: the undo is sent with
        what the request carried on the target (its run-scoped names and the candidate's ids).
        """
        undo = undo_of(exchange.service, exchange.operation)
        if undo is None or response.status >= 300 or exchange.service is None:
            return
        known = ids() if ids is not None else {}
        substituter = self.substituter(Substituter(known) if known else None)
        request = {
            member: substituter.text(value) if substituter else value
            for member, value in _parameters(exchange).items()
        }
        answered = parse_answer(response, exchange.op).tree
        params, missing = undo_parameters(undo, request, answered)
        # A named resource whose undo cannot be filled is reported; another change is left to go
        # with what it belongs to.
        if (missing or not params) and create_pair(exchange.service, exchange.operation) is None:
            return
        # A change (attach, put, add ...) is undone only on something the run made: on what
        # existed before, the cleanup cannot tell whether the change was there already.
        if not undo.makes and not self._touches_made(request, params):
            return
        if undo.makes:
            self._made.update(_strings(params))
        self.resources.append(
            Resource(
                exchange.seq,
                exchange.service,
                undo.operation,
                undo.undo,
                params,
                missing,
                region=exchange.region,
                recorded_key=recorded_auth(exchange).access_key,
                makes=undo.makes,
                wait=undo.waiter,
            )
        )

    def _touches_made(self, request: dict[str, str], params: dict[str, Any]) -> bool:
        """Whether a value of the call names, as a whole token, a name or id the run made."""
        made = {value for value in (*self.forward.values(), *self._made) if value}
        if not made:
            return False
        alternatives = "|".join(re.escape(value) for value in sorted(made, key=len, reverse=True))
        pattern = re.compile(r"(?<![A-Za-z0-9_.-])(?:" + alternatives + r")(?![A-Za-z0-9_-])")
        return any(pattern.search(text) for text in _strings({**request, **params}))

    def evidence(self, target: str) -> dict[str, Any]:
        return {
            "target": target,
            "run_id": self.run_id,
            "mode": "run-scoped" if self.scoped else "as-recorded",
            "names": [
                {
                    "seq": name.seq,
                    "service": name.service,
                    "operation": name.operation,
                    "member": name.member,
                    "recorded": name.value,
                    "sent": self.forward.get(name.value, name.value),
                }
                for name in self.names
            ],
            "created": [resource.to_json() for resource in self.resources],
        }


def _strings(params: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for value in params.values():
        items = value if isinstance(value, list) else [value]
        found.extend(item for item in items if isinstance(item, str))
    return found


def _rewrite(exchange: Exchange, response: HttpResponse, substituter: Substituter) -> HttpResponse:
    if not substituter:
        return response
    headers = tuple((name, substituter.text(value)) for name, value in response.headers)
    body = response.body
    if body.storage == "inline" and body.inline and not opaque_answer(exchange.service, exchange.operation):
        mapped = substituter.data(body.inline)
        if mapped != body.inline:
            headers = _body_headers(headers, body.inline, mapped)
            body = Body.of(mapped)
    if headers == response.headers and body is response.body:
        return response
    return HttpResponse(response.status, headers, body)


def _body_headers(
    headers: tuple[tuple[str, str], ...], before: bytes, after: bytes
) -> tuple[tuple[str, str], ...]:
    """Headers that describe the body (length, CRC32, MD5, checksums) follow its rewriting, but
    only where they were right for the body the candidate sent: a wrong one stays wrong."""
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower == "content-length" and value.strip() == str(len(before)):
            value = str(len(after))
        elif lower == "x-amz-crc32" and value.strip() == str(zlib.crc32(before)):
            value = str(zlib.crc32(after))
        elif checksum_header(name, before) == value.strip():
            value = checksum_header(name, after) or value
        out.append((name, value))
    return tuple(out)


class _Chain(Substituter):
    """Two substitutions, one after the other (the ids change per call, the names are fixed)."""

    def __init__(self, first: Substituter, second: Substituter) -> None:
        super().__init__({})
        self._first = first
        self._second = second

    def __bool__(self) -> bool:
        return True

    def text(self, value: str) -> str:
        return self._second.text(self._first.text(value))

    def data(self, value: bytes) -> bytes:
        return self._second.data(self._first.data(value))
