"""Results per test and error conformance, read from a report's details.jsonl and its recording.

A recording made from a test suite (the pytest plugin, a generated suite, any client sending the
recorder's control requests) has one session per test, and each exchange notes its step (setup,
call, teardown; or the generated case). This view answers "which tests diverge, and where" and,
for every call the reference refused, "does the candidate refuse it the same way?":

- ``same-code``: the candidate's status and error code are the reference's;
- ``same-status``: the same status, another error code (or none);
- ``different``: another status (a success included);
- exchanges not compared (not run, too large ...) are counted apart.

It writes ``tests.json`` (format ``compat-diff/tests``) and ``tests.md`` into the report directory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from compat_diff.model import SCORED_VERDICTS

TESTS_FORMAT = "compat-diff/tests"
TESTS_VERSION = 1
CONFORMANCE_CLASSES = ("same-code", "same-status", "different", "not-compared")
# Tests listed per target in tests.md (all of them are in tests.json).
MARKDOWN_LIMIT = 100


@dataclass
class TestResult:
    test: str
    exchanges: int = 0
    compared: int = 0
    matching: int = 0
    diverging: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "exchanges": self.exchanges,
            "compared": self.compared,
            "matching": self.matching,
            "verdict": "match" if self.compared == self.matching else "diverges",
            "diverging": self.diverging,
        }


@dataclass
class TargetTests:
    name: str
    tests: dict[str, TestResult] = field(default_factory=dict)
    conformance: Counter[str] = field(default_factory=Counter)
    conformance_by_service: dict[str, Counter[str]] = field(default_factory=dict)


def _sessions(recording: Path) -> dict[int, tuple[str, str]]:
    """seq -> (session, step) from the recording's lines, without decoding bodies."""
    found: dict[int, tuple[str, str]] = {}
    with recording.open("rb") as lines:
        for number, line in enumerate(lines):
            if number == 0 or not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            notes = obj.get("notes") or {}
            found[int(obj["seq"])] = (str(obj.get("session") or ""), str(notes.get("step") or ""))
    return found


def conformance_class(detail: dict[str, Any]) -> str | None:
    """How the candidate answered a call the reference refused; None when the reference did not."""
    reference = (detail.get("reference") or {}).get("response") or {}
    status = reference.get("status")
    if not isinstance(status, int) or status < 400:
        return None
    if detail.get("verdict") not in SCORED_VERDICTS:
        return "not-compared"
    kinds = {divergence.get("kind") for divergence in detail.get("divergences") or []}
    if "status" in kinds or "transport" in kinds:
        return "different"
    if "error-code" in kinds:
        return "same-status"
    return "same-code"


def build(recording: Path, details: Path) -> list[TargetTests]:
    sessions = _sessions(recording)
    targets: dict[str, TargetTests] = {}
    with details.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            detail = orjson.loads(line)
            name = str(detail.get("target"))
            target = targets.setdefault(name, TargetTests(name))
            session, step = sessions.get(int(detail.get("seq", 0)), ("", ""))
            test = target.tests.setdefault(session, TestResult(session))
            test.exchanges += 1
            verdict = detail.get("verdict")
            if verdict in SCORED_VERDICTS:
                test.compared += 1
                if verdict == "match":
                    test.matching += 1
                else:
                    divergences = detail.get("divergences") or []
                    first = divergences[0] if divergences else {}
                    test.diverging.append(
                        {
                            "seq": detail.get("seq"),
                            "step": step,
                            "operation": detail.get("operation"),
                            "verdict": verdict,
                            "kind": first.get("kind"),
                            "path": first.get("path"),
                        }
                    )
            klass = conformance_class(detail)
            if klass is not None:
                target.conformance[klass] += 1
                service = str(detail.get("service") or "?")
                target.conformance_by_service.setdefault(service, Counter())[klass] += 1
    return list(targets.values())


def to_json(targets: list[TargetTests]) -> dict[str, Any]:
    return {
        "format": TESTS_FORMAT,
        "version": TESTS_VERSION,
        "targets": [
            {
                "name": target.name,
                "tests": [test.to_json() for test in sorted(target.tests.values(), key=lambda t: t.test)],
                "error_conformance": {
                    "total": {k: target.conformance[k] for k in CONFORMANCE_CLASSES},
                    "services": {
                        service: {k: counts[k] for k in CONFORMANCE_CLASSES}
                        for service, counts in sorted(target.conformance_by_service.items())
                    },
                },
            }
            for target in targets
        ],
    }


def to_markdown(targets: list[TargetTests]) -> str:
    lines = ["# Results per test", ""]
    for target in targets:
        tests = sorted(target.tests.values(), key=lambda t: t.test)
        failing = [test for test in tests if test.compared != test.matching]
        lines += [f"## {target.name}: {len(tests) - len(failing)} of {len(tests)} tests match", ""]
        if failing:
            lines += ["| test | matching | first divergence |", "|---|---:|---|"]
            for test in failing[:MARKDOWN_LIMIT]:
                first = test.diverging[0]
                what = first["kind"] or first["verdict"]
                where = f"{first['operation']} `{first['step'] or '-'}` (seq {first['seq']}): {what}"
                if first.get("path"):
                    where += f" at `{first['path']}`"
                lines.append(
                    f"| `{test.test or '(no session)'}` | {test.matching}/{test.compared} | {where} |"
                )
            if len(failing) > MARKDOWN_LIMIT:
                lines.append(f"| ... {len(failing) - MARKDOWN_LIMIT} more in tests.json | | |")
            lines.append("")
        total = sum(target.conformance[k] for k in CONFORMANCE_CLASSES)
        if total:
            counts = ", ".join(f"{target.conformance[k]} {k}" for k in CONFORMANCE_CLASSES)
            lines += [f"Error conformance (calls the reference refused): {counts}.", ""]
    return "\n".join(lines) + "\n"


def write_tests_view(recording: Path, details: Path, report_dir: Path) -> list[TargetTests] | None:
    """Write tests.json and tests.md when the recording and details can be read; returns the view."""
    if not recording.is_file() or not details.is_file():
        return None
    targets = build(recording, details)
    (report_dir / "tests.json").write_bytes(orjson.dumps(to_json(targets), option=orjson.OPT_INDENT_2))
    (report_dir / "tests.md").write_text(to_markdown(targets), encoding="utf-8")
    return targets
