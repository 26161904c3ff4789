"""CI over time: ``--fail-under`` thresholds, a baseline report and a known-divergences file.

Each of these only marks the result document (thresholds, finding statuses, the lists of new,
fixed and stale findings); the gate itself is defined once, in ``report.result.RunResult.gate``.
A known divergence stays visible (unlike an ignore rule, which removes the evidence) and does
not fail the gate; an entry that no longer matches anything is reported as stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from compat_diff.errors import InputError
from compat_diff.normalize.paths import PathSyntaxError, parse_path
from compat_diff.report.document import load_document
from compat_diff.report.result import (
    BaselineDelta,
    FindingRef,
    KnownEntry,
    KnownReport,
    OperationResult,
    RunResult,
    TargetResult,
    Threshold,
    collapse_path,
)

KNOWN_FORMAT = "compat-diff/known"
_KNOWN_KEYS = ("target", "service", "operation", "kind", "path", "reason", "issue")
_SCOPE = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class FailUnder:
    """One ``--fail-under`` value as typed: an optional scope and the lowest score (0..1)."""

    text: str
    minimum: float
    scope: tuple[str, ...] = ()  # (), (name,) or (target, service)


def check_gate_options(fail_under: Iterable[str], baseline: Path | None, known: Path | None) -> None:
    """Read the gate's inputs once before a long replay, so a typo fails at once (exit 2)."""
    read_fail_under(list(fail_under))
    if baseline is not None:
        load_baseline(baseline)
    if known is not None:
        load_known(known)


def read_fail_under(values: Iterable[str | float] | str | float | None) -> list[FailUnder]:
    """Parse ``0.9``, ``90%``, ``s3=0.9``, ``swift=90%`` or ``swift/s3=0.9``; exit 2 on a typo."""
    if values is None:
        return []
    if isinstance(values, str | float | int):
        values = [values]
    parsed = []
    for value in values:
        text = str(value).strip()
        scope_text, _, number = text.rpartition("=")
        scope: tuple[str, ...] = ()
        if scope_text:
            scope = tuple(scope_text.split("/"))
            if len(scope) > 2 or not all(_SCOPE.fullmatch(part) for part in scope):
                raise InputError(
                    f"--fail-under {text!r}: the part before '=' is a target, a service or "
                    "TARGET/SERVICE (letters, digits, '.', '_', '-')."
                )
        parsed.append(FailUnder(text=text, minimum=_minimum(text, number.strip()), scope=scope))
    return parsed


def _minimum(text: str, number: str) -> float:
    percent = number.endswith("%")
    try:
        value = float(number[:-1] if percent else number)
    except ValueError:
        raise InputError(f"--fail-under {text!r}: {number!r} is not a score (use 0.9 or 90%).") from None
    if percent:
        value /= 100
    if not 0 <= value <= 1:
        raise InputError(f"--fail-under {text!r}: a score is between 0 and 1 (or 0% and 100%).")
    return value


def resolve_thresholds(values: list[FailUnder], result: RunResult) -> tuple[Threshold, ...]:
    """Each scope named to a target or a service of this run; a name that is neither is an error."""
    targets = {target.name for target in result.targets}
    services = set(result.services)
    thresholds = []
    for value in values:
        if not value.scope:
            thresholds.append(Threshold(value.minimum))
        elif len(value.scope) == 2:
            target, service = value.scope
            if target not in targets:
                raise InputError(
                    f"--fail-under {value.text!r}: no target {target!r} in this run "
                    f"(targets: {', '.join(sorted(targets))})."
                )
            thresholds.append(Threshold(value.minimum, target=target, service=service))
        else:
            name = value.scope[0]
            if name in targets and name in services:
                raise InputError(
                    f"--fail-under {value.text!r}: {name!r} is both a target and a service; "
                    f"write {name}/SERVICE or TARGET/{name}."
                )
            if name in targets:
                thresholds.append(Threshold(value.minimum, target=name))
            elif name in services:
                thresholds.append(Threshold(value.minimum, service=name))
            else:
                raise InputError(
                    f"--fail-under {value.text!r}: {name!r} is neither a target "
                    f"({', '.join(sorted(targets))}) nor a service "
                    f"({', '.join(sorted(services)) or 'none'}) of this run."
                )
    return tuple(thresholds)


def parse_thresholds(values: Any, result: RunResult) -> tuple[Threshold, ...]:
    return resolve_thresholds(read_fail_under(values), result)


# --------------------------------------------------------------------------------------------
# Baselines


def load_baseline(path: Path) -> RunResult:
    """A baseline report: a report.json or the report directory holding one."""
    if path.is_dir():
        path = path / "report.json"
    return RunResult.from_json(load_document(path))


def _refs(result: RunResult, targets: set[str] | None = None) -> dict[tuple[str, ...], FindingRef]:
    refs: dict[tuple[str, ...], FindingRef] = {}
    for target in result.targets:
        if targets is not None and target.name not in targets:
            continue
        for op in target.operations:
            for finding in op.findings:
                ref = FindingRef(target.name, op.service, op.operation, finding)
                refs.setdefault(ref.key, ref)
    return refs


def apply_baseline(result: RunResult, baseline: RunResult, path: str) -> RunResult:
    """Mark every finding new or unchanged (known ones stay known) and list the fixed ones.

    Findings are matched by target, service, operation, kind, severity and path (list positions
    collapsed), so the same recording replayed again, or a longer one, lines up with the old run.
    """
    before = _refs(baseline, {target.name for target in result.targets})

    def mark(target: TargetResult, op: OperationResult) -> OperationResult:
        findings = []
        for finding in op.findings:
            if finding.status != "known":
                key = FindingRef(target.name, op.service, op.operation, finding).key
                finding = replace(finding, status="unchanged" if key in before else "new")
            findings.append(finding)
        return replace(op, findings=tuple(findings))

    marked = _map_operations(result, mark)
    now = _refs(marked)
    new = tuple(ref for ref in now.values() if ref.finding.status == "new")
    fixed = tuple(ref for key, ref in before.items() if key not in now)
    return replace(marked, baseline=BaselineDelta(path=path, new=new, fixed=fixed))


# --------------------------------------------------------------------------------------------
# Known divergences


def load_known(path: Path) -> list[KnownEntry]:
    """Read a known-divergences file (YAML, docs/reports.md); every mistake is one sentence."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"the known-divergences file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"the known-divergences file {path} cannot be read ({error}).") from None
    except yaml.YAMLError as error:
        raise InputError(f"the known-divergences file {path} is not valid YAML ({error}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("known"), list):
        raise InputError(f"the known-divergences file {path} needs a top-level 'known:' list.")
    entries = []
    for number, item in enumerate(data["known"], start=1):
        where = f"{path}, entry {number}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: an entry is a mapping with at least 'path' and 'reason'.")
        unknown = sorted(set(item) - set(_KNOWN_KEYS))
        if unknown:
            raise InputError(f"{where}: unknown key {unknown[0]!r} (valid: {', '.join(_KNOWN_KEYS)}).")
        for key in _KNOWN_KEYS:
            if key in item and not isinstance(item[key], str):
                raise InputError(f"{where}: {key!r} must be a string.")
        if not item.get("reason", "").strip():
            raise InputError(f"{where}: 'reason' is required (why is this divergence accepted for now?).")
        text = item.get("path")
        if not text:
            raise InputError(f"{where}: 'path' is required (a path as the report prints it).")
        try:
            parse_path(text)
        except PathSyntaxError as error:
            raise InputError(f"{where}: {error}.") from None
        entries.append(KnownEntry.from_json(item))
    return entries


def _matches(entry: KnownEntry, target: str, op: OperationResult, kind: str, path: str) -> bool:
    return (
        (entry.target is None or entry.target == target)
        and (entry.service is None or entry.service == op.service)
        and (entry.operation is None or entry.operation == op.operation)
        and (entry.kind is None or entry.kind == kind)
        and collapse_path(entry.path) == path
    )


def apply_known(result: RunResult, entries: list[KnownEntry], path: str) -> RunResult:
    used: set[int] = set()
    matched = 0

    def mark(target: TargetResult, op: OperationResult) -> OperationResult:
        nonlocal matched
        findings = []
        for finding in op.findings:
            for number, entry in enumerate(entries):
                if _matches(entry, target.name, op, finding.kind, finding.path):
                    used.add(number)
                    matched += 1
                    finding = replace(finding, status="known", reason=entry.reason, issue=entry.issue)
                    break
            findings.append(finding)
        return replace(op, findings=tuple(findings))

    marked = _map_operations(result, mark)
    stale = tuple(entry for number, entry in enumerate(entries) if number not in used)
    return replace(marked, known=KnownReport(path=path, matched=matched, stale=stale))


def _map_operations(result: RunResult, change: Any) -> RunResult:
    return replace(
        result,
        targets=tuple(
            replace(target, operations=tuple(change(target, op) for op in target.operations))
            for target in result.targets
        ),
    )
