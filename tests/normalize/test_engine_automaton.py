"""The normalizer remembers, per rule set, how rules advance from a node to a child.

These cases would go wrong if what is remembered were keyed too coarsely: the same member name
holding values of different types, rules that select one list index, more distinct member names
than are remembered, and rule sets used one after the other.
"""

from __future__ import annotations

from compat_diff.model import TimestampText
from compat_diff.normalize import IdTokens, engine, normalize, rules_from_yaml

TIMES = rules_from_yaml(
    """
- {id: t.times, reason: r, path: '$..*', shape: timestamp, action: timestamp}
- {id: t.ids, reason: r, path: '$..Id', action: id, kind: thing}
"""
).rules


def test_the_same_member_with_values_of_other_types_is_judged_by_each_value() -> None:
    stamp = TimestampText("2024-01-02T03:04:05Z")
    first = normalize({"When": stamp, "Id": "a"}, TIMES, IdTokens())
    second = normalize({"When": "2024-01-02T03:04:05Z", "Id": ["a"]}, TIMES, IdTokens())
    third = normalize({"When": stamp, "Id": "b"}, TIMES, IdTokens())
    assert first.tree == {"When": "<timestamp:iso8601 YYYY-MM-DDThh:mm:ssZ>", "Id": "<thing:1>"}
    # A plain string is no modeled timestamp, and an id rule leaves a list alone.
    assert second.tree == {"When": "2024-01-02T03:04:05Z", "Id": ["a"]}
    assert second.fired == ()
    assert third.tree == {"When": "<timestamp:iso8601 YYYY-MM-DDThh:mm:ssZ>", "Id": "<thing:1>"}


def test_a_rule_for_one_list_index_leaves_the_other_indexes_alone() -> None:
    rules = rules_from_yaml(
        """
- {id: t.second, reason: r, path: '$.Items[1].Name', action: type}
- {id: t.names, reason: r, path: '$..Owner', action: ignore}
"""
    ).rules
    tree = {"Items": [{"Name": "a", "Owner": 1}, {"Name": "b", "Owner": 2}, {"Name": "c"}]}
    for _ in range(3):
        result = normalize(tree, rules, IdTokens())
        assert result.tree == {"Items": [{"Name": "a"}, {"Name": "<type:string>"}, {"Name": "c"}]}
    other = normalize({"Items": [{"Name": "x"}, 5]}, rules, IdTokens())
    assert other.tree == {"Items": [{"Name": "x"}, 5]}


def test_answers_with_more_member_names_than_are_remembered_are_still_normalized(monkeypatch) -> None:
    # A smaller bound than the real one, so the answer below overflows it.
    monkeypatch.setattr(engine, "_EDGE_CACHE_LIMIT", 100)
    monkeypatch.setattr(engine, "_STATE_CACHE_LIMIT", 2)
    rules = rules_from_yaml("- {id: t.ids, reason: r, path: '$.*.Id', action: id, kind: k}").rules
    tree = {f"member{index}": {"Id": f"id-{index}", "Keep": index} for index in range(6000)}
    result = normalize(tree, rules, IdTokens())
    assert result.tree["member0"] == {"Id": "<k:1>", "Keep": 0}
    assert result.tree["member5999"] == {"Id": "<k:6000>", "Keep": 5999}
    again = normalize({"member5999": {"Id": "x"}, "other": {"Id": "y"}}, rules, IdTokens())
    assert again.tree == {"member5999": {"Id": "<k:1>"}, "other": {"Id": "<k:2>"}}


def test_rule_sets_used_in_turn_do_not_share_what_they_remember() -> None:
    ignore = rules_from_yaml("- {id: a.drop, reason: r, path: '$..Secret', action: ignore}").rules
    keep_type = rules_from_yaml("- {id: b.type, reason: r, path: '$..Secret', action: type}").rules
    tree = {"Outer": {"Secret": "s", "Other": 1}}
    for _ in range(2):
        assert normalize(tree, ignore).tree == {"Outer": {"Other": 1}}
        assert normalize(tree, keep_type).tree == {"Outer": {"Secret": "<type:string>", "Other": 1}}
    assert tree == {"Outer": {"Secret": "s", "Other": 1}}


def test_deep_rules_nested_in_each_other_still_apply_at_every_depth() -> None:
    rules = rules_from_yaml("- {id: t.deep, reason: r, path: '$..a..b', action: type}").rules
    tree = {"a": {"x": {"b": 1, "a": {"b": "two"}}}, "b": 3}
    result = normalize(tree, rules, IdTokens())
    assert result.tree == {"a": {"x": {"b": "<type:integer>", "a": {"b": "<type:string>"}}}, "b": 3}
