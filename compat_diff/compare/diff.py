"""Comparing two normalized answers: deepdiff behind one function, turned into classified divergences.

Most pairs are equal after normalization, so plain equality is tried first and deepdiff only runs
on the pairs that differ. Lists are compared in order (a rule sorts them when order does not
matter). Every divergence carries the path in the syntax rules accept, so it can be pasted into a
rule file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deepdiff import DeepDiff

from compat_diff.compare.classify import classify
from compat_diff.model import Divergence
from compat_diff.normalize.actions import Tolerance
from compat_diff.normalize.paths import format_path, matches

_MAX_TEXT = 2000
_MAX_ITEMS = 50

# deepdiff report keys, mapped to what they mean for a candidate compared with the reference.
_CHANGE_KINDS = {
    "dictionary_item_removed": "missing",
    "iterable_item_removed": "missing",
    "attribute_removed": "missing",
    "set_item_removed": "missing",
    "dictionary_item_added": "extra",
    "iterable_item_added": "extra",
    "attribute_added": "extra",
    "set_item_added": "extra",
    "type_changes": "type",
    "values_changed": "value",
}


def compare(
    reference: Any,
    candidate: Any,
    rules: Iterable[Any] = (),
    *,
    seq: int = 0,
    tolerances: Mapping[str, float] | None = None,
) -> list[Divergence]:
    """Divergences of ``candidate`` from ``reference`` (both normalized trees), most severe first.

    ``rules`` are the normalizer rules in force; only their numeric tolerances matter here (the
    rest already shaped the trees). ``tolerances`` maps concrete paths to allowed differences.
    """
    if reference == candidate and type(reference) is type(candidate):
        return []
    allowed = dict(tolerances or {})
    tolerance_rules = [rule for rule in rules if isinstance(getattr(rule, "action", None), Tolerance)]
    diff = DeepDiff(
        reference, candidate, view="tree", verbose_level=2, cache_size=0, threshold_to_diff_deeper=0
    )
    found: list[Divergence] = []
    for report_key, levels in diff.items():
        change = _CHANGE_KINDS.get(report_key)
        if change is None:
            continue
        for level in _per_header(levels):
            keys = tuple(level.path(output_format="list"))
            path = format_path(keys)
            ref_value = _value(level.t1)
            cand_value = _value(level.t2)
            if change == "type" and (ref_value is None or cand_value is None):
                change_here = "value"
            else:
                change_here = change
            tolerated = _within(keys, path, ref_value, cand_value, allowed, tolerance_rules)
            if change_here == "value" and tolerated:
                continue
            kind, severity, message = classify(change_here, keys, ref_value, cand_value)
            found.append(
                Divergence(
                    seq=seq,
                    kind=kind,
                    severity=severity,
                    path=path,
                    reference=_clip(ref_value),
                    candidate=_clip(cand_value),
                    message=message,
                )
            )
    found.sort(key=_order)
    return found


_HEADERS_KEYS = ["ResponseMetadata", "HTTPHeaders"]


class _HeaderLevel:
    """One header of a headers map that only one side sent, as deepdiff would report it alone."""

    def __init__(self, name: str, reference: Any, candidate: Any) -> None:
        self.name = name
        self.t1 = reference
        self.t2 = candidate

    def path(self, output_format: str = "list") -> list[Any]:
        return [*_HEADERS_KEYS, self.name]


def _per_header(levels: Iterable[Any]) -> Iterable[Any]:
    """Levels, with a headers map present on one side only split into its headers, so each
    header is judged (and its path printed) on its own, as when both sides sent some."""
    for level in levels:
        if level.path(output_format="list") == _HEADERS_KEYS:
            reference, candidate = _value(level.t1), _value(level.t2)
            present = reference if isinstance(reference, dict) else candidate
            if isinstance(present, dict) and (reference is None or candidate is None):
                for name, value in present.items():
                    yield _HeaderLevel(
                        name, value if present is reference else None, value if present is candidate else None
                    )
                continue
        yield level


def _value(value: Any) -> Any:
    # deepdiff marks the absent side of an added/removed item with its NotPresent sentinel.
    if type(value).__name__ == "NotPresent":
        return None
    return value


def _within(
    keys: tuple[Any, ...],
    path: str,
    reference: Any,
    candidate: Any,
    allowed: Mapping[str, float],
    tolerance_rules: list[Any],
) -> bool:
    if not _is_number(reference) or not _is_number(candidate):
        return False
    tolerance = allowed.get(path)
    if tolerance is None:
        found = (rule.action.tolerance for rule in tolerance_rules if matches(rule.steps, keys))
        tolerance = next(found, None)
    if tolerance is None:
        return False
    return bool(abs(float(reference) - float(candidate)) <= tolerance)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _order(divergence: Divergence) -> tuple[int, str]:
    rank = {"critical": 0, "major": 1, "minor": 2}.get(divergence.severity, 3)
    return (rank, divergence.path)


def _clip(value: Any, depth: int = 0) -> Any:
    """Keep divergences small enough for a report: long texts and big subtrees are cut."""
    if isinstance(value, str):
        text = str(value)
        return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + f"... ({len(text)} characters)"
    if isinstance(value, dict):
        if depth > 4:
            return f"<object of {len(value)} members>"
        items = list(value.items())
        out = {str(k): _clip(v, depth + 1) for k, v in items[:_MAX_ITEMS]}
        if len(items) > _MAX_ITEMS:
            out["..."] = f"{len(items) - _MAX_ITEMS} more members"
        return out
    if isinstance(value, list | tuple):
        if depth > 4:
            return f"<list of {len(value)} items>"
        clipped = [_clip(v, depth + 1) for v in value[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            clipped.append(f"... {len(value) - _MAX_ITEMS} more items")
        return clipped
    return value
