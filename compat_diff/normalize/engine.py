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
from compat_diff.normalize.paths import ANY, format_path
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
    plan = _plan_for(rules)
    walker = _Walker(ids if ids is not None else IdTokens(), plan)
    states = [(rule, 0) for rule in plan.general]
    result = walker.visit(tree, None, states, list(plan.root))
    if result is _REMOVED:
        result = None
    fired = tuple(dict.fromkeys(walker.fired))
    return Normalized(result, fired, walker.tolerances)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Rules sorted by how they match, so the common shapes (``$..Name``, ``$..*``) cost a lookup."""

    root: tuple[Rule, ...]
    by_name: dict[str, tuple[Rule, ...]]
    everywhere: tuple[Rule, ...]
    general: tuple[Rule, ...]
    order: dict[int, int]
    deep: bool


_PLANS: dict[int, tuple[Sequence[Rule], _Plan]] = {}


def _plan_for(rules: Sequence[Rule]) -> _Plan:
    cached = _PLANS.get(id(rules))
    if cached is not None and cached[0] is rules:
        return cached[1]
    by_name: dict[str, list[Rule]] = {}
    everywhere: list[Rule] = []
    general: list[Rule] = []
    root: list[Rule] = []
    for rule in rules:
        steps = rule.steps
        if not steps:
            root.append(rule)
        elif len(steps) == 1 and steps[0].deep and steps[0].selector == ANY:
            everywhere.append(rule)
        elif len(steps) == 1 and steps[0].deep and isinstance(steps[0].selector, str):
            by_name.setdefault(steps[0].selector, []).append(rule)
        else:
            general.append(rule)
    plan = _Plan(
        root=tuple(root),
        by_name={name: tuple(found) for name, found in by_name.items()},
        everywhere=tuple(everywhere),
        general=tuple(general),
        order={id(rule): index for index, rule in enumerate(rules)},
        deep=bool(by_name or everywhere),
    )
    if len(_PLANS) > 256:
        _PLANS.clear()
    # The rules object is kept in the cache entry so its id cannot be reused while cached.
    _PLANS[id(rules)] = (rules, plan)
    return plan


def _keys_of(chain: Any) -> tuple[str | int, ...]:
    keys: list[str | int] = []
    while chain is not None:
        chain, key = chain
        keys.append(key)
    return tuple(reversed(keys))


def _wants(rule: Rule, node: Any) -> bool:
    """Cheap pre-check for rules that match every node: skip nodes their action cannot change."""
    if rule.shape is not None:
        return _has_shape(node, rule.shape)
    action = rule.action
    if action in ("regex", "timestamp") or (action == "id" and rule.pattern is not None):
        return isinstance(node, str) or (action == "timestamp" and isinstance(node, int | float))
    if action == "sort":
        return isinstance(node, list)
    return True


class _Walker:
    __slots__ = ("fired", "ids", "plan", "tolerances")

    def __init__(self, ids: IdTokens, plan: _Plan) -> None:
        self.ids = ids
        self.plan = plan
        self.fired: list[str] = []
        self.tolerances: dict[str, float] = {}

    def visit(self, node: Any, chain: Any, states: list[tuple[Rule, int]], complete: list[Rule]) -> Any:
        if complete:
            for rule in complete:
                if rule.action == "ignore":
                    self.fired.append(rule.id)
                    return _REMOVED
            for rule in complete:
                if rule.action == "sort" and isinstance(node, list):
                    node = sorted(node, key=_sort_key(rule.key))
                    self.fired.append(rule.id)
        if (states or self.plan.deep) and isinstance(node, dict | list):
            node = self._children(node, chain, states)
        for rule in complete:
            node = self._apply(rule, node, chain)
        return node

    def _children(self, node: Any, chain: Any, states: list[tuple[Rule, int]]) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            changed = False
            for key, child in node.items():
                new = self._child(child, chain, key, states)
                if new is _REMOVED:
                    changed = True
                    continue
                if new is not child:
                    changed = True
                out[key] = new
            return out if changed else node
        items: list[Any] = []
        changed = False
        for index, child in enumerate(node):
            new = self._child(child, chain, index, states)
            if new is _REMOVED:
                changed = True
                continue
            if new is not child:
                changed = True
            items.append(new)
        return items if changed else node

    def _child(self, child: Any, chain: Any, key: str | int, states: list[tuple[Rule, int]]) -> Any:
        plan = self.plan
        complete: list[Rule] = []
        if plan.by_name and isinstance(key, str):
            named = plan.by_name.get(key)
            if named:
                complete.extend(rule for rule in named if rule.shape is None or _has_shape(child, rule.shape))
        if plan.everywhere:
            complete.extend(rule for rule in plan.everywhere if _wants(rule, child))
        next_states: list[tuple[Rule, int]] = []
        for rule, position in states:
            step = rule.steps[position]
            if step.deep:
                next_states.append((rule, position))
            selector = step.selector
            # Keys are str or int and selectors of the other type never match (no bool keys occur).
            if selector in (key, ANY):
                if position + 1 == len(rule.steps):
                    if rule.shape is None or _has_shape(child, rule.shape):
                        complete.append(rule)
                else:
                    next_states.append((rule, position + 1))
        container = isinstance(child, dict | list)
        if not complete and not (container and (next_states or plan.deep)):
            return child
        if len(complete) > 1:
            order = plan.order
            complete.sort(key=lambda rule: order[id(rule)])
        return self.visit(child, (chain, key), next_states if container else [], complete)

    def _apply(self, rule: Rule, node: Any, chain: Any) -> Any:
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
                self.tolerances[format_path(_keys_of(chain))] = rule.tolerance
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
