"""The normalizer actions: one small class per action, each validating its own options and applying itself.

A rule names its action (``action: id``); :data:`ACTIONS` maps that name to the class that reads the
action's options from the rule (``from_options``, raising through the ``fail`` callback with the
problem in one sentence) and changes a node (``apply``). A new action is one class added to the table:
the rule parser and the engine's tree walk only ask an action what it is (removes a value, reorders a
list, may stand at the root, can change a node of some type) and call ``apply``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from compat_diff.errors import RuleError

# Where an id stands in one answer: the rule that replaced it, the path to its node (the walker's
# linked chain of keys, hashable as is) and, for a pattern, which match in the string.
Where = tuple[str, Any, int]

# What ``apply`` of ``ignore`` returns: the engine drops the member or list item.
REMOVED: Any = object()

_ID = re.compile(r"[A-Za-z0-9_.\-]+")

Fail = Callable[[str], RuleError]


class Site(Protocol):
    """What an action may touch beyond its node: the run's id numbering and this answer's tolerances."""

    def place_id(self, kind: str, value: Any, where: Where) -> str: ...

    def tolerate(self, chain: Any, tolerance: float) -> None: ...


_ISO8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}(?P<sep>[T ])\d{2}:\d{2}(?P<sec>:\d{2}(?:\.(?P<frac>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC1123 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<day>\d{1,2}) [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} "
    r"(?P<zone>GMT|UTC|[+-]\d{4})"
)
_EPOCH = re.compile(r"-?(?P<whole>\d{9,13})(?:\.(?P<frac>\d+))?")


def timestamp_format(value: Any) -> str | None:
    """The wire format of a timestamp value, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return "epoch"
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _ISO8601.fullmatch(text):
        return "iso8601"
    if _RFC1123.fullmatch(text):
        return "rfc1123"
    if _EPOCH.fullmatch(text):
        return "epoch"
    if _DATE.fullmatch(text):
        return "date"
    return None


def timestamp_class(value: Any) -> str | None:
    """The exact wire format of a timestamp, its family first: ``iso8601 YYYY-MM-DDThh:mm:ss.sssZ``.

    Two values of one class differ only in the instant they name, so a placeholder made of the
    class still shows a candidate that drops milliseconds or writes the zone another way
    (``...05Z`` and ``...05+00:00`` are both iso8601, not the same class). None when it is no
    timestamp.
    """
    family = timestamp_format(value)
    if family is None:
        return None
    if family == "epoch":
        if isinstance(value, int | float):
            # A float was written with a fraction or exponent on the wire, an int without.
            fraction = isinstance(value, float)
            unit = "ms" if abs(value) >= 1e11 else "s"
            return f"epoch number {unit}{'.f' if fraction else ''}"
        found = _EPOCH.fullmatch(value.strip())
        assert found is not None
        unit = "ms" if len(found["whole"]) >= 12 else "s"
        # Epoch fractions are written by float formatting, whose digit count varies by value.
        return f"epoch text {unit}" + (".f" if found["frac"] else "")
    text = value.strip()
    if family == "iso8601":
        found = _ISO8601.fullmatch(text)
        assert found is not None
        shape = "YYYY-MM-DD" + found["sep"].upper() + "hh:mm"
        if found["sec"]:
            shape += ":ss" + ("." + "s" * len(found["frac"]) if found["frac"] is not None else "")
        zone = found["zone"] or ""
        if zone.upper() == "Z":
            shape += zone
        elif zone:
            shape += "+hh:mm" if ":" in zone else "+hhmm"
        return f"iso8601 {shape}"
    if family == "rfc1123":
        found = _RFC1123.fullmatch(text)
        assert found is not None
        zone = found["zone"] if found["zone"] in ("GMT", "UTC") else "+hhmm"
        return f"rfc1123 Www, {'D' * len(found['day'])} Mmm YYYY hh:mm:ss {zone}"
    return "date YYYY-MM-DD"


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class Action:
    """One action of a rule, with its options already checked.

    ``apply`` returns the new node and whether the rule fired (changed or judged the node); it never
    mutates ``node``.
    """

    name: ClassVar[str]
    # The rule keys this action reads besides the ones every rule has.
    options: ClassVar[tuple[str, ...]] = ()
    # ``ignore`` and ``type`` on the root ``$`` would hide the whole answer.
    allowed_at_root: ClassVar[bool] = True
    # The engine drops a node a removing action matches, before anything else applies to it.
    removes: ClassVar[bool] = False
    # The engine applies reordering actions before it descends (so rules below see the new order).
    reorders: ClassVar[bool] = False

    @classmethod
    def from_options(cls, raw: Mapping[str, Any], rule_id: str, fail: Fail) -> Action:
        return cls()

    def changes(self, kind: type) -> bool:
        """Whether this action can change a node of this type (lets ``$..*`` rules skip the rest)."""
        return True

    def apply(self, rule_id: str, node: Any, chain: Any, site: Site) -> tuple[Any, bool]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Ignore(Action):
    name: ClassVar[str] = "ignore"
    allowed_at_root: ClassVar[bool] = False
    removes: ClassVar[bool] = True

    def apply(self, rule_id: str, node: Any, chain: Any, site: Site) -> tuple[Any, bool]:
        return REMOVED, True


@dataclass(frozen=True, slots=True)
class KeepType(Action):
    name: ClassVar[str] = "type"
    allowed_at_root: ClassVar[bool] = False

    def apply(self, rule_id: str, node: Any, chain: Any, site: Site) -> tuple[Any, bool]:
        return f"<type:{type_name(node)}>", True


@dataclass(frozen=True, slots=True)
class Timestamp(Action):
    name: ClassVar[str] = "timestamp"

    def changes(self, kind: type) -> bool:
        return issubclass(kind, str | int | float)

    def apply(self, rule_id: str, node: Any, chain: Any, site: Site) -> tuple[Any, bool]:
        found = timestamp_class(node)
        if found is None:
            return node, False
        return f"<timestamp:{found}>", True


@dataclass(frozen=True, slots=True)
class GeneratedId(Action):
    name: ClassVar[str] = "id"
    options: ClassVar[tuple[str, ...]] = ("kind", "pattern", "replacement")
    kind: str = ""
    pattern: re.Pattern[str] | None = None

    @classmethod
    def from_options(cls, raw: Mapping[str, Any], rule_id: str, fail: Fail) -> Action:
        kind = raw.get("kind") or rule_id.rsplit(".", 1)[-1]
        if not isinstance(kind, str) or not _ID.fullmatch(kind):
            raise fail("'kind' must be a short name such as instance-id")
        pattern = None
        if raw.get("pattern") is not None:
            pattern = _compile(raw["pattern"], fail)
            _replacement(raw, pattern, fail)
        return cls(kind=kind, pattern=pattern)

    def changes(self, kind: type) -> bool:
        return self.pattern is None or issubclass(kind, str)

    def apply(self, rule_id: str, node: Any, chain: Any, site: Site) -> tuple[Any, bool]:
        if node is None or node == "" or isinstance(node, dict | list | bool):
            return node, False
        if self.pattern is None:
            return site.place_id(self.kind, node, (rule_id, chain, 0)), True
        # Like regex: a rule that only matched the path but not the pattern changed nothing.
        if not isinstance(node, str):
            return node, False
        ordinal = itertools.count()

        def token(found: re.Match[str]) -> str:
            where = (rule_id, chain, next(ordinal))
            if not found.re.groups:
                return site.place_id(self.kind, found.group(0), where)
            value = found.group(1)
            text = found.group(0)
            if value is None:
                return text
            start, end = found.span(1)
            offset = found.start()
            return text[: start - offset] + site.place_id(self.kind, value, where) + text[end - offset :]

        new, count = self.pattern.subn(token, node)
        return new, bool(count)


@dataclass(frozen=True, slots=True)
class Sort(Action):
    name: ClassVar[str] = "sort"
    options: ClassVar[tuple[str, ...]] = ("key",)
    reorders: ClassVar[bool] = True
    key: str | None = None

    @classmethod
    def from_options(cls, raw: Mapping[str, Any], rule_id: str, fail: Fail) -> Action:
        key = raw.get("key")
        if key is not None and not isinstance(key, str):
            raise fail("'key' of a sort must be a member name")
        return cls(key=key)

    def changes(self, kind: type) -> bool:
        return issubclass(kind, list)

    def apply(self, rule_id: str, node: Any, chain: Any, site: Site) -> tuple[Any, bool]:
        if not isinstance(node, list):
            return node, False
        member = self.key

        def order(item: Any) -> tuple[str, str]:
            value = item.get(member) if member is not None and isinstance(item, dict) else item
            return (type_name(value), _stable_text(value))

        return sorted(node, key=order), True


@dataclass(frozen=True, slots=True)
class Regex(Action):
    name: ClassVar[str] = "regex"
    options: ClassVar[tuple[str, ...]] = ("pattern", "replacement")
    pattern: re.Pattern[str] = re.compile("")
    replacement: str = ""

    @classmethod
    def from_options(cls, raw: Mapping[str, Any], rule_id: str, fail: Fail) -> Action:
        if not isinstance(raw.get("pattern"), str):
            raise fail("action regex needs a 'pattern'")
        pattern = _compile(raw["pattern"], fail)
        return cls(pattern=pattern, replacement=_replacement(raw, pattern, fail))

    def changes(self, kind: type) -> bool:
        return issubclass(kind, str)

    def apply(self, rule_id: str, node: Any, chain: Any, site: Site) -> tuple[Any, bool]:
        if not isinstance(node, str):
            return node, False
        new = self.pattern.sub(self.replacement, node)
        return new, new != node


@dataclass(frozen=True, slots=True)
class Tolerance(Action):
    name: ClassVar[str] = "tolerance"
    options: ClassVar[tuple[str, ...]] = ("tolerance",)
    tolerance: float = 0.0

    @classmethod
    def from_options(cls, raw: Mapping[str, Any], rule_id: str, fail: Fail) -> Action:
        value = raw.get("tolerance")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise fail("action tolerance needs a non-negative number 'tolerance'")
        return cls(tolerance=float(value))

    def apply(self, rule_id: str, node: Any, chain: Any, site: Site) -> tuple[Any, bool]:
        if isinstance(node, int | float) and not isinstance(node, bool):
            site.tolerate(chain, self.tolerance)
            return node, True
        return node, False


# The one table of actions, in the order error messages list them.
ACTIONS: dict[str, type[Action]] = {
    action.name: action for action in (Ignore, KeepType, Timestamp, GeneratedId, Sort, Regex, Tolerance)
}


def _compile(pattern: Any, fail: Fail) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise fail("'pattern' must be a regular expression")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise fail(f"pattern does not compile: {error}") from None


def _replacement(raw: Mapping[str, Any], pattern: re.Pattern[str], fail: Fail) -> str:
    replacement = raw.get("replacement", "")
    if not isinstance(replacement, str):
        raise fail("'replacement' must be a string")
    problem = _replacement_problem(pattern, replacement)
    if problem:
        raise fail(f"replacement {replacement!r} {problem}")
    return replacement


def _replacement_problem(pattern: re.Pattern[str], replacement: str) -> str | None:
    """Why ``replacement`` cannot be expanded for ``pattern`` (a group it lacks), or None.

    Checked on an empty match of the same groups, so a rule fails when it is loaded, not on the
    first value it happens to match.
    """
    try:
        probe = re.compile(f"(?:{pattern.pattern})?", pattern.flags)
    except re.error:
        return None  # inline global flags cannot be wrapped; such a pattern is checked when used
    found = probe.match("")
    assert found is not None  # an optional group matches the empty string
    try:
        found.expand(replacement)
    except (re.error, IndexError) as error:
        return f"refers to a group the pattern does not have ({error})"
    return None



def _stable_text(value: Any) -> str:
    if isinstance(value, dict):
        return repr(sorted((str(k), _stable_text(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return repr([_stable_text(v) for v in value])
    return str(value)
