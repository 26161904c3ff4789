"""What undoes a call, from the service models: the cleanup's table of verbs and nothing per service.

A call undoes another when its name is the other's with the verb replaced by its antonym
(``CreateUser``/``DeleteUser``, ``RunInstances``/``TerminateInstances``,
``AttachRolePolicy``/``DetachRolePolicy``, ``AddRoleToInstanceProfile``/
``RemoveRoleFromInstanceProfile`` ...) and the service model has both operations. The undo's
parameters are filled by member name: from the call's request, and from its answer (top level,
inside a top-level structure, where ``Policy.Arn`` also answers ``PolicyArn``, or in the items of
a top-level list, where every ``Instances[].InstanceId`` fills ``InstanceIds``).

After an undo, a waiter of the model named for it (``TerminateInstances`` -> ``InstanceTerminated``)
says when the change is complete, so what depended on it can be deleted next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.model

from compat_diff.aws.models import has_service, service_model, waiter_model
from compat_diff.aws.shapes import input_shape

# (verb, its antonym, whether the verb makes a resource of its own). Only a verb that makes a
# resource reports an undo it cannot fill: what the other verbs changed goes with its owner.
ANTONYMS: tuple[tuple[str, str, bool], ...] = (
    ("Create", "Delete", True),
    ("Run", "Terminate", True),
    ("Allocate", "Release", True),
    ("Attach", "Detach", False),
    ("Put", "Delete", False),
    ("Add", "Remove", False),
    ("Associate", "Disassociate", False),
    ("Register", "Deregister", False),
)

_PREPOSITION = re.compile(r"To(?=[A-Z])")


@dataclass(frozen=True)
class Undo:
    """The call that undoes ``operation``, and the members of its input we can fill."""

    operation: str
    undo: str
    makes: bool
    required: tuple[str, ...]
    strings: tuple[str, ...]  # string members of the undo's input
    lists: tuple[str, ...]  # list-of-string members of the undo's input
    waiter: str | None  # a waiter that says when the undo is complete


@cache
def undo_of(service: str | None, operation: str | None) -> Undo | None:
    """The undo of ``operation`` in ``service``, when the model has one."""
    if not service or not operation or not has_service(service):
        return None
    names = set(service_model(service).operation_names)
    for verb, antonym, makes in ANTONYMS:
        rest = operation[len(verb) :]
        if not operation.startswith(verb) or not rest[:1].isupper():
            continue
        # "Add ... To" is undone by "Remove ... From" (AddRoleToInstanceProfile).
        found = [name for name in (antonym + rest, antonym + _PREPOSITION.sub("From", rest)) if name in names]
        shape = input_shape(service, found[0]) if found else None
        if shape is None:
            return None
        undo = found[0]
        strings, lists = [], []
        for name, member in shape.members.items():
            if member.type_name == "string":
                strings.append(name)
            elif isinstance(member, botocore.model.ListShape) and member.member.type_name == "string":
                lists.append(name)
        return Undo(
            operation,
            undo,
            makes,
            tuple(shape.required_members),
            tuple(strings),
            tuple(lists),
            _waiter(service, antonym, rest),
        )
    return None


def undo_parameters(
    undo: Undo, request: dict[str, str], answer: Any
) -> tuple[dict[str, str | list[str]], list[str]]:
    """The undo's parameters from the call's request parameters and parsed answer, and the
    required members neither gave.

    A required member comes from the request, else the answer. When the undo requires nothing
    (``ReleaseAddress``, ``DeleteSecurityGroup``), the ids the answer gave (members ending in
    ``Id``) name the resource, else what the request named it with. Otherwise the request's other
    members the undo takes go along (``DeleteAccessKey``'s ``UserName``).
    """
    params: dict[str, str | list[str]] = {}
    for member in undo.strings:
        if member in undo.required:
            value = request.get(member) or _single(answer_values(answer, member))
            if value:
                params[member] = value
    for member in undo.lists:
        if member in undo.required:
            values = answer_values(answer, member) or answer_values(answer, _singular(member))
            if values:
                params[member] = values
    if not undo.required:
        ids = {
            member: value
            for member in undo.strings
            if member.endswith("Id") and (value := _single(answer_values(answer, member)))
        }
        params.update(ids or {member: request[member] for member in undo.strings if request.get(member)})
    else:
        for member in undo.strings:
            if member not in params and request.get(member):
                params[member] = request[member]
    missing = [member for member in undo.required if member not in params]
    return params, missing


def answer_values(answer: Any, member: str) -> list[str]:
    """The string values an answer gives for ``member`` (see the module docstring)."""
    if not isinstance(answer, dict):
        return []
    found: list[str] = []
    for key, value in answer.items():
        if key == "ResponseMetadata":
            continue
        if key == member:
            found.extend(_strings(value))
        elif isinstance(value, dict):
            found.extend(_member_of(value, key, member))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    found.extend(_member_of(item, "", member))
    return list(dict.fromkeys(found))


def _member_of(structure: dict[str, Any], name: str, member: str) -> list[str]:
    found: list[str] = []
    for key, value in structure.items():
        if key == member or (name and name + key == member):
            found.extend(_strings(value))
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _single(values: list[str]) -> str | None:
    return values[0] if len(values) == 1 else None


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _waiter(service: str, antonym: str, rest: str) -> str | None:
    """A waiter named for the undo: ``InstanceTerminated`` for ``TerminateInstances``."""
    model = waiter_model(service)
    if model is None:
        return None
    past = antonym + ("d" if antonym.endswith("e") else "ed")
    for noun in (_singular(rest), rest):
        if noun + past in model.waiter_names:
            return noun + past
    return None


@dataclass(frozen=True)
class WaitStep:
    """One poll of a waiter: the operation and parameters to call."""

    operation: str
    params: dict[str, Any]
    delay: float


def wait_step(service: str, waiter: str, undo_params: dict[str, Any]) -> WaitStep | None:
    """The waiter's poll, its parameters filled by name from the undo's; None when they do not
    fill its required members."""
    model = waiter_model(service)
    if model is None:
        return None
    config = model.get_waiter(waiter)
    shape = input_shape(service, config.operation)
    if shape is None:
        return None
    params = {name: value for name, value in undo_params.items() if name in shape.members}
    if not params or any(name not in params for name in shape.required_members):
        return None
    return WaitStep(config.operation, params, float(config.delay))


def wait_state(service: str, waiter: str, output: dict[str, Any] | None, error_code: str | None) -> str:
    """``success``, ``failure`` or ``retry``: what the waiter's acceptors say of one poll's result."""
    model = waiter_model(service)
    if model is None:
        return "failure"
    response: dict[str, Any] = output if output is not None else {"Error": {"Code": error_code or ""}}
    for acceptor in model.get_waiter(waiter).acceptors:
        try:
            if acceptor.matcher_func(response):
                return str(acceptor.state)
        except Exception:  # an acceptor's expression over an unexpected answer
            continue
    return "retry"
