"""Polls: a read-only call whose recorded answer reports a resource's state is asked again until
the candidate reports the same state, or a bound expires.

A client that waits for a table, a query or an instance polls until it is ready; against the
reference the first poll often already answered ``ACTIVE``/``SUCCEEDED``/``running``, so the
recording holds one poll. A slower candidate answers it with ``CREATING`` first: that is not
an incompatibility. Which members are states comes from the output shape (``aws.shapes``): string
members named ``State``/``Status`` (or ending so), at any depth, and structures named so that hold
the state in a member (EC2's ``State: {Code, Name}``, whose state is at ``State.Name``). The
answer line says how many polls it took and how long (``polled``).
"""

from __future__ import annotations

from typing import Any

from compat_diff.aws.models import is_read_only
from compat_diff.aws.parse import parse_answer
from compat_diff.aws.shapes import state_members
from compat_diff.model import Exchange, HttpResponse

DEFAULT_POLL_TIMEOUT = 30.0


def pollable(exchange: Exchange) -> bool:
    """A read-only call whose answer can report a state."""
    if exchange.service is None or exchange.operation is None or exchange.response.status >= 300:
        return False
    return bool(state_members(exchange.service, exchange.operation)) and is_read_only(
        exchange.service, exchange.operation
    )


def states(exchange: Exchange, response: HttpResponse) -> dict[str, str]:
    """The state values of an answer, by path (``$.QueryExecution.Status.State``)."""
    names = state_members(exchange.service, exchange.operation)
    tree = parse_answer(response, exchange.op).tree
    found: dict[str, str] = {}
    _walk(tree, "$", names, found)
    return found


def _walk(node: Any, path: str, names: frozenset[tuple[str, str]], found: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ResponseMetadata":
                continue
            if (key, "") in names and isinstance(value, str):
                found[f"{path}.{key}"] = value
                continue
            inner = next((inside for name, inside in names if name == key and inside), None)
            if inner and isinstance(value, dict) and isinstance(value.get(inner), str):
                found[f"{path}.{key}.{inner}"] = value[inner]
            else:
                _walk(value, f"{path}.{key}", names, found)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, f"{path}[{index}]", names, found)


def recorded_states(exchange: Exchange) -> dict[str, str]:
    return states(exchange, exchange.response)


def reached(recorded: dict[str, str], candidate: dict[str, str]) -> bool:
    """Whether the candidate reports every recorded state it reports at all (same paths)."""
    shared = [path for path in recorded if path in candidate]
    return all(candidate[path] == recorded[path] for path in shared)
