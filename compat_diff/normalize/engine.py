"""Applying rules to a parsed answer: one walk of the tree, returning a new tree, never touching the input.

All rules advance together through the tree like a small automaton (a rule path is a sequence of
steps; ``..`` steps stay active at every depth), so a subtree no rule can reach is shared with the
input instead of copied. The automaton's states and its moves from a node to a child (by member
name or index and the child's type) are worked out once per rule set and remembered, since answers
of one operation repeat the same shapes. Placeholders keep the shape of what they replace: a
timestamp keeps its exact format class (``<timestamp:iso8601 YYYY-MM-DDThh:mm:ss.sssZ>``) and a
generated id becomes a numbered token (``<instance-id:1>``). Over a run, a candidate's ids are
paired with the reference's (``IdPairing``): a candidate id takes the token of the reference id it
first stood in for, so a candidate that reuses one id where the reference used two still differs,
while one id missing on one side does not shift the tokens of every later id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from compat_diff.model import TimestampText
from compat_diff.normalize.actions import REMOVED, Where, timestamp_class, timestamp_format, type_name
from compat_diff.normalize.paths import ANY, format_path
from compat_diff.normalize.rules import Rule

__all__ = [
    "IdPairing",
    "IdSide",
    "IdTokens",
    "Normalized",
    "normalize",
    "timestamp_class",
    "timestamp_format",
    "type_name",
]

_REMOVED = REMOVED


@dataclass
class IdTokens:
    """Numbered tokens for generated ids, one table per id kind: the first distinct value is 1, the next 2."""

    tables: dict[str, dict[str, int]] = field(default_factory=dict)

    def number(self, kind: str, value: Any) -> int:
        table = self.tables.setdefault(kind, {})
        key = str(value)
        number = table.get(key)
        if number is None:
            number = len(table) + 1
            table[key] = number
        return number

    def token(self, kind: str, value: Any) -> str:
        return f"<{kind}:{self.number(kind, value)}>"

    def place(self, kind: str, value: Any, where: Where) -> str:
        return self.token(kind, value)


@dataclass
class IdPairing:
    """Id tokens of one target's run that pair the candidate's ids with the reference's.

    The reference numbers its ids by first appearance (``<user-id:1>``). A candidate id takes the token
    of the reference id it pairs with: once paired, always that token; a new candidate id pairs with
    the reference id at the same place (same rule, path and match) of the same exchange, unless that
    reference id is already paired with another candidate id. An id that cannot pair gets a
    candidate-only token (``<user-id:c1>``) that equals no reference token, and may still pair where
    it next stands in for an unpaired reference id (it first showed where the reference had none,
    say after a call only the candidate served). So an id missing on one side costs the answers that
    show it instead of shifting every later token of its kind, while a candidate that reuses one id
    where the reference used two (or the reverse), or breaks a cross reference, still differs.

    Normalize each exchange's reference answer (with :meth:`reference`) before its candidate answer
    (with :meth:`candidate`).
    """

    numbers: IdTokens = field(default_factory=IdTokens)
    # The current exchange's reference ids by place: (kind, number).
    places: dict[Where, tuple[str, int]] = field(default_factory=dict)
    # Per kind, the token of each paired candidate value, and of each value that has not paired yet.
    candidate_tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    loose: dict[str, dict[str, str]] = field(default_factory=dict)
    # (kind, number) of the reference ids a candidate id has taken.
    paired: set[tuple[str, int]] = field(default_factory=set)

    def reference(self) -> _ReferenceIds:
        """The id side for a new exchange's reference answer (forgets the previous exchange's places)."""
        self.places.clear()
        return _ReferenceIds(self)

    def candidate(self) -> _CandidateIds:
        """The id side for the candidate answer of the exchange whose reference was normalized last."""
        return _CandidateIds(self)


class _ReferenceIds:
    __slots__ = ("pairing",)

    def __init__(self, pairing: IdPairing) -> None:
        self.pairing = pairing

    def place(self, kind: str, value: Any, where: Where) -> str:
        pairing = self.pairing
        number = pairing.numbers.number(kind, value)
        pairing.places[where] = (kind, number)
        return f"<{kind}:{number}>"


class _CandidateIds:
    __slots__ = ("pairing",)

    def __init__(self, pairing: IdPairing) -> None:
        self.pairing = pairing

    def place(self, kind: str, value: Any, where: Where) -> str:
        pairing = self.pairing
        table = pairing.candidate_tokens.get(kind)
        if table is None:
            table = pairing.candidate_tokens[kind] = {}
        key = str(value)
        token = table.get(key)
        if token is not None:
            return token
        counterpart = pairing.places.get(where)
        if counterpart is not None and counterpart[0] == kind and counterpart not in pairing.paired:
            pairing.paired.add(counterpart)
            token = table[key] = f"<{kind}:{counterpart[1]}>"
            return token
        loose = pairing.loose.get(kind)
        if loose is None:
            loose = pairing.loose[kind] = {}
        token = loose.get(key)
        if token is None:
            token = loose[key] = f"<{kind}:c{len(loose) + 1}>"
        return token


IdSide = IdTokens | _ReferenceIds | _CandidateIds


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalized tree, the ids of the rules that fired on it, and numeric tolerances by path."""

    tree: Any
    fired: tuple[str, ...] = ()
    tolerances: dict[str, float] = field(default_factory=dict)


def normalize(tree: Any, rules: Sequence[Rule], ids: IdSide | None = None) -> Normalized:
    """Apply ``rules`` (in order) to ``tree`` and return a new tree; ``tree`` is left untouched.

    ``ids`` numbers generated ids: an :class:`IdTokens` shared by the answers of one side, or a side
    of an :class:`IdPairing` (fresh numbering for this tree alone when None).
    """
    if not rules:
        return Normalized(tree)
    plan = _plan_for(rules)
    walker = _Walker(ids if ids is not None else IdTokens(), plan)
    result = walker.visit(tree, None, plan.root_edge(type(tree)))
    if result is _REMOVED:
        result = None
    fired = tuple(dict.fromkeys(walker.fired))
    return Normalized(result, fired, walker.tolerances)


# Edges are keyed by member names, which come from the answers; past this many edges (or states)
# per rule set, a run with unbounded distinct keys (user data as keys) computes edges afresh
# instead of growing: about 64k edges is a few MB.
_EDGE_CACHE_LIMIT = 65536
_STATE_CACHE_LIMIT = 4096
# Stands for every list index in a state where no rule selects a particular index.
_INDEX = object()


class _State:
    """Where the rules with concrete paths stand at one node: ``(rule, step index)`` pairs.

    States are interned per plan and remember, per (member name or index, type of the child), the
    edge to the child, so the per-node work of advancing every rule is done once per distinct
    shape of answer rather than once per node.
    """

    __slots__ = ("by_index", "edges", "pairs")

    def __init__(self, pairs: tuple[tuple[Rule, int], ...]) -> None:
        self.pairs = pairs
        self.edges: dict[tuple[Any, type], _Edge] = {}
        self.by_index = any(isinstance(rule.steps[position].selector, int) for rule, position in pairs)


@dataclass(frozen=True, slots=True)
class _Edge:
    """What happens at a child: the rules that complete there (in rule order) and the state below.

    ``visit`` is False when nothing can change the child or anything under it, so it is shared as is.
    """

    visit: bool
    descend: bool
    state: _State
    remove: Rule | None
    sorts: tuple[Rule, ...]
    applies: tuple[Rule, ...]


class _Plan:
    """Rules sorted by how they match, so the common shapes (``$..Name``, ``$..*``) cost a lookup."""

    __slots__ = ("by_name", "deep", "edges", "everywhere", "general", "order", "root", "roots", "states")

    def __init__(self, rules: Sequence[Rule]) -> None:
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
        self.root = tuple(root)
        self.by_name = {name: tuple(found) for name, found in by_name.items()}
        self.everywhere = tuple(everywhere)
        self.general = tuple(general)
        self.order = {id(rule): index for index, rule in enumerate(rules)}
        self.deep = bool(by_name or everywhere)
        self.states: dict[tuple[tuple[int, int], ...], _State] = {}
        self.edges = 0
        self.roots: dict[type, _Edge] = {}

    def state(self, pairs: list[tuple[Rule, int]]) -> _State:
        key = tuple((id(rule), position) for rule, position in pairs)
        found = self.states.get(key)
        if found is None:
            found = _State(tuple(pairs))
            if len(self.states) < _STATE_CACHE_LIMIT:
                self.states[key] = found
        return found

    def root_edge(self, kind: type) -> _Edge:
        edge = self.roots.get(kind)
        if edge is None:
            # The root is only reached by root rules, unfiltered by shape or type.
            container = issubclass(kind, dict | list)
            edge = self._edge(list(self.root), [(rule, 0) for rule in self.general], container)
            self.roots[kind] = edge
        return edge

    def edge(self, state: _State, key: Any, kind: type) -> _Edge:
        """The edge from ``state`` to a child at ``key`` whose type is ``kind`` (computed, then cached)."""
        complete: list[Rule] = []
        if self.by_name and isinstance(key, str):
            named = self.by_name.get(key)
            if named:
                complete.extend(rule for rule in named if _has_shape_type(kind, rule.shape))
        if self.everywhere:
            complete.extend(rule for rule in self.everywhere if _wants_type(rule, kind))
        next_pairs: list[tuple[Rule, int]] = []
        for rule, position in state.pairs:
            step = rule.steps[position]
            if step.deep:
                next_pairs.append((rule, position))
            selector = step.selector
            # Keys are str or int and selectors of the other type never match (no bool keys occur).
            # ``key`` is _INDEX only when no pair of this state selects a particular index.
            if selector in (ANY, key):
                if position + 1 == len(rule.steps):
                    if _has_shape_type(kind, rule.shape):
                        complete.append(rule)
                else:
                    next_pairs.append((rule, position + 1))
        if len(complete) > 1:
            order = self.order
            complete.sort(key=lambda rule: order[id(rule)])
        edge = self._edge(complete, next_pairs, issubclass(kind, dict | list))
        if self.edges < _EDGE_CACHE_LIMIT:
            self.edges += 1
            state.edges[(key, kind)] = edge
        return edge

    def _edge(self, complete: list[Rule], next_pairs: list[tuple[Rule, int]], container: bool) -> _Edge:
        descend = container and bool(next_pairs or self.deep)
        remove = next((rule for rule in complete if rule.action.removes), None)
        return _Edge(
            visit=bool(complete) or descend,
            descend=descend,
            state=self.state(next_pairs if container else []),
            remove=remove,
            sorts=tuple(rule for rule in complete if rule.action.reorders),
            # A sort fires when it sorts; applying it afterwards changes nothing.
            applies=tuple(rule for rule in complete if not rule.action.reorders),
        )


_PLANS: dict[int, tuple[Sequence[Rule], _Plan]] = {}


def _plan_for(rules: Sequence[Rule]) -> _Plan:
    cached = _PLANS.get(id(rules))
    if cached is not None and cached[0] is rules:
        return cached[1]
    plan = _Plan(rules)
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


def _wants_type(rule: Rule, kind: type) -> bool:
    """Whether a rule that matches every node can change a node of this type (a type-only test)."""
    if rule.shape is not None:
        return _has_shape_type(kind, rule.shape)
    return rule.action.changes(kind)


def _has_shape_type(kind: type, shape: str | None) -> bool:
    if shape is None:
        return True
    if shape == "timestamp":
        return issubclass(kind, TimestampText)
    return False


class _Walker:
    """One walk of one tree; also the ``Site`` through which actions number ids and note tolerances."""

    __slots__ = ("fired", "ids", "plan", "tolerances")

    def __init__(self, ids: IdSide, plan: _Plan) -> None:
        self.ids = ids
        self.plan = plan
        self.fired: list[str] = []
        self.tolerances: dict[str, float] = {}

    def place_id(self, kind: str, value: Any, where: Where) -> str:
        return self.ids.place(kind, value, where)

    def tolerate(self, chain: Any, tolerance: float) -> None:
        self.tolerances[format_path(_keys_of(chain))] = tolerance

    def visit(self, node: Any, chain: Any, edge: _Edge) -> Any:
        if edge.remove is not None:
            self.fired.append(edge.remove.id)
            return _REMOVED
        for rule in edge.sorts:
            node = self._apply(rule, node, chain)
        if edge.descend:
            node = self._children(node, chain, edge.state)
        for rule in edge.applies:
            node = self._apply(rule, node, chain)
        return node

    def _apply(self, rule: Rule, node: Any, chain: Any) -> Any:
        new, fired = rule.action.apply(rule.id, node, chain, self)
        if fired:
            self.fired.append(rule.id)
        return new
    def _children(self, node: Any, chain: Any, state: _State) -> Any:
        edges = state.edges
        plan = self.plan
        changed = False
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, child in node.items():
                kind = type(child)
                edge = edges.get((key, kind))
                if edge is None:
                    edge = plan.edge(state, key, kind)
                if edge.visit:
                    new = self.visit(child, (chain, key), edge)
                    if new is not child:
                        changed = True
                        if new is _REMOVED:
                            continue
                    out[key] = new
                else:
                    out[key] = child
            return out if changed else node
        items: list[Any] = []
        by_index = state.by_index
        for index, child in enumerate(node):
            kind = type(child)
            slot = index if by_index else _INDEX
            edge = edges.get((slot, kind))
            if edge is None:
                edge = plan.edge(state, slot, kind)
            if edge.visit:
                new = self.visit(child, (chain, index), edge)
                if new is not child:
                    changed = True
                    if new is _REMOVED:
                        continue
                items.append(new)
            else:
                items.append(child)
        return items if changed else node
