"""The JSONPath subset that reports print and rules accept: one syntax for both directions.

A printed path (``$.Contents[0].Key``, ``$.ResponseMetadata.HTTPHeaders.x-amz-request-id``,
``$.Tags['aws:cloudformation']``) parses back into the steps that select exactly that node, so a
user can paste a path from a report into a rule. Rules may also use ``[*]`` / ``.*`` (any key or
index) and ``..Name`` (``Name`` at any depth).

Inside a quoted key a backslash escapes the next character (``\\'`` is a quote, ``\\\\`` a backslash),
and a quoted key is always that literal key: ``['*']`` is a member named ``*``, not "any".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class _AnyKey:
    """The wildcard selector (``*``): a sentinel, so that a member literally named ``*`` stays a key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _AnyKey()

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_NAME = re.compile(r"[A-Za-z0-9_\-]+|\*")


@dataclass(frozen=True, slots=True)
class Step:
    """One path step: a key (str), an index (int) or ANY; ``deep`` means "at any depth below"."""

    selector: str | int  # or ANY
    deep: bool = False

    def matches(self, key: str | int) -> bool:
        if self.selector == ANY:
            return True
        if isinstance(self.selector, int):
            return isinstance(key, int) and key == self.selector
        return isinstance(key, str) and key == self.selector


class PathSyntaxError(ValueError):
    """A path a rule gave cannot be read; the message says where."""


def parse_path(text: str) -> tuple[Step, ...]:
    """Read a rule path into steps; raises :class:`PathSyntaxError` naming the position."""
    if not text.startswith("$"):
        raise PathSyntaxError(f"a path starts with '$' (got {text!r})")
    steps: list[Step] = []
    position = 1
    while position < len(text):
        deep = False
        char = text[position]
        if text.startswith("..", position):
            deep = True
            position += 2
            if position < len(text) and text[position] == "[":
                step, position = _bracket(text, position, deep)
                steps.append(step)
                continue
            found = _NAME.match(text, position)
            if not found:
                raise PathSyntaxError(f"expected a name after '..' at position {position} of {text!r}")
            steps.append(Step(_name(found.group()), deep=True))
            position = found.end()
        elif char == ".":
            found = _NAME.match(text, position + 1)
            if not found:
                raise PathSyntaxError(f"expected a name after '.' at position {position} of {text!r}")
            steps.append(Step(_name(found.group())))
            position = found.end()
        elif char == "[":
            step, position = _bracket(text, position, deep)
            steps.append(step)
        else:
            raise PathSyntaxError(f"unexpected {char!r} at position {position} of {text!r}")
    return tuple(steps)


def _name(text: str) -> Any:
    return ANY if text == "*" else text


def _bracket(text: str, position: int, deep: bool) -> tuple[Step, int]:
    if position + 1 < len(text) and text[position + 1] in "'\"":
        return _quoted(text, position, deep)
    end = text.find("]", position)
    if end < 0:
        raise PathSyntaxError(f"unclosed '[' at position {position} of {text!r}")
    inner = text[position + 1 : end]
    if inner == "*":
        return Step(ANY, deep), end + 1
    if inner.isdigit() and inner.isascii():
        return Step(int(inner), deep), end + 1
    raise PathSyntaxError(
        f"cannot read [{inner}] at position {position} of {text!r} (use [0], [*] or ['key'])"
    )


def _quoted(text: str, position: int, deep: bool) -> tuple[Step, int]:
    """A quoted key from ``[`` at ``position``: the characters up to the closing quote, unescaped."""
    quote = text[position + 1]
    key: list[str] = []
    index = position + 2
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            key.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            if not text.startswith("]", index + 1):
                raise PathSyntaxError(f"expected ']' after the quoted key at position {index} of {text!r}")
            return Step("".join(key), deep), index + 2
        key.append(char)
        index += 1
    raise PathSyntaxError(f"unclosed quote at position {position} of {text!r}")


def format_path(keys: tuple[str | int, ...] | list[str | int]) -> str:
    """The printed form of a concrete path: ``$.Contents[0].Key``."""
    parts = ["$"]
    for key in keys:
        parts.append(format_key(key))
    return "".join(parts)


def format_key(key: str | int) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    if _PLAIN_KEY.fullmatch(key):
        return f".{key}"
    return "['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"


def join(parent: str, key: str | int) -> str:
    return parent + format_key(key)


def get_at(tree: Any, keys: tuple[str | int, ...]) -> Any:
    """The value at a concrete path, or raise ``KeyError``/``IndexError``."""
    node = tree
    for key in keys:
        node = node[key]
    return node


def matches(steps: tuple[Step, ...], keys: tuple[str | int, ...]) -> bool:
    """Whether a concrete path is selected by a rule path (used outside the normalizer walk)."""
    return _match_from(steps, 0, keys, 0)


def _match_from(steps: tuple[Step, ...], si: int, keys: tuple[str | int, ...], ki: int) -> bool:
    if si == len(steps):
        return ki == len(keys)
    if ki == len(keys):
        return False
    step = steps[si]
    if step.matches(keys[ki]) and _match_from(steps, si + 1, keys, ki + 1):
        return True
    return step.deep and _match_from(steps, si, keys, ki + 1)
