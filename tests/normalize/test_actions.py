"""The action table: every action is one class that checks its options and applies itself, so a new
action added to the table works in rule files and in the engine without touching either."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from compat_diff.errors import RuleError
from compat_diff.normalize import normalize, rules_from_yaml
from compat_diff.normalize.actions import ACTIONS, Action, Fail, Site
from compat_diff.normalize.rules import _KNOWN_KEYS


@dataclass(frozen=True, slots=True)
class Upper(Action):
    """A made-up action: upper-cases strings, optionally only those starting with ``prefix``."""

    name: ClassVar[str] = "upper"
    options: ClassVar[tuple[str, ...]] = ("prefix",)
    prefix: str = ""

    @classmethod
    def from_options(cls, raw: Mapping[str, Any], rule_id: str, fail: Fail) -> Action:
        prefix = raw.get("prefix", "")
        if not isinstance(prefix, str):
            raise fail("'prefix' must be a string")
        return cls(prefix=prefix)

    def changes(self, kind: type) -> bool:
        return issubclass(kind, str)

    def apply(self, rule_id: str, node: Any, chain: Any, site: Site) -> tuple[Any, bool]:
        if isinstance(node, str) and node.startswith(self.prefix):
            return node.upper(), True
        return node, False


@pytest.fixture
def with_upper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ACTIONS, "upper", Upper)
    monkeypatch.setattr("compat_diff.normalize.rules._KNOWN_KEYS", _KNOWN_KEYS | {"prefix"})


def test_a_new_action_is_one_entry_in_the_table(with_upper: None) -> None:
    rules = rules_from_yaml("- {id: t.up, reason: shout, path: '$..*', action: upper, prefix: ab}")
    tree = {"A": "abc", "B": ["abd", "xyz"], "C": 3}
    result = normalize(tree, rules.rules)
    assert result.tree == {"A": "ABC", "B": ["ABD", "xyz"], "C": 3}
    assert result.fired == ("t.up",)
    assert tree == {"A": "abc", "B": ["abd", "xyz"], "C": 3}


def test_a_new_action_validates_its_own_options(with_upper: None) -> None:
    with pytest.raises(RuleError, match=r"rule t\.up: 'prefix' must be a string"):
        rules_from_yaml("- {id: t.up, reason: shout, path: $.A, action: upper, prefix: 3}")


def test_unknown_action_lists_the_table() -> None:
    with pytest.raises(RuleError) as caught:
        rules_from_yaml("- {id: t.x, reason: x, path: $.A, action: [ignore]}")
    assert "is not one of ignore, type, timestamp, id, sort, regex, tolerance" in str(caught.value)


def test_each_action_of_the_table_parses_applies_and_pickles() -> None:
    text = """
- {id: t.ignore, reason: r, path: $.Gone, action: ignore}
- {id: t.type, reason: r, path: $.Size, action: type}
- {id: t.time, reason: r, path: $.When, action: timestamp}
- {id: t.item-id, reason: r, path: $.Id, action: id}
- {id: t.url, reason: r, path: $.Url, action: id, kind: host, pattern: '^https?://([^/]+)'}
- {id: t.sort, reason: r, path: $.Items, action: sort, key: N}
- {id: t.regex, reason: r, path: $.Text, action: regex, pattern: '\\d+', replacement: '#'}
- {id: t.tol, reason: r, path: $.Count, action: tolerance, tolerance: 2}
"""
    rules = rules_from_yaml(text)
    assert {rule.action.name for rule in rules.rules} == set(ACTIONS)
    tree = {
        "Gone": 1,
        "Size": 12,
        "When": "2024-01-02T03:04:05Z",
        "Id": "i-123",
        "Url": "http://host:1/q",
        "Items": [{"N": "b"}, {"N": "a"}],
        "Text": "v42",
        "Count": 7,
    }
    result = normalize(tree, pickle.loads(pickle.dumps(rules)).rules)
    assert result.tree == {
        "Size": "<type:integer>",
        "When": "<timestamp:iso8601 YYYY-MM-DDThh:mm:ssZ>",
        "Id": "<item-id:1>",
        "Url": "http://<host:1>/q",
        "Items": [{"N": "a"}, {"N": "b"}],
        "Text": "v#",
        "Count": 7,
    }
    assert result.tolerances == {"$.Count": 2.0}
    assert set(result.fired) == {rule.id for rule in rules.rules}
