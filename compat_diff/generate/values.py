"""Values built from botocore shapes: the smallest value a shape accepts, and values it must refuse.

Everything here is a pure function of the shape, the member's name and a seeded random source, so
the same seed gives the same values on every machine. Values are plain JSON data (timestamps as ISO
8601 text, blobs as text) because the generated suite is written to JSON and sent by a runner that
hands them to the SDK as they are.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Any

# Deep or recursive shapes (a condition inside a condition ...) stop here with an empty value.
MAX_DEPTH = 6
# Strings longer than this are not generated to break a maximum length (a 1 MB document is no test).
MAX_OVERLONG = 4096
FIXED_TIMESTAMP = "2026-01-01T00:00:00Z"
NOT_IN_ENUM = "CompatDiffNotAValidValue"
UNKNOWN_MEMBER = "CompatDiffUnknownMember"


def stable_token(*parts: str, length: int = 8) -> str:
    """A short lower-case hex token that depends only on ``parts`` (no process-seeded hashing)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except (re.error, OverflowError, RecursionError):
        return None  # a Java-only construct: the pattern cannot be checked here


def matches_pattern(value: str, pattern: str | None) -> bool:
    """Whether ``value`` satisfies a model pattern; a pattern Python cannot read counts as satisfied."""
    if not pattern:
        return True
    compiled = _compiled(pattern)
    if compiled is None:
        return True
    try:
        return compiled.fullmatch(value) is not None
    except RecursionError:
        return True


def _fit_length(value: str, minimum: int | None, maximum: int | None) -> str:
    if minimum and len(value) < minimum:
        value = value + "0" * (minimum - len(value))
    if maximum is not None and len(value) > maximum:
        value = value[:maximum]
    return value


def string_value(shape: Any, member: str, token: str) -> str:
    """A string the shape accepts: its first enum value, else a name-like value within its limits."""
    enum = shape.enum if hasattr(shape, "enum") else []
    if enum:
        return str(enum[0])
    metadata = shape.metadata
    minimum, maximum = metadata.get("min"), metadata.get("max")
    pattern = metadata.get("pattern")
    lowered = member.lower()
    candidates = [f"cdg-{token}"]
    if lowered.endswith("arn"):
        candidates.insert(0, f"arn:aws:iam::123456789012:role/cdg-{token}")
    if "email" in lowered:
        candidates.insert(0, f"cdg-{token}@example.com")
    if "url" in lowered or "uri" in lowered or "endpoint" in lowered:
        candidates.insert(0, f"https://example.com/cdg-{token}")
    if "cidr" in lowered:
        candidates.insert(0, "10.0.0.0/16")
    if lowered.endswith("date") or lowered.endswith("time"):
        candidates.insert(0, FIXED_TIMESTAMP)
    if "json" in lowered or "policy" in lowered or "document" in lowered:
        candidates.append("{}")
    candidates += [f"cdg{token}", token, "1", "a", f"alias/cdg-{token}", "cdg"]
    for candidate in candidates:
        fitted = _fit_length(candidate, minimum, maximum)
        if matches_pattern(fitted, pattern):
            return fitted
    return _fit_length(candidates[0], minimum, maximum)


def number_value(shape: Any) -> int | float:
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    value: int | float = 1
    if minimum is not None and value < minimum:
        value = minimum
    if maximum is not None and value > maximum:
        value = maximum
    if shape.type_name in ("float", "double"):
        return float(value)
    return int(value)


def minimal_value(shape: Any, member: str, token: str, depth: int = 0) -> Any:
    """The smallest value ``shape`` accepts: required members only, one element where one is needed."""
    kind = shape.type_name
    if kind == "structure":
        if depth >= MAX_DEPTH:
            return {}
        if shape.metadata.get("union"):
            # A union takes exactly one member: the first one.
            names = list(shape.members)
            if not names:
                return {}
            first = names[0]
            return {first: minimal_value(shape.members[first], first, token, depth + 1)}
        required = shape.required_members
        return {
            name: minimal_value(shape.members[name], name, token, depth + 1)
            for name in shape.members
            if name in required
        }
    if kind == "list":
        if depth >= MAX_DEPTH:
            return []
        count = max(1, shape.metadata.get("min") or 0)
        element = minimal_value(shape.member, member, token, depth + 1)
        return [element] * min(count, 3)
    if kind == "map":
        if not shape.metadata.get("min"):
            return {}
        key = minimal_value(shape.key, "key", token, depth + 1)
        return {str(key): minimal_value(shape.value, member, token, depth + 1)}
    if kind == "string":
        return string_value(shape, member, token)
    if kind in ("integer", "long", "float", "double"):
        return number_value(shape)
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return FIXED_TIMESTAMP
    if kind == "blob":
        return "cdg"
    # "document" and anything newer: an empty object is valid JSON in every protocol that has them.
    return {}


def wrong_type_value(shape: Any, protocol: str) -> Any | None:
    """A value of another type than ``shape`` that the protocol can still put on the wire, or None."""
    kind = shape.type_name
    textual = protocol in ("query", "ec2", "rest-xml")
    if kind in ("integer", "long", "float", "double"):
        return "not-a-number"
    if kind == "boolean":
        return "not-a-boolean"
    if kind == "timestamp":
        return "not-a-timestamp"
    if kind == "string" and not textual:
        return 12345
    if kind in ("structure", "map") and not textual:
        return "not-an-object"
    if kind == "list" and not textual:
        return "not-a-list"
    return None


def out_of_range_value(shape: Any) -> int | float | None:
    """A number below the shape's minimum (or above its maximum), or None when it has no range."""
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    if minimum is not None:
        return minimum - 1
    if maximum is not None:
        return maximum + 1
    return None


def too_long_value(shape: Any) -> str | None:
    maximum = shape.metadata.get("max")
    if maximum is None or maximum >= MAX_OVERLONG or shape.enum:
        return None
    return "a" * (maximum + 1)


def too_short_value(shape: Any) -> str | None:
    minimum = shape.metadata.get("min")
    if not minimum or shape.enum:
        return None
    return "a" * (minimum - 1)


def pattern_breaking_value(shape: Any) -> str | None:
    """A string within the shape's length limits that its pattern refuses, or None."""
    pattern = shape.metadata.get("pattern")
    if not pattern or shape.enum or _compiled(pattern) is None:
        return None
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    for candidate in ("!!!", "#$%^&*()", " ", "\t", "<>", "\u00e9\u00e9\u00e9"):
        fitted = _fit_length(candidate * 4, minimum, maximum)
        fitted = fitted.replace("0", "!")
        if fitted and not matches_pattern(fitted, pattern):
            return fitted
    return None
