"""Results per test and error conformance, read from a report's details.jsonl and its recording.

A recording made from a test suite (the pytest plugin, a generated suite, any client sending the
recorder's control requests) has one session per test, and each exchange notes its step (setup,
call, teardown; or the generated case). This view answers "which tests diverge, and where" and,
for every call the reference refused, "does the candidate refuse it the same way?":

- ``same-code``: the candidate's status and error code are the reference's;
- ``same-status``: the same status, another error code (or none);
- ``different``: another status (a success included);
- exchanges not compared (not run, too large ...) are counted apart.

The view is built once (``build``) and read by its writers: ``tests.json`` (format
``compat-diff/tests``), ``tests.md`` and the HTML report's per-test section. A test's verdict, and
each of its steps', is decided the way an operation's is (``result.verdict_of``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from compat_diff.model import SCORED_VERDICTS, Verdict
from compat_diff.report.files import write_file
from compat_diff.report.markdown import code_text
from compat_diff.report.result import verdict_of

TESTS_FORMAT = "compat-diff/tests"
TESTS_VERSION = 1
CONFORMANCE_CLASSES = ("same-code", "same-status", "different", "not-compared")
# Tests listed per target in tests.md (all of them are in tests.json).
MARKDOWN_LIMIT = 100


class _Counted:
    """Exchanges counted by verdict, and what the counts mean (as for an operation)."""

    verdicts: Counter[Verdict]

    @property
    def exchanges(self) -> int:
        return sum(self.verdicts.values())

    @property
    def compared(self) -> int:
        return sum(self.verdicts[v] for v in SCORED_VERDICTS)

    @property
    def matching(self) -> int:
        return self.verdicts["match"]

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.verdicts)


@dataclass
class StepResult(_Counted):
    """The exchanges of one step of a test (setup, call, teardown; or a generated case's step)."""

    step: str
    first_seq: int
    verdicts: Counter[Verdict] = field(default_factory=Counter)


@dataclass
class TestResult(_Counted):
    """One test (a session of the recording): its exchanges by verdict, by step, and the seqs of
    those compared that do not match, with the first divergence of each."""

    __test__ = False  # not a pytest test class, whatever its name

    test: str
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    steps: dict[str, StepResult] = field(default_factory=dict)
    diverging: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return self.compared != self.matching

    def ordered_steps(self) -> list[StepResult]:
        """The steps in the order the test ran them."""
        return sorted(self.steps.values(), key=lambda step: step.first_seq)

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "exchanges": self.exchanges,
            "compared": self.compared,
            "matching": self.matching,
            "verdict": self.verdict,
            "steps": [
                {
                    "step": step.step,
                    "exchanges": step.exchanges,
                    "compared": step.compared,
                    "matching": step.matching,
                    "verdict": step.verdict,
                }
                for step in self.ordered_steps()
            ],
            "diverging": self.diverging,
        }


@dataclass
class TargetTests:
    name: str
    tests: dict[str, TestResult] = field(default_factory=dict)
    conformance: Counter[str] = field(default_factory=Counter)
    conformance_by_service: dict[str, Counter[str]] = field(default_factory=dict)

    def sorted_tests(self) -> list[TestResult]:
        return sorted(self.tests.values(), key=lambda t: t.test)


@dataclass
class TestsView:
    """Every target's tests, and whether the recording had test sessions at all: whether some
    exchange noted the step a control request (the pytest plugin, a generated suite, curl) named."""

    __test__ = False

    targets: list[TargetTests]
    named: bool


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


def build(recording: Path, details: Path) -> TestsView:
    sessions = _sessions(recording)
    targets: dict[str, TargetTests] = {}
    with details.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            detail = orjson.loads(line)
            name = str(detail.get("target"))
            target = targets.setdefault(name, TargetTests(name))
            seq = int(detail.get("seq", 0))
            session, step = sessions.get(seq, ("", ""))
            test = target.tests.setdefault(session, TestResult(session))
            verdict = detail.get("verdict")
            test.verdicts[verdict] += 1
            step_result = test.steps.get(step)
            if step_result is None:
                step_result = test.steps[step] = StepResult(step, seq)
            step_result.first_seq = min(step_result.first_seq, seq)
            step_result.verdicts[verdict] += 1
            if verdict in SCORED_VERDICTS and verdict != "match":
                divergences = detail.get("divergences") or []
                first = divergences[0] if divergences else {}
                test.diverging.append(
                    {
                        "seq": seq,
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
    for target in targets.values():
        for test in target.tests.values():
            # details.jsonl is in completion order; a test reads in the order it ran.
            test.diverging.sort(key=lambda row: row["seq"])
    return TestsView(list(targets.values()), named=any(step for _, step in sessions.values()))


def to_json(view: TestsView) -> dict[str, Any]:
    return {
        "format": TESTS_FORMAT,
        "version": TESTS_VERSION,
        "targets": [
            {
                "name": target.name,
                "tests": [test.to_json() for test in target.sorted_tests()],
                "error_conformance": {
                    "total": {k: target.conformance[k] for k in CONFORMANCE_CLASSES},
                    "services": {
                        service: {k: counts[k] for k in CONFORMANCE_CLASSES}
                        for service, counts in sorted(target.conformance_by_service.items())
                    },
                },
            }
            for target in view.targets
        ],
    }


def to_markdown(view: TestsView) -> str:
    lines = ["# Results per test", ""]
    for target in view.targets:
        tests = target.sorted_tests()
        failing = [test for test in tests if test.failing]
        lines += [f"## {target.name}: {len(tests) - len(failing)} of {len(tests)} tests match", ""]
        if failing:
            lines += ["| test | matching | first divergence |", "|---|---:|---|"]
            for test in failing[:MARKDOWN_LIMIT]:
                first = test.diverging[0]
                what = code_text(first["kind"] or first["verdict"])
                where = (
                    f"{code_text(first['operation'])} `{code_text(first['step'] or '-')}` "
                    f"(seq {first['seq']}): {what}"
                )
                if first.get("path"):
                    where += f" at `{code_text(first['path'], 200)}`"
                # Test ids come from the suite: in a code span, one line, no backtick or pipe left.
                name = code_text(test.test or "(no session)", 300)
                lines.append(f"| `{name}` | {test.matching}/{test.compared} | {where} |")
            if len(failing) > MARKDOWN_LIMIT:
                lines.append(f"| ... {len(failing) - MARKDOWN_LIMIT} more in tests.json | | |")
            lines.append("")
        total = sum(target.conformance[k] for k in CONFORMANCE_CLASSES)
        if total:
            counts = ", ".join(f"{target.conformance[k]} {k}" for k in CONFORMANCE_CLASSES)
            lines += [f"Error conformance (calls the reference refused): {counts}.", ""]
    return "\n".join(lines) + "\n"


def build_tests_view(recording: Path, details: Path) -> TestsView | None:
    """The view, when the recording and the details can be read."""
    if not recording.is_file() or not details.is_file():
        return None
    return build(recording, details)


def write_tests(view: TestsView, report_dir: Path) -> list[Path]:
    """tests.json and tests.md into ``report_dir``."""
    return [
        write_file(report_dir / "tests.json", orjson.dumps(to_json(view), option=orjson.OPT_INDENT_2)),
        write_file(report_dir / "tests.md", to_markdown(view)),
    ]
