"""What a difference means to a client: its divergence kind and severity, decided by where it is.

The parsed view puts the raw facts beside the output members (``$.ResponseMetadata``) and errors
under ``$.Error``, so the path alone tells a status change from an error code change from a
header or an integrity failure. Everything else is a member of the modeled output.
"""

from __future__ import annotations

from typing import Any

from compat_diff.aws.parse import SEMANTIC_HEADER_PREFIXES, SEMANTIC_HEADERS
from compat_diff.model import DivergenceKind, Severity

Classified = tuple[DivergenceKind, Severity, str]

NOT_IMPLEMENTED_CODES = frozenset(
    {
        "NotImplemented",
        "NotImplementedException",
        "InvalidAction",
        "UnknownOperation",
        "UnknownOperationException",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "InvalidQueryParameter.Unsupported",
        "NotSupported",
        "MethodNotAllowed",
    }
)


def classify(change: str, keys: tuple[Any, ...], reference: Any, candidate: Any) -> Classified:
    """(kind, severity, message) of one change (missing, extra, type or value) at ``keys``."""
    head = keys[0] if keys else None
    if head == "ResponseMetadata":
        return _metadata(change, keys[1:], reference, candidate)
    if head == "Error":
        return _error(change, keys[1:], reference, candidate)
    if change == "missing":
        return "missing", "major", "the candidate's answer lacks this member"
    if change == "extra":
        return "extra", "minor", "the candidate's answer has a member the reference did not send"
    if change == "type":
        return "type", "major", f"{_type(reference)} in the reference, {_type(candidate)} in the candidate"
    family = _timestamp_family(reference)
    if family is not None and family == _timestamp_family(candidate):
        # Same family (iso8601, rfc1123, epoch): a client's parser reads both; the precision or
        # zone notation changed, which only a client comparing the text would notice.
        return "value", "minor", f"the same {family} timestamp written in another format"
    return "value", "major", ""


def _metadata(change: str, rest: tuple[Any, ...], reference: Any, candidate: Any) -> Classified:
    name = rest[0] if rest else None
    if name == "HTTPStatusCode" or (name is None and change != "value"):
        if _success(reference) != _success(candidate):
            return "status", "critical", "one side succeeded and the other failed"
        return "status", "major", ""
    if name == "Integrity":
        check = rest[1] if len(rest) > 1 else None
        if candidate == "mismatch" and reference != "mismatch":
            return "header", "major", f"the candidate's {check} does not match its body; a client rejects it"
        return "header", "minor", "integrity evidence differs"
    if name == "ContentType":
        return "header", "minor", "the content type family differs"
    if name in ("RequestId", "HostId"):
        return "header", "minor", "request id presence differs"
    header = rest[1] if name == "HTTPHeaders" and len(rest) > 1 else None
    semantic = isinstance(header, str) and (
        header in SEMANTIC_HEADERS or header.startswith(SEMANTIC_HEADER_PREFIXES)
    )
    if semantic:
        if change == "extra":
            return "header", "minor", f"the candidate sends a {header} header the reference did not"
        if change == "missing":
            return "header", "major", f"the candidate's answer lacks the {header} header"
        return "header", "major", f"the {header} header differs"
    return "header", "minor", ""


def _error(change: str, rest: tuple[Any, ...], reference: Any, candidate: Any) -> Classified:
    name = rest[0] if rest else None
    if name == "Code" or name is None:
        if change == "missing" and name is None:
            return "error-code", "major", "the candidate did not answer with an error"
        if change == "extra" and name is None:
            return "error-code", "major", "the candidate answered with an error"
        return "error-code", "major", ""
    # Messages and other error details are for humans: clients branch on the code.
    return "value", "minor", "error details are cosmetic"


def _timestamp_family(value: Any) -> str | None:
    """The family of a timestamp placeholder (``<timestamp:iso8601 ...>``), else None."""
    if isinstance(value, str) and value.startswith("<timestamp:") and value.endswith(">"):
        return value[len("<timestamp:") : -1].split(" ", 1)[0]
    return None


def _success(status: Any) -> bool | None:
    if isinstance(status, int):
        return status < 300
    return None


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {
        "str": "string",
        "int": "integer",
        "float": "float",
        "bool": "boolean",
        "dict": "object",
        "list": "list",
        "TimestampText": "string",
    }.get(type(value).__name__, type(value).__name__)
