"""Normalizer rules: their YAML syntax, validation and selection per service, operation and target.

A rule file is a YAML list of rules (or a mapping with a ``rules`` list). Every problem is a
:class:`RuleError` naming the file, the rule id and what is wrong, because a rule that silently does
nothing hides exactly the differences a user wrote it about. A later rule with the id of an earlier
one replaces it, so a user's file can adjust or (``enabled: false``) switch off a default rule.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compat_diff.errors import RuleError
from compat_diff.normalize.actions import ACTIONS, Action
from compat_diff.normalize.paths import ANY, PathSyntaxError, Step, parse_path

RULES_VERSION = 1
SHAPES = ("timestamp",)
# The keys every rule may have; each action adds its own options (``Action.options``).
_COMMON_KEYS = ("id", "reason", "service", "operation", "target", "path", "action", "shape", "enabled")
_KNOWN_KEYS = frozenset(_COMMON_KEYS).union(*(action.options for action in ACTIONS.values()))
_ID = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    reason: str
    path: str
    action: Action
    steps: tuple[Step, ...]
    services: frozenset[str] | None = None
    operations: frozenset[str] | None = None
    targets: frozenset[str] | None = None
    shape: str | None = None
    source: str = ""

    def applies_to(self, service: str | None, operation: str | None, target: str | None) -> bool:
        if self.services is not None and service not in self.services:
            return False
        if self.operations is not None and operation not in self.operations:
            return False
        return self.targets is None or target in self.targets


@dataclass
class RuleSet:
    """The rules in force, in order, plus the files they came from."""

    rules: tuple[Rule, ...] = ()
    files: tuple[str, ...] = ()
    _cache: dict[tuple[str | None, str | None, str | None], tuple[Rule, ...]] = field(
        default_factory=dict, repr=False
    )

    def select(self, service: str | None, operation: str | None, target: str | None) -> tuple[Rule, ...]:
        """Rules applying to one operation for one target, computed once per combination."""
        key = (service, operation, target)
        found = self._cache.get(key)
        if found is None:
            found = tuple(rule for rule in self.rules if rule.applies_to(service, operation, target))
            self._cache[key] = found
        return found

    def __getstate__(self) -> dict[str, Any]:
        # Compiled patterns pickle fine; the per-process cache is rebuilt where it is used.
        return {"rules": self.rules, "files": self.files}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.rules = state["rules"]
        self.files = state["files"]
        self._cache = {}


def default_pack_dir() -> Path:
    """The folder of the default packs: inside the package when installed from a wheel
    (``compat_diff/normalizers``), ``normalizers/`` at the root of a checkout otherwise."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "normalizers"
    if installed.is_dir():
        return installed
    return package.parent / "normalizers"


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their ``*.yaml``/``*.yml`` files (sorted, ``common`` first)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            files.sort(key=lambda p: (p.stem != "common", p.name))
            found.extend(files)
        elif path.exists():
            found.append(path)
        else:
            raise RuleError(f"rule file {path} does not exist")
    return found


def load_rules(
    paths: Iterable[Path], default_rules: bool = True, known_services: Collection[str] | None = None
) -> RuleSet:
    """Load the default packs (unless switched off) and then the given files or folders.

    With ``known_services`` (the service names the API models know), a rule naming any other
    service is an error that suggests the closest names: such a rule would never apply.
    """
    sources: list[Path] = []
    if default_rules:
        sources.extend(rule_files([default_pack_dir()]))
    sources.extend(rule_files(paths))
    by_id: dict[str, Rule] = {}
    disabled: set[str] = set()
    for path in sources:
        for raw in _read_file(path):
            rule = parse_rule(raw, str(path), known_services)
            if rule is None:
                disabled.add(str(raw["id"]))
                by_id.pop(str(raw["id"]), None)
                continue
            disabled.discard(rule.id)
            by_id.pop(rule.id, None)
            by_id[rule.id] = rule
    return RuleSet(rules=tuple(by_id.values()), files=tuple(str(p) for p in sources))


def rules_from_yaml(text: str, source: str = "<rules>") -> RuleSet:
    """Rules from YAML text (for tests and for learn-noise round trips)."""
    rules = [rule for raw in _read_text(text, source) if (rule := parse_rule(raw, source)) is not None]
    return RuleSet(rules=tuple(rules), files=(source,))


def _read_file(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RuleError(f"rule file {path} cannot be read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise RuleError(f"rule file {path} is not UTF-8 text") from None
    return _read_text(text, str(path))


def _read_text(text: str, source: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise RuleError(f"rule file {source} is not valid YAML{line}") from None
    if data is None:
        return []
    if isinstance(data, dict) and "rules" in data:
        extra = sorted(set(data) - {"rules", "version"}, key=str)
        if extra:
            raise RuleError(f"rule file {source}: unknown top-level key {extra[0]!r} (known: rules, version)")
        version = data.get("version", RULES_VERSION)
        # bool is an int in Python: `version: true` must not read as version 1.
        if isinstance(version, bool) or not isinstance(version, int):
            raise RuleError(f"rule file {source}: 'version' must be a whole number, not {version!r}")
        if version != RULES_VERSION:
            raise RuleError(
                f"rule file {source} is version {version}; this compat-diff reads version {RULES_VERSION}"
            )
        data = data["rules"]
    if not isinstance(data, list):
        raise RuleError(f"rule file {source} must hold a list of rules (or a mapping with a 'rules' list)")
    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise RuleError(f"rule file {source}: entry #{index + 1} is not a mapping")
        if not isinstance(raw.get("id"), str) or not _ID.fullmatch(raw["id"]):
            raise RuleError(f"rule file {source}: entry #{index + 1} needs an 'id' (letters, digits, . _ -)")
    return data


def parse_rule(
    raw: dict[str, Any], source: str, known_services: Collection[str] | None = None
) -> Rule | None:
    """Validate one rule; ``None`` when the rule only switches off an earlier one."""
    rule_id = str(raw["id"])

    def fail(problem: str) -> RuleError:
        return RuleError(f"rule file {source}, rule {rule_id}: {problem}")

    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KNOWN_KEYS))})")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail(f"'enabled' must be true or false, not {enabled!r}")
    if not enabled:
        return None
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise fail("needs a one-line 'reason'")
    name = raw.get("action")
    action = ACTIONS.get(name) if isinstance(name, str) else None
    if action is None:
        raise fail(f"action {name!r} is not one of {', '.join(ACTIONS)}")
    path = raw.get("path")
    if not isinstance(path, str):
        raise fail("needs a 'path' such as $.ResponseMetadata.RequestId")
    try:
        steps = parse_path(path)
    except PathSyntaxError as error:
        raise fail(f"bad path: {error}") from None
    if action.name in ("ignore", "type") and all(step.selector == ANY for step in steps):
        # `$`, `$.*`, `$..*`, `$[*].*`: every member of every answer, so nothing would be compared.
        raise fail(f"action {action.name} on {path!r} would hide the whole answer; name the member it is for")
    if not steps and not action.allowed_at_root:
        raise fail(f"action {action.name} on the root '$' would hide the whole answer")
    shape = raw.get("shape")
    if shape is not None and shape not in SHAPES:
        raise fail(f"shape {shape!r} is not one of {', '.join(SHAPES)}")
    services = _names(raw.get("service"), "service", fail)
    if services is not None and known_services is not None:
        for name in sorted(services - set(known_services)):
            close = difflib.get_close_matches(name, list(known_services), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise fail(f"service {name!r} is not a service any API model knows{hint}")
    return Rule(
        id=rule_id,
        reason=reason.strip(),
        path=path,
        action=action.from_options(raw, rule_id, fail),
        steps=steps,
        services=services,
        operations=_names(raw.get("operation"), "operation", fail),
        targets=_names(raw.get("target"), "target", fail),
        shape=shape,
        source=source,
    )


def _names(value: Any, what: str, fail: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise fail(f"'{what}' must be a name or a list of names")
