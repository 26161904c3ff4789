"""``compat-diff learn-noise``: paths that vary between two runs of the same thing, as suggested rules.

The recording is compared with a replay against the reference itself (a run directory) or with a
second recording of the same script (paired by the n-th call of each operation). Whatever still
differs after the rules in force is noise by definition; each varying path becomes a suggested rule
whose action follows the value's shape (timestamp, id token, or ignore). Over-broad suggestions (the
root, a whole body, a whole list or object) and differences that are behaviour rather than noise
(status, error code) are refused and listed, never written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compat_diff.aws.models import service_names
from compat_diff.compare.exchange import SideTokens, diff_exchange
from compat_diff.compare.runfiles import Answer, answers_blob_dir, decode_answer, read_run
from compat_diff.errors import InputError
from compat_diff.model import Exchange
from compat_diff.normalize import RuleSet, load_rules, parse_path, timestamp_format
from compat_diff.recording import open_recording

_INDEX = re.compile(r"\[\d+\]")
_ID_SHAPE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9][A-Za-z0-9:/_.+=\-]{7,}$")
_BEHAVIOUR = ("$.ResponseMetadata.HTTPStatusCode", "$.Error.Code", "$.Error")


@dataclass
class Finding:
    service: str | None
    operation: str | None
    path: str
    count: int = 0
    samples: list[tuple[Any, Any]] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)


def run_learn_noise(
    recording: Path,
    against: Path,
    out: Path,
    console: Any,
    normalizer_paths: list[Path] | None = None,
    default_rules: bool = True,
) -> int:
    """Write the suggested rules; the rules already in force (default packs and given files) apply first."""
    rules = load_rules(normalizer_paths or [], default_rules=default_rules, known_services=service_names())
    findings, compared = learn(recording, against, rules)
    suggested, refused = suggest(findings)
    write_rules(out, suggested, refused, compared)
    console.print(
        f"compared {compared} exchange pairs; {len(suggested)} suggested rules written to {out}", markup=False
    )
    for path, reason in refused:
        console.print(f"refused {path}: {reason}", markup=False)
    return 0


def learn(recording: Path, against: Path, rules: RuleSet) -> tuple[dict[tuple[Any, ...], Finding], int]:
    """Every path that differs between the pairs, after the rules in force."""
    findings: dict[tuple[Any, ...], Finding] = {}
    compared = 0
    tokens = SideTokens()
    for exchange, answer in _pairs(recording, against):
        result = diff_exchange(exchange, answer, rules, None, tokens).result
        if not result.compared:
            continue
        compared += 1
        for divergence in result.divergences:
            general = _INDEX.sub("[*]", divergence.path)
            key = (exchange.service, exchange.operation, general)
            finding = findings.get(key)
            if finding is None:
                finding = findings[key] = Finding(exchange.service, exchange.operation, general)
            finding.count += 1
            finding.kinds.add(divergence.kind)
            if len(finding.samples) < 3:
                finding.samples.append((divergence.reference, divergence.candidate))
    return findings, compared


def _pairs(recording: Path, against: Path) -> Iterator[tuple[Exchange, Answer]]:
    reference = open_recording(recording)
    if against.is_dir():
        info = read_run(against)
        name = str(info.targets[0]["name"])
        answers_path = info.answers_path(name)
        if not answers_path.exists():
            raise InputError(f"the run directory {against} holds no answers for target {name!r}.")
        import orjson

        lines: dict[int, dict[str, Any]] = {}
        with answers_path.open("rb") as handle:
            for raw in handle:
                try:
                    line = orjson.loads(raw)
                    lines[int(line["seq"])] = line
                except (ValueError, KeyError, TypeError):
                    continue
        blob_dir = answers_blob_dir(answers_path)
        for exchange in reference:
            line = lines.get(exchange.seq)
            if line is None:
                continue
            try:
                # A body the run stored as equal to the recorded one is taken from the recording.
                found = decode_answer(line, blob_dir, exchange)
            except (ValueError, KeyError, TypeError):
                continue
            yield exchange, found
        return
    second = open_recording(against)
    # Two recordings of one script: the n-th call of an operation in one pairs with the n-th in the other.
    queues: dict[tuple[Any, ...], list[Exchange]] = {}
    for exchange in second:
        queues.setdefault((exchange.service, exchange.operation), []).append(exchange)
    seen: dict[tuple[Any, ...], int] = {}
    for exchange in reference:
        key = (exchange.service, exchange.operation)
        index = seen.get(key, 0)
        seen[key] = index + 1
        others = queues.get(key, [])
        if index < len(others):
            other = others[index]
            yield (
                exchange,
                Answer(seq=exchange.seq, outcome="answered", request=other.request, response=other.response),
            )


def suggest(findings: dict[tuple[Any, ...], Finding]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    refused: list[tuple[str, str]] = []
    # The same noise in several operations of a service becomes one service-wide rule.
    grouped: dict[tuple[Any, ...], list[Finding]] = {}
    for finding in sorted(findings.values(), key=lambda f: (f.service or "", f.operation or "", f.path)):
        where = f"{finding.service} {finding.operation} {finding.path}"
        problem = _too_broad(finding)
        if problem is not None:
            refused.append((where, problem))
            continue
        action, extra = _action_for(finding)
        key = (finding.service, finding.path, action, tuple(sorted(extra.items())))
        grouped.setdefault(key, []).append(finding)
    suggested: list[dict[str, Any]] = []
    used_ids: set[str] = set()
    for (service, path, action, extra), group in grouped.items():
        first = group[0]
        operations = sorted({f.operation for f in group if f.operation})
        rule: dict[str, Any] = {
            "id": _unique_id(first, used_ids),
            "reason": _reason(first, sum(f.count for f in group), len(operations)),
            "service": service,
            "operation": operations[0] if len(operations) == 1 else None,
            "path": path,
            "action": action,
            **dict(extra),
        }
        suggested.append({k: v for k, v in rule.items() if v is not None})
    return suggested, refused


def _too_broad(finding: Finding) -> str | None:
    path = finding.path
    if path == "$" or not parse_path(path):
        return "the root would hide the whole answer"
    if path == "$.Body" or (path.endswith(".Body") and finding.service is None):
        return "a whole body would hide every difference in it"
    if path in _BEHAVIOUR or path.startswith("$.ResponseMetadata.Integrity"):
        return "status, error codes and integrity checks are behaviour, not noise"
    for reference, candidate in finding.samples:
        for value in (reference, candidate):
            if isinstance(value, list):
                return "a whole list would hide its items; rules for its members are safer"
            if isinstance(value, dict):
                return "a whole object would hide its members; rules for its members are safer"
    return None


def _action_for(finding: Finding) -> tuple[str, dict[str, Any]]:
    values = [v for pair in finding.samples for v in pair if v is not None]
    if finding.kinds <= {"value", "type", "header"} and values:
        if all(timestamp_format(v) is not None and not isinstance(v, bool) for v in values) and any(
            isinstance(v, str) for v in values
        ):
            return "timestamp", {}
        if all(isinstance(v, str) and _ID_SHAPE.match(v) for v in values):
            return "id", {"kind": _kind(finding.path)}
    return "ignore", {}


def _kind(path: str) -> str:
    last = re.findall(r"[A-Za-z][A-Za-z0-9]*", path)
    name = last[-1] if last else "value"
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name)
    return "-".join(word.lower() for word in words) or "value"


def _unique_id(finding: Finding, used: set[str]) -> str:
    base = f"learned.{finding.service or 'any'}.{_kind(finding.path)}"
    candidate = base
    number = 2
    while candidate in used:
        candidate = f"{base}-{number}"
        number += 1
    used.add(candidate)
    return candidate


def _reason(finding: Finding, count: int, operations: int) -> str:
    reference, candidate = finding.samples[0] if finding.samples else (None, None)
    spread = f" in {operations} operations" if operations > 1 else ""
    return (
        f"Varied between two runs of the same calls ({count}x{spread}), "
        f"e.g. {_short(reference)} vs {_short(candidate)}."
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def write_rules(
    out: Path, suggested: list[dict[str, Any]], refused: list[tuple[str, str]], compared: int
) -> None:
    lines = [
        "# Suggested by compat-diff learn-noise: paths that varied between two runs of the same calls",
        f"# ({compared} exchange pairs compared). Review each rule before using it.",
    ]
    for where, reason in refused:
        lines.append(f"# refused: {where}: {reason}")
    body = yaml.safe_dump({"rules": suggested}, sort_keys=False, allow_unicode=True, width=1000)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n" + body, encoding="utf-8")
