"""Every path a report prints parses back into the node it names (a property over arbitrary keys)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from compat_diff.normalize.paths import ANY, PathSyntaxError, format_path, matches, parse_path

keys = st.lists(st.one_of(st.text(max_size=12), st.integers(min_value=0, max_value=10**6)), max_size=6)


@given(keys)
@example(["Tags", "a']b"])
@example(["x\\", "'"])
def test_every_printed_path_parses_back_to_its_keys(path_keys: list[str | int]) -> None:
    printed = format_path(path_keys)
    steps = parse_path(printed)
    assert [step.selector for step in steps] == path_keys
    assert not any(step.deep for step in steps)
    assert matches(steps, tuple(path_keys))


def test_quotes_and_backslashes_in_a_key() -> None:
    printed = format_path(("Tags", "a']b"))
    assert printed == "$.Tags['a\\']b']"
    assert [s.selector for s in parse_path(printed)] == ["Tags", "a']b"]
    assert [s.selector for s in parse_path(format_path(("K", "c:\\x'")))] == ["K", "c:\\x'"]


def test_a_quoted_star_is_a_member_named_star_not_any() -> None:
    (quoted,) = parse_path("$['*']")
    assert quoted.selector == "*" and quoted.selector is not ANY
    assert parse_path("$.*")[0].selector is ANY
    assert parse_path("$[*]")[0].selector is ANY
    assert matches(parse_path("$['*']"), ("*",)) and not matches(parse_path("$['*']"), ("Other",))


def test_a_damaged_quoted_key_is_refused_with_its_position() -> None:
    with pytest.raises(PathSyntaxError, match="unclosed quote"):
        parse_path("$['abc")
    with pytest.raises(PathSyntaxError, match="expected '\\]'"):
        parse_path("$['a'b']")
