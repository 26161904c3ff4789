"""Preflight: is each target set up so a replay can mean anything?

For every target and service: the endpoint answers HTTP (TLS as configured), one harmless signed
call (``ListBuckets``, ``GetCallerIdentity``, ``DescribeRegions`` ..., a read-only call without
parameters found in the model) is accepted, and the answer comes from the service, not from a web
server's 404 page. One line per target and service; hints for the usual mistakes.

During a run, :class:`SetupWatch` counts answers that point at the set-up rather than the
candidate (authentication failures, non-AWS 404 pages, "already exists"), so a run where most
answers are such can say so loudly.
"""

from __future__ import annotations

import http.client
import ssl
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from compat_diff.aws.calls import CallResult
from compat_diff.aws.shapes import harmless_operation
from compat_diff.model import HttpResponse
from compat_diff.replay.cleanup import caller_for
from compat_diff.replay.targets import Target

AUTH_FAILURES = frozenset(
    {
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "AuthFailure",
        "UnrecognizedClientException",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "InvalidSignatureException",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidToken",
        "ExpiredToken",
    }
)


@dataclass(frozen=True)
class Check:
    target: str
    service: str
    ok: bool
    line: str
    # "unreachable", "tls", "credentials", "not-the-service", "not-this-call", or "" when ok
    problem: str = ""

    @property
    def fatal(self) -> bool:
        return self.problem in ("credentials", "not-the-service")


def check_target(target: Target, services: list[str], timeout: float = 10.0) -> list[Check]:
    """One check per service of ``target`` (each endpoint is contacted once for reachability)."""
    checks: list[Check] = []
    reached: dict[str, str | None] = {}
    caller = caller_for(target, timeout=timeout)
    try:
        for service in services:
            endpoint = target.endpoint_for(service)
            where = f"{target.name} {service} ({endpoint})"
            if endpoint not in reached:
                reached[endpoint] = _reach(endpoint, target.tls_verify, timeout)
            failure = reached[endpoint]
            if failure is not None:
                kind, sentence = failure.split(":", 1)
                checks.append(Check(target.name, service, False, f"FAIL {where}: {sentence.strip()}", kind))
                continue
            operation = harmless_operation(service)
            if operation is None:
                checks.append(
                    Check(target.name, service, True, f"ok   {where}: reachable (no call to check with)")
                )
                continue
            result = caller.call(service, operation, {})
            checks.append(_judge(target, service, where, endpoint, result))
    finally:
        caller.close()
    return checks


def _reach(endpoint: str, verify: bool, timeout: float) -> str | None:
    """None when ``endpoint`` answers any HTTP at all, else "kind: sentence"."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context() if verify else ssl._create_unverified_context()
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, parts.port, timeout=timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
        try:
            connection.request("GET", parts.path or "/")
            connection.getresponse().read(1024)
        finally:
            connection.close()
    except ssl.SSLError as error:
        hint = " (a self-signed certificate? set tls_verify = false for this target)" if verify else ""
        return f"tls: TLS handshake failed: {error.reason or error}{hint}"
    except ConnectionRefusedError:
        return "unreachable: connection refused (is the service running, on this port?)"
    except (OSError, http.client.HTTPException) as error:
        return f"unreachable: {type(error).__name__}: {error}"
    return None


def _judge(target: Target, service: str, where: str, endpoint: str, result: CallResult) -> Check:
    call = f"{result.operation} answered {result.status}"
    if result.ok:
        return Check(target.name, service, True, f"ok   {where}: {call}")
    code = result.error_code or ""
    if code in AUTH_FAILURES:
        hint = "; check the target's access key and secret"
        if urlsplit(endpoint).path.strip("/"):
            hint += (
                ", and that no proxy strips or rewrites the path prefix "
                f"{urlsplit(endpoint).path!r} (the signature covers the path, so every call is rejected)"
            )
        return Check(
            target.name,
            service,
            False,
            f"FAIL {where}: {call} {code}: credentials rejected{hint}",
            "credentials",
        )
    if result.status == 404 and (code in ("404", "NotFound", "") or not code[:1].isupper()):
        return Check(
            target.name,
            service,
            False,
            f"FAIL {where}: {call} with a page that is not the service's (a web server's 404?): "
            "check the endpoint's path prefix",
            "not-the-service",
        )
    if result.status is None:
        return Check(
            target.name,
            service,
            False,
            f"FAIL {where}: {result.operation}: {code} {result.message}",
            "unreachable",
        )
    return Check(
        target.name,
        service,
        True,
        f"warn {where}: {call} {code}: the service answers, but not this call (not implemented?)",
        "not-this-call",
    )


# --------------------------------------------------------------------------------------------
# During a run: answers that say "set-up", not "incompatibility".

_ALREADY = (b"AlreadyExists", b"AlreadyOwnedByYou", b"EntityAlreadyExists", b"already exists")


def setup_kind(response: HttpResponse) -> str | None:
    """ "auth", "not-aws" or "already-exists" when an answer points at the set-up, else None."""
    if response.status < 400:
        return None
    body = response.body.inline or b""
    if response.status == 401 or any(code.encode() in body for code in AUTH_FAILURES):
        return "auth"
    if any(marker in body for marker in _ALREADY):
        return "already-exists"
    if response.status == 404:
        content_type = next((v for k, v in response.headers if k.lower() == "content-type"), "").lower()
        looks_aws = (
            b"<Code>" in body or b'"__type"' in body or b'"code"' in body.lower() or "json" in content_type
        )
        if not looks_aws:
            return "not-aws"
    return None


class SetupWatch:
    """Counts, per target, the answers that point at the set-up."""

    def __init__(self) -> None:
        self.answered: Counter[str] = Counter()
        self.kinds: dict[str, Counter[str]] = {}

    def note(self, target: str, response: HttpResponse) -> None:
        self.answered[target] += 1
        kind = setup_kind(response)
        if kind is not None:
            self.kinds.setdefault(target, Counter())[kind] += 1

    def warnings(self) -> dict[str, str]:
        """A sentence per target where most answers point at the set-up."""
        out: dict[str, str] = {}
        for target, kinds in self.kinds.items():
            total = self.answered[target]
            flagged = sum(kinds.values())
            if total >= 4 and flagged * 2 > total:
                kind, count = kinds.most_common(1)[0]
                what = {
                    "auth": "authentication failures (wrong keys, region, or a proxy rewriting the path?)",
                    "not-aws": "404 pages that are not the service's (wrong endpoint path prefix?)",
                    "already-exists": "'already exists' errors (left over from an earlier run? "
                    "keep run-scoped names and the cleanup on)",
                }[kind]
                out[target] = (
                    f"{flagged} of {total} answers of target {target} point at the set-up, not the "
                    f"candidate: {count} {what}"
                )
        return out


def services_to_check(target: Target, recorded: list[str] | None) -> list[str]:
    """The recording's services the target serves; without a recording, the target's own list."""
    if recorded:
        return [service for service in recorded if target.serves(service)]
    if target.services is not None:
        return sorted(target.services)
    return sorted(set(target.endpoints)) or ["s3"]
