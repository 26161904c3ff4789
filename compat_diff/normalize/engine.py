"""Applying rules to a parsed answer: one walk of the tree, returning a new tree, never touching the input.

All rules advance together through the tree like a small automaton (a rule path is a sequence of
steps; ``..`` steps stay active at every depth), so a subtree no rule can reach is shared with the
input instead of copied. Placeholders keep the shape of what they replace: a timestamp keeps its
format (``<timestamp:rfc1123>``) and a generated id becomes a numbered token (``<instance-id:1>``)
whose numbering is shared by every answer of one side of a run, so a candidate that reuses one id
where the reference used two still differs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from compat_diff.model import TimestampText
from compat_diff.normalize.paths import format_path
from compat_diff.normalize.rules import Rule

_REMOVED = object()

_ISO8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC1123 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (GMT|UTC|[+-]\d{4})"
)
_EPOCH = re.compile(r"-?\d{9,13}(\.\d+)?")


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


@dataclass
class IdTokens:
    """Numbered tokens for generated ids, one table per id kind, for one side of one target's run."""

    tables: dict[str, dict[str, int]] = field(default_factory=dict)

    def token(self, kind: str, value: Any) -> str:
        table = self.tables.setdefault(kind, {})
        key = str(value)
        number = table.get(key)
        if number is None:
            number = len(table) + 1
            table[key] = number
        return f"<{kind}:{number}>"


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalized tree, the ids of the rules that fired on it, and numeric tolerances by path."""

    tree: Any
    fired: tuple[str, ...] = ()
    tolerances: dict[str, float] = field(default_factory=dict)


def normalize(tree: Any, rules: Sequence[Rule], ids: IdTokens | None = None) -> Normalized:
    """Apply ``rules`` (in order) to ``tree`` and return a new tree; ``tree`` is left untouched."""
    if not rules:
        return Normalized(tree)
    walker = _Walker(ids if ids is not None else IdTokens())
    root_rules = [rule for rule in rules if not rule.steps]
    states = [(rule, 0) for rule in rules if rule.steps]
    result = walker.visit(tree, (), states, root_rules)
    if result is _REMOVED:
        result = None
    fired = tuple(dict.fromkeys(walker.fired))
    return Normalized(result, fired, walker.tolerances)


class _Walker:
    __slots__ = ("fired", "ids", "tolerances")

    def __init__(self, ids: IdTokens) -> None:
        self.ids = ids
        self.fired: list[str] = []
        self.tolerances: dict[str, float] = {}

    def visit(
        self, node: Any, keys: tuple[str | int, ...], states: list[tuple[Rule, int]], complete: list[Rule]
    ) -> Any:
        if complete:
            complete = [rule for rule in complete if rule.shape is None or _has_shape(node, rule.shape)]
            for rule in complete:
                if rule.action == "ignore":
                    self.fired.append(rule.id)
                    return _REMOVED
            for rule in complete:
                if rule.action == "sort" and isinstance(node, list):
                    node = sorted(node, key=_sort_key(rule.key))
                    self.fired.append(rule.id)
        if states:
            node = self._children(node, keys, states)
        for rule in complete:
            node = self._apply(rule, node, keys)
        return node

    def _children(self, node: Any, keys: tuple[str | int, ...], states: list[tuple[Rule, int]]) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            changed = False
            for key, child in node.items():
                new = self._child(child, keys, key, states)
                if new is _REMOVED:
                    changed = True
                    continue
                if new is not child:
                    changed = True
                out[key] = new
            return out if changed else node
        if isinstance(node, list):
            items: list[Any] = []
            changed = False
            for index, child in enumerate(node):
                new = self._child(child, keys, index, states)
                if new is _REMOVED:
                    changed = True
                    continue
                if new is not child:
                    changed = True
                items.append(new)
            return items if changed else node
        return node

    def _child(
        self, child: Any, keys: tuple[str | int, ...], key: str | int, states: list[tuple[Rule, int]]
    ) -> Any:
        next_states: list[tuple[Rule, int]] = []
        complete: list[Rule] = []
        for rule, position in states:
            step = rule.steps[position]
            if step.deep:
                next_states.append((rule, position))
            if step.matches(key):
                if position + 1 == len(rule.steps):
                    complete.append(rule)
                else:
                    next_states.append((rule, position + 1))
        if not next_states and not complete:
            return child
        if next_states and not isinstance(child, dict | list):
            next_states = []
            if not complete:
                return child
        return self.visit(child, (*keys, key), next_states, complete)

    def _apply(self, rule: Rule, node: Any, keys: tuple[str | int, ...]) -> Any:
        action = rule.action
        if action == "sort" or node is _REMOVED:
            return node
        if action == "type":
            self.fired.append(rule.id)
            return f"<type:{type_name(node)}>"
        if action == "timestamp":
            found = timestamp_format(node)
            if found is None:
                return node
            self.fired.append(rule.id)
            return f"<timestamp:{found}>"
        if action == "id":
            if node is None or node == "" or isinstance(node, dict | list | bool):
                return node
            self.fired.append(rule.id)
            if rule.pattern is not None:
                if not isinstance(node, str):
                    return node
                return rule.pattern.sub(lambda m: self._id_token(rule, m), node)
            return self.ids.token(rule.kind, node)
        if action == "regex":
            if isinstance(node, str) and rule.pattern is not None:
                new = rule.pattern.sub(rule.replacement, node)
                if new != node:
                    self.fired.append(rule.id)
                    return new
            return node
        if action == "tolerance":
            if isinstance(node, int | float) and not isinstance(node, bool):
                self.tolerances[format_path(keys)] = rule.tolerance
                self.fired.append(rule.id)
            return node
        return node

    def _id_token(self, rule: Rule, found: re.Match[str]) -> str:
        if found.re.groups:
            value = found.group(1)
            start, end = found.span(1)
            whole_start = found.start()
            text = found.group(0)
            if value is None:
                return text
            token = self.ids.token(rule.kind, value)
            return text[: start - whole_start] + token + text[end - whole_start :]
        return self.ids.token(rule.kind, found.group(0))


def _has_shape(node: Any, shape: str) -> bool:
    if shape == "timestamp":
        return isinstance(node, TimestampText)
    return False


def _sort_key(member: str | None) -> Any:
    def key(item: Any) -> tuple[str, str]:
        value = item.get(member) if member is not None and isinstance(item, dict) else item
        return (type_name(value), _stable_text(value))

    return key


def _stable_text(value: Any) -> str:
    if isinstance(value, dict):
        return repr(sorted((str(k), _stable_text(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return repr([_stable_text(v) for v in value])
    return str(value)
