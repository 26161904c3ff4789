"""One service's generated suite: for every operation, what to create first, the invalid requests,
the minimal valid request, and what to delete after.

Dependencies come from the model alone. A required member such as ``Bucket``, ``VpcId`` or
``QueueUrl`` names a resource; the operation that makes it is the service's ``Create<Noun>``
(``Run``/``Allocate``) whose noun is the member's stem and whose input takes that member (we choose
the name) or whose output holds it (the runner reads it from the answer). The matching
``Delete``/``Terminate``/``Release``/``Abort`` operation cleans it up.

The plan is plain JSON. A value read from an earlier answer is ``{"$ref": i, "path": "A.0.B",
"fallback": v}``: the runner substitutes the value at ``path`` of setup call ``i``'s answer, or
``fallback`` when there is none, so the calls made never depend on what a server answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compat_diff.generate import values as gen

CREATE_PREFIXES = ("Create", "Run", "Allocate")
CLEANUP_PREFIXES = ("Delete", "Terminate", "Release", "Abort", "Deregister")
_STEM_SUFFIXES = ("Identifier", "Names", "Name", "Ids", "Id", "Arns", "Arn", "Urls", "Url")
# How deep a chain of setup calls may go (a subnet needs a VPC; an ENI needs a subnet ...).
MAX_SETUP_DEPTH = 3


def _stem(member: str) -> str:
    for suffix in _STEM_SUFFIXES:
        if member.endswith(suffix) and len(member) > len(suffix):
            return member[: -len(suffix)].lower()
    return member.lower()


def _singular(word: str) -> str:
    lowered = word.lower()
    if lowered.endswith("ies"):
        return lowered[:-3] + "y"
    if lowered.endswith("ses") or lowered.endswith("xes"):
        return lowered[:-2]
    if lowered.endswith("s") and not lowered.endswith("ss"):
        return lowered[:-1]
    return lowered


def _noun(operation: str, prefixes: tuple[str, ...]) -> str | None:
    for prefix in prefixes:
        if operation.startswith(prefix) and len(operation) > len(prefix):
            return _singular(operation[len(prefix) :])
    return None


def _output_paths(shape: Any) -> dict[str, str]:
    """Member name -> dotted path of the shallowest string member of an output with that name
    (lists through their first item), searched breadth first so ``Vpc.VpcId`` wins over a nested one."""
    found: dict[str, str] = {}
    level: list[tuple[Any, str]] = [(shape, "")] if shape is not None else []
    for _ in range(4):
        following: list[tuple[Any, str]] = []
        for current, prefix in level:
            if current.type_name == "structure":
                for name, member in current.members.items():
                    path = f"{prefix}{name}"
                    if member.type_name == "string":
                        found.setdefault(name, path)
                    else:
                        following.append((member, f"{path}."))
            elif current.type_name == "list":
                following.append((current.member, f"{prefix}0."))
        level = following
    return found


@dataclass(frozen=True)
class Provider:
    operation: str
    by_name: bool  # True: the member is an input we choose; False: read from the answer at ``path``
    path: str = ""


@dataclass
class _Session:
    token: str
    values: dict[str, Any] = field(default_factory=dict)
    setup: list[dict[str, Any]] = field(default_factory=list)


class ServicePlanner:
    """Builds the cases of every operation of one botocore service model."""

    def __init__(self, model: Any, seed: int) -> None:
        self.model = model
        self.service = model.service_name
        self.protocol = model.protocol
        self.seed = seed
        self.names = sorted(model.operation_names)
        self._creators = [name for name in self.names if _noun(name, CREATE_PREFIXES)]
        self._outputs = {
            name: _output_paths(model.operation_model(name).output_shape) for name in self._creators
        }

    def provider_of(self, member: str, exclude: set[str]) -> Provider | None:
        """The operation that creates what ``member`` names, or None when nothing in the model does."""
        stem = _stem(member)
        scalar = member[:-1] if member.endswith("s") and _stem(member) != member.lower() else member
        wanted = _singular(stem)
        exact = [c for c in self._creators if _noun(c, CREATE_PREFIXES) == wanted]
        # "UploadId" is made by CreateMultipartUpload: a longer noun ending in the stem comes second.
        longer = [
            c for c in self._creators if c not in exact and (_noun(c, CREATE_PREFIXES) or "").endswith(wanted)
        ]
        for creator in exact + longer:
            if creator in exclude:
                continue
            input_shape = self.model.operation_model(creator).input_shape
            if input_shape is not None and scalar in input_shape.required_members:
                return Provider(creator, by_name=True)
            path = self._outputs[creator].get(scalar)
            if path is not None:
                return Provider(creator, by_name=False, path=path)
        return None

    def cleanup_of(self, creator: str) -> str | None:
        noun = _noun(creator, CREATE_PREFIXES)
        for name in self.names:
            if _noun(name, CLEANUP_PREFIXES) == noun and name != creator:
                return name
        return None

    # -- values -------------------------------------------------------------------------------

    def _fill(self, session: _Session, name: str, shape: Any, chain: set[str], depth: int) -> Any:
        """The value of a top-level member: shared across the session's calls, created if it must be."""
        key = name[:-1] if shape.type_name == "list" and name.endswith("s") else name
        if key in session.values:
            value = session.values[key]
            return [value] if shape.type_name == "list" and key != name else value
        scalar_shape = shape.member if shape.type_name == "list" else shape
        literal = gen.minimal_value(scalar_shape, key, session.token)
        provider = None
        if scalar_shape.type_name == "string" and not scalar_shape.enum and depth < MAX_SETUP_DEPTH:
            provider = self.provider_of(name, chain)
        if provider is None:
            session.values[key] = literal
        elif provider.by_name:
            session.values[key] = literal
            self._add_setup(session, provider.operation, chain, depth)
        else:
            index = self._add_setup(session, provider.operation, chain, depth)
            session.values[key] = {"$ref": index, "path": provider.path, "fallback": literal}
        value = session.values[key]
        if shape.type_name == "list" and not isinstance(value, list):
            return [value]
        return value

    def _params(self, session: _Session, operation: str, chain: set[str], depth: int) -> dict[str, Any]:
        input_shape = self.model.operation_model(operation).input_shape
        if input_shape is None:
            return {}
        params: dict[str, Any] = {}
        for name, member in input_shape.members.items():
            if name in input_shape.required_members:
                params[name] = self._fill(session, name, member, chain | {operation}, depth)
            elif depth > 0 and name == "CidrBlock" and member.type_name == "string":
                # A setup call must succeed: networks are optional in the model but needed in fact.
                params[name] = "10.0.0.0/16"
        if depth == 0 and not any(self.provider_of(name, chain) for name in params):
            # Some models make the resource's name optional because another member can name it
            # instead (Kinesis' StreamName or StreamARN, Logs' logGroupName or logGroupIdentifier):
            # the valid request names it, or it would only test "not found".
            for name, member in input_shape.members.items():
                if name not in params and self._names_resource(name, input_shape, chain):
                    params[name] = self._fill(session, name, member, chain | {operation}, depth)
                    break
        return params

    def _names_resource(self, name: str, input_shape: Any, chain: set[str]) -> bool:
        """Whether ``name`` is a string member ending in ``Name`` that something in the model creates."""
        member = input_shape.members[name]
        return (
            member.type_name == "string"
            and not member.enum
            and name.lower().endswith("name")
            and self.provider_of(name, chain) is not None
        )

    def _add_setup(self, session: _Session, creator: str, chain: set[str], depth: int) -> int:
        params = self._params(session, creator, chain | {creator}, depth + 1)
        session.setup.append({"step": f"setup:{creator}", "operation": creator, "params": params})
        return len(session.setup) - 1

    def _teardown(self, session: _Session) -> list[dict[str, Any]]:
        calls = []
        for call in reversed(session.setup):
            cleanup = self.cleanup_of(call["operation"])
            if cleanup is None:
                continue
            shape = self.model.operation_model(cleanup).input_shape
            params: dict[str, Any] = {}
            if shape is not None:
                for name in shape.required_members:
                    member = shape.members[name]
                    key = name[:-1] if member.type_name == "list" and name.endswith("s") else name
                    if key in session.values:
                        value = session.values[key]
                        params[name] = [value] if member.type_name == "list" else value
                    else:
                        params[name] = gen.minimal_value(member, name, session.token)
            calls.append({"step": f"teardown:{cleanup}", "operation": cleanup, "params": params})
        return calls

    # -- cases --------------------------------------------------------------------------------

    def operation_plan(self, operation: str) -> dict[str, Any]:
        token = gen.stable_token(str(self.seed), self.service, operation)
        session = _Session(token=token)
        valid = self._params(session, operation, {operation}, 0)
        input_shape = self.model.operation_model(operation).input_shape
        cases = [*self._invalid_cases(input_shape, valid, token), {"step": "valid", "params": valid}]
        return {
            "operation": operation,
            "session": f"generated/{self.service}/{operation}",
            "setup": session.setup,
            "cases": cases,
            "teardown": self._teardown(session),
        }

    def _invalid_cases(self, shape: Any, valid: dict[str, Any], token: str) -> list[dict[str, Any]]:
        if shape is None:
            return []
        cases: list[dict[str, Any]] = []

        def variant(step: str, name: str, value: Any) -> None:
            cases.append({"step": step, "params": {**valid, name: value}})

        for name in shape.members:
            if name in shape.required_members:
                cases.append(
                    {"step": f"missing:{name}", "params": {k: v for k, v in valid.items() if k != name}}
                )
        for name, member in shape.members.items():
            in_url = member.metadata.get("hostLabel") or member.serialization.get("location") == "uri"
            if in_url and name not in valid:
                # An optional URL or host member stays out: a broken one is not this operation.
                continue
            present = name in valid
            if present:
                wrong = gen.wrong_type_value(member, self.protocol)
                if wrong is not None and member.serialization.get("location") not in (
                    "uri",
                    "header",
                    "headers",
                ):
                    variant(f"type:{name}", name, wrong)
            if member.type_name == "string" and member.enum:
                variant(f"enum:{name}", name, gen.NOT_IN_ENUM)
            if member.type_name in ("integer", "long", "float", "double"):
                out = gen.out_of_range_value(member)
                if out is not None:
                    variant(f"range:{name}", name, out)
            if present and member.type_name == "string":
                for step, broken in (
                    (f"too-long:{name}", gen.too_long_value(member)),
                    (f"too-short:{name}", gen.too_short_value(member)),
                    (f"pattern:{name}", gen.pattern_breaking_value(member)),
                ):
                    if broken is not None and not (
                        broken == "" and member.serialization.get("location") == "uri"
                    ):
                        variant(step, name, broken)
            if present and member.type_name == "list":
                variant(f"empty-list:{name}", name, [])
        cases.append({"step": "unknown-member", "params": valid, "inject": {gen.UNKNOWN_MEMBER: "x"}})
        return cases

    def plan(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "protocol": self.protocol,
            "operations": [self.operation_plan(name) for name in self.names],
        }


def plan_service(model: Any, seed: int) -> dict[str, Any]:
    return ServicePlanner(model, seed).plan()
