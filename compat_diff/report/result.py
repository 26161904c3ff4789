"""The one result document: run, target, service, operation, finding and divergence, typed.

The compare stage builds a :class:`RunResult` once; every writer (report.json, HTML, JUnit,
Markdown, badges, the console and the exit status) only reads it. What "compared", "matching",
a score, an operation's verdict and the CI gate mean is defined here and nowhere else:

- an exchange is *compared* when its verdict is scored (match, diverges, not-implemented,
  error, too-large: an answer over the replay's size limit fails); skipped, not-replayable,
  not-run, reference-unparseable and internal-error exchanges are shown but never count for or
  against a candidate;
- it *matches* when its verdict is "match" (no major or critical divergence remains);
- a score is matching / compared, and ``None`` when nothing was compared;
- an operation fails when one of its compared exchanges does not match.

``RunResult.from_json`` reads any report.json of version 1, including the smaller documents
older versions wrote (counts it lacks are derived from the ones it has).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from compat_diff.model import (
    EXCLUDED_VERDICTS,
    SCORED_VERDICTS,
    SEVERITIES,
    SEVERITY_ORDER,
    VERDICTS,
    Divergence,
    Verdict,
    counts_against,
)

FORMAT = "compat-diff/report"
VERSION = 1

# "new": absent from the baseline; "unchanged": in the baseline too; "known": listed in the
# known-divergences file; "": neither a baseline nor a known file was given.
FindingStatus = Literal["", "new", "unchanged", "known"]
EXCUSED: tuple[FindingStatus, ...] = ("unchanged", "known")
# The order an operation's failing verdicts take precedence in.
_FAILING_ORDER: tuple[Verdict, ...] = ("diverges", "not-implemented", "error", "too-large")
# Outcomes that mean compat-diff could not compare: a gate must not pass on them silently.
_BLOCKING: tuple[Verdict, ...] = ("not-run", "internal-error")

_LIST_INDEX = re.compile(r"\[[0-9]+\](?=(?:[^']*'[^']*')*[^']*$)")


def score(matching: int, compared: int) -> float | None:
    return round(matching / compared, 4) if compared else None


def collapse_path(path: str) -> str:
    """The path with every list position replaced by ``[*]`` (quoted keys are left alone), so
    the same divergence over many list elements is one finding; still a path rules accept."""
    return _LIST_INDEX.sub("[*]", path)


# --------------------------------------------------------------------------------------------
# Divergences (the model's frozen dataclass) to and from JSON


def divergence_to_json(divergence: Divergence) -> dict[str, Any]:
    out: dict[str, Any] = {
        "seq": divergence.seq,
        "kind": divergence.kind,
        "severity": divergence.severity,
        "path": divergence.path,
        "reference": divergence.reference,
        "candidate": divergence.candidate,
        "message": divergence.message,
        "caused_by": divergence.caused_by,
    }
    if divergence.folded:
        out["folded"] = [divergence_to_json(d) for d in divergence.folded]
    return out


def divergence_from_json(obj: Mapping[str, Any]) -> Divergence:
    seq = obj.get("seq")
    caused_by = obj.get("caused_by")
    return Divergence(
        seq=seq if isinstance(seq, int) else 0,
        kind=cast(Any, str(obj.get("kind") or "value")),
        severity=cast(Any, str(obj.get("severity") or "major")),
        path=str(obj.get("path") or "$"),
        reference=obj.get("reference"),
        candidate=obj.get("candidate"),
        message=str(obj.get("message") or ""),
        caused_by=caused_by if isinstance(caused_by, int) else None,
        folded=tuple(divergence_from_json(d) for d in obj.get("folded") or () if isinstance(d, Mapping)),
    )


# --------------------------------------------------------------------------------------------
# Findings: one divergence pattern of an operation


@dataclass(frozen=True, slots=True)
class Finding:
    """The same divergence (kind, severity, path with list positions collapsed) in one operation,
    however many exchanges and list elements it occurred in; the first occurrence is the example."""

    kind: str
    severity: str
    path: str
    count: int
    seqs: tuple[int, ...]
    reference: Any = None
    candidate: Any = None
    message: str = ""
    caused_by: int | None = None
    status: FindingStatus = ""
    reason: str | None = None  # why it is known (from the known-divergences file)
    issue: str | None = None

    @property
    def counts(self) -> bool:
        return counts_against(self.severity)

    @property
    def excused(self) -> bool:
        return self.status in EXCUSED

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.severity, self.path)

    def describe(self) -> str:
        """One line: how bad, what kind, where, how often, and both sides as JSON."""
        times = f" x{self.count}" if self.count > 1 else ""
        line = f"{self.severity} {self.kind} at {self.path}{times}: reference {json_text(self.reference)}, "
        line += f"candidate {json_text(self.candidate)}"
        if self.message:
            line += f" ({self.message})"
        if self.caused_by is not None:
            line += f" [caused by seq {self.caused_by}]"
        return line

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "severity": self.severity,
            "path": self.path,
            "count": self.count,
            "seqs": list(self.seqs),
            "reference": self.reference,
            "candidate": self.candidate,
            "message": self.message,
            "caused_by": self.caused_by,
        }
        if self.status:
            out["status"] = self.status
        if self.reason is not None:
            out["reason"] = self.reason
        if self.issue is not None:
            out["issue"] = self.issue
        return out

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> Finding:
        status = obj.get("status") or ""
        caused_by = obj.get("caused_by")
        return Finding(
            kind=str(obj.get("kind") or "value"),
            severity=str(obj.get("severity") or "major"),
            path=str(obj.get("path") or "$"),
            count=int(obj.get("count") or 1),
            seqs=tuple(int(s) for s in obj.get("seqs") or () if isinstance(s, int)),
            reference=obj.get("reference"),
            candidate=obj.get("candidate"),
            message=str(obj.get("message") or ""),
            caused_by=caused_by if isinstance(caused_by, int) else None,
            status=cast(FindingStatus, status if status in ("new", "unchanged", "known") else ""),
            reason=obj.get("reason"),
            issue=obj.get("issue"),
        )


def json_text(value: Any, limit: int = 200) -> str:
    """A value as JSON text (``"text/plain"``, ``null``, ``{"a": 1}``), cut to ``limit``."""
    import orjson

    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    except TypeError:
        text = orjson.dumps(str(value)).decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def findings_of(divergences: Iterable[Divergence]) -> list[Finding]:
    """Divergences grouped into findings, worst first, then most frequent."""
    grouped: dict[tuple[str, str, str], Finding] = {}
    for divergence in divergences:
        key = (divergence.kind, divergence.severity, collapse_path(divergence.path))
        found = grouped.get(key)
        if found is None:
            grouped[key] = Finding(
                kind=divergence.kind,
                severity=divergence.severity,
                path=key[2],
                count=1,
                seqs=(divergence.seq,),
                reference=divergence.reference,
                candidate=divergence.candidate,
                message=divergence.message,
                caused_by=divergence.caused_by,
            )
        else:
            seqs = (
                found.seqs
                if divergence.seq in found.seqs or len(found.seqs) >= 10
                else (*found.seqs, divergence.seq)
            )
            grouped[key] = replace(found, count=found.count + 1, seqs=seqs)
    return rank_findings(grouped.values())


def rank_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), -f.count, f.path, f.kind))


# --------------------------------------------------------------------------------------------
# Operations, services, targets


def verdict_of(verdicts: Mapping[Verdict, int]) -> Verdict:
    """The verdict of a group of exchanges (an operation, a test, a test's step) from how many had
    each verdict: the worst scored verdict; "match" when all compared match; when nothing was
    compared, the most frequent reason why not."""
    compared = sum(verdicts.get(v, 0) for v in SCORED_VERDICTS)
    if compared > verdicts.get("match", 0):
        return next(v for v in _FAILING_ORDER if verdicts.get(v, 0))
    if compared:
        return "match"
    present = [v for v in EXCLUDED_VERDICTS if verdicts.get(v, 0)]
    if not present:
        return "skipped"
    return max(present, key=lambda v: verdicts[v])


def _verdict_counts(obj: Mapping[str, Any]) -> dict[Verdict, int]:
    counts: dict[Verdict, int] = dict.fromkeys(VERDICTS, 0)
    given = obj.get("verdicts")
    if isinstance(given, Mapping):
        for verdict in VERDICTS:
            value = given.get(verdict)
            if isinstance(value, int):
                counts[verdict] = value
        return counts
    # An older document: derive the counts from exchanges, compared, matching and the verdict.
    exchanges = int(obj.get("exchanges") or 0)
    matching = int(obj.get("matching") or 0)
    given_verdict = obj.get("verdict")
    compared = obj.get("compared")
    if not isinstance(compared, int):
        compared = 0 if given_verdict == "skipped" else exchanges
    failing: Verdict = cast(Verdict, given_verdict) if given_verdict in _FAILING_ORDER else "diverges"
    counts["match"] = matching
    counts[failing] = max(compared - matching, 0)
    counts["skipped"] = max(exchanges - compared, 0)
    return counts


@dataclass(frozen=True)
class OperationResult:
    service: str
    operation: str
    verdicts: Mapping[Verdict, int]
    divergences: tuple[Divergence, ...] = ()
    more_divergences: int = 0
    findings: tuple[Finding, ...] = ()
    severities: Mapping[str, int] = field(default_factory=dict)
    rules_fired: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def exchanges(self) -> int:
        return sum(self.verdicts.values())

    @property
    def compared(self) -> int:
        return sum(self.verdicts.get(v, 0) for v in SCORED_VERDICTS)

    @property
    def matching(self) -> int:
        return self.verdicts.get("match", 0)

    @property
    def score(self) -> float | None:
        return score(self.matching, self.compared)

    @property
    def failing(self) -> bool:
        """Some compared exchange does not match: what the score counts."""
        return self.compared > self.matching

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.verdicts)

    @property
    def not_compared(self) -> dict[Verdict, int]:
        return {v: self.verdicts[v] for v in EXCLUDED_VERDICTS if self.verdicts.get(v, 0)}

    @property
    def failing_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.counts]

    @property
    def gate_failing(self) -> bool:
        """Fails the CI gate: failing, and not every finding that counts is known or in the baseline."""
        if not self.failing:
            return False
        counting = self.failing_findings
        return not counting or not all(f.excused for f in counting)

    @property
    def top_finding(self) -> Finding | None:
        ranked = [f for f in self.failing_findings if not f.excused] or self.failing_findings
        return ranked[0] if ranked else (self.findings[0] if self.findings else None)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "exchanges": self.exchanges,
            "compared": self.compared,
            "matching": self.matching,
            "score": self.score,
            "verdict": self.verdict,
            "verdicts": {v: n for v, n in self.verdicts.items() if n},
            "severities": {s: self.severities.get(s, 0) for s in SEVERITIES},
            "rules_fired": list(self.rules_fired),
            "findings": [f.to_json() for f in self.findings],
            "divergences": [divergence_to_json(d) for d in self.divergences],
            "more_divergences": self.more_divergences,
            "notes": list(self.notes),
        }

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> OperationResult:
        divergences = tuple(
            divergence_from_json(d) for d in obj.get("divergences") or () if isinstance(d, Mapping)
        )
        given_findings = obj.get("findings")
        if isinstance(given_findings, list):
            findings = tuple(Finding.from_json(f) for f in given_findings if isinstance(f, Mapping))
        else:
            findings = tuple(findings_of(divergences))
        severities = obj.get("severities")
        if not isinstance(severities, Mapping):
            severities = Counter(d.severity for d in divergences)
        return OperationResult(
            service=str(obj.get("service") or "unknown"),
            operation=str(obj.get("operation") or "unknown"),
            verdicts=_verdict_counts(obj),
            divergences=divergences,
            more_divergences=int(obj.get("more_divergences") or 0),
            findings=findings,
            severities={s: int(severities.get(s, 0)) for s in SEVERITIES},
            rules_fired=tuple(str(r) for r in obj.get("rules_fired") or ()),
            notes=tuple(str(n) for n in obj.get("notes") or ()),
        )


@dataclass(frozen=True, slots=True)
class ServiceResult:
    service: str
    operations: int
    exchanges: int
    compared: int
    matching: int

    @property
    def score(self) -> float | None:
        return score(self.matching, self.compared)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "exchanges": self.exchanges,
            "compared": self.compared,
            "matching": self.matching,
            "score": self.score,
            "operations": self.operations,
        }


@dataclass(frozen=True)
class TargetResult:
    name: str
    endpoint: str | None
    operations: tuple[OperationResult, ...]

    @property
    def exchanges(self) -> int:
        return sum(op.exchanges for op in self.operations)

    @property
    def compared(self) -> int:
        return sum(op.compared for op in self.operations)

    @property
    def matching(self) -> int:
        return sum(op.matching for op in self.operations)

    @property
    def score(self) -> float | None:
        return score(self.matching, self.compared)

    @property
    def verdicts(self) -> dict[Verdict, int]:
        counts: dict[Verdict, int] = dict.fromkeys(VERDICTS, 0)
        for op in self.operations:
            for verdict, count in op.verdicts.items():
                counts[verdict] += count
        return counts

    @property
    def severities(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        for op in self.operations:
            for severity in SEVERITIES:
                counts[severity] += op.severities.get(severity, 0)
        return counts

    @property
    def services(self) -> tuple[ServiceResult, ...]:
        rows: dict[str, list[OperationResult]] = {}
        for op in self.operations:
            rows.setdefault(op.service, []).append(op)
        return tuple(
            ServiceResult(
                service=name,
                operations=len(ops),
                exchanges=sum(op.exchanges for op in ops),
                compared=sum(op.compared for op in ops),
                matching=sum(op.matching for op in ops),
            )
            for name, ops in sorted(rows.items())
        )

    def service(self, name: str) -> ServiceResult | None:
        return next((row for row in self.services if row.service == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "score": self.score,
            "exchanges": self.exchanges,
            "compared": self.compared,
            "matching": self.matching,
            "verdicts": self.verdicts,
            "severities": self.severities,
            "services": [row.to_json() for row in self.services],
            "operations": [op.to_json() for op in self.operations],
        }

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> TargetResult:
        operations = [
            OperationResult.from_json(op) for op in obj.get("operations") or () if isinstance(op, Mapping)
        ]
        return TargetResult(
            name=str(obj["name"]),
            endpoint=obj.get("endpoint"),
            operations=tuple(sorted(operations, key=lambda op: (op.service, op.operation))),
        )


# --------------------------------------------------------------------------------------------
# Baselines, known divergences and the gate


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A finding named by where it is, for the lists of new and fixed findings."""

    target: str
    service: str
    operation: str
    finding: Finding

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        return (self.target, self.service, self.operation, *self.finding.key)

    def describe(self) -> str:
        return f"{self.target}: {self.service}.{self.operation}: {self.finding.describe()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "service": self.service,
            "operation": self.operation,
            **self.finding.to_json(),
        }

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> FindingRef:
        return FindingRef(
            str(obj.get("target")), str(obj.get("service")), str(obj.get("operation")), Finding.from_json(obj)
        )


@dataclass(frozen=True, slots=True)
class BaselineDelta:
    """What changed since a baseline report: findings that are new and findings that are fixed."""

    path: str
    new: tuple[FindingRef, ...] = ()
    fixed: tuple[FindingRef, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "new": [f.to_json() for f in self.new],
            "fixed": [f.to_json() for f in self.fixed],
        }

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> BaselineDelta:
        return BaselineDelta(
            path=str(obj.get("path") or ""),
            new=tuple(FindingRef.from_json(f) for f in obj.get("new") or () if isinstance(f, Mapping)),
            fixed=tuple(FindingRef.from_json(f) for f in obj.get("fixed") or () if isinstance(f, Mapping)),
        )


@dataclass(frozen=True, slots=True)
class KnownEntry:
    """One entry of a known-divergences file: which divergence, why it is accepted for now."""

    path: str
    reason: str
    target: str | None = None
    service: str | None = None
    operation: str | None = None
    kind: str | None = None
    issue: str | None = None

    def describe(self) -> str:
        where = ".".join(part for part in (self.service, self.operation) if part) or "any operation"
        text = f"{where} {self.path}"
        if self.target:
            text = f"{self.target}: {text}"
        return f"{text} ({self.reason}{', ' + self.issue if self.issue else ''})"

    def to_json(self) -> dict[str, Any]:
        out = {
            "target": self.target,
            "service": self.service,
            "operation": self.operation,
            "kind": self.kind,
            "path": self.path,
            "reason": self.reason,
            "issue": self.issue,
        }
        return {k: v for k, v in out.items() if v is not None}

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> KnownEntry:
        def text(name: str) -> str | None:
            value = obj.get(name)
            return str(value) if value is not None else None

        return KnownEntry(
            path=str(obj.get("path") or "$"),
            reason=str(obj.get("reason") or ""),
            target=text("target"),
            service=text("service"),
            operation=text("operation"),
            kind=text("kind"),
            issue=text("issue"),
        )


@dataclass(frozen=True, slots=True)
class KnownReport:
    """The known-divergences file in force: how many findings it covered, which entries went stale."""

    path: str
    matched: int = 0
    stale: tuple[KnownEntry, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "matched": self.matched, "stale": [e.to_json() for e in self.stale]}

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> KnownReport:
        return KnownReport(
            path=str(obj.get("path") or ""),
            matched=int(obj.get("matched") or 0),
            stale=tuple(KnownEntry.from_json(e) for e in obj.get("stale") or () if isinstance(e, Mapping)),
        )


@dataclass(frozen=True, slots=True)
class Threshold:
    """``--fail-under``: a lowest score for every target, one target, one service or both."""

    minimum: float
    target: str | None = None
    service: str | None = None

    def describe(self) -> str:
        scope = "/".join(part for part in (self.target, self.service) if part)
        return f"{scope}={self.minimum:g}" if scope else f"{self.minimum:g}"

    def to_json(self) -> dict[str, Any]:
        return {"minimum": self.minimum, "target": self.target, "service": self.service}

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> Threshold:
        return Threshold(
            minimum=float(obj.get("minimum") or 0.0), target=obj.get("target"), service=obj.get("service")
        )


@dataclass(frozen=True, slots=True)
class Gate:
    """The CI gate's decision, with one sentence per reason it failed."""

    passed: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """The whole report document."""

    targets: tuple[TargetResult, ...]
    generated: str | None = None
    tool: str | None = None
    run: Mapping[str, Any] = field(default_factory=dict)
    recording: Mapping[str, Any] = field(default_factory=dict)
    rules: Mapping[str, Any] = field(default_factory=dict)
    thresholds: tuple[Threshold, ...] = ()
    baseline: BaselineDelta | None = None
    known: KnownReport | None = None

    @property
    def gate(self) -> Gate:
        """The one definition of pass and fail (the exit status, spec section 1).

        With ``--fail-under`` thresholds, a score under one fails. Without thresholds, or with a
        baseline, an operation failing for a finding that is neither known nor in the baseline
        fails. An internal error of compat-diff, or a target nothing could be compared against
        because it did not run, fails whatever the thresholds say.
        """
        reasons: list[str] = []
        for threshold in self.thresholds:
            reasons.extend(self._under(threshold))
        if not self.thresholds or self.baseline is not None:
            for target in self.targets:
                failing = [op for op in target.operations if op.gate_failing]
                if not failing:
                    continue
                top = failing[0].top_finding
                what = "new divergences" if self.baseline is not None else "divergences"
                sentence = (
                    f"{target.name}: {len(failing)} operation{'s' if len(failing) != 1 else ''} "
                    f"with {what}, first {failing[0].service}.{failing[0].operation}"
                )
                reasons.append(sentence + (f": {top.describe()}" if top else ""))
        for target in self.targets:
            verdicts = target.verdicts
            if verdicts["internal-error"]:
                reasons.append(
                    f"{target.name}: {verdicts['internal-error']} exchanges hit an internal error "
                    "of compat-diff (see the exchange notes)"
                )
            elif target.exchanges and not target.compared and verdicts["not-run"]:
                reasons.append(
                    f"{target.name}: nothing was compared ({verdicts['not-run']} exchanges not run)"
                )
        return Gate(passed=not reasons, reasons=tuple(reasons))

    def _under(self, threshold: Threshold) -> list[str]:
        reasons = []
        for target in self.targets:
            if threshold.target is not None and target.name != threshold.target:
                continue
            if threshold.service is None:
                label, value = target.name, target.score
            else:
                row = target.service(threshold.service)
                if row is None:
                    continue
                label, value = f"{target.name}/{threshold.service}", row.score
            if value is not None and value < threshold.minimum:
                reasons.append(
                    f"{label}: score {format_score(value)} is under {format_score(threshold.minimum)} "
                    f"(--fail-under {threshold.describe()})"
                )
        return reasons

    @property
    def services(self) -> list[str]:
        return sorted({row.service for target in self.targets for row in target.services})

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": FORMAT, "version": VERSION}
        if self.generated is not None:
            doc["generated"] = self.generated
        if self.tool is not None:
            doc["tool"] = self.tool
        if self.run:
            doc["run"] = dict(self.run)
        doc["recording"] = dict(self.recording)
        if self.rules:
            doc["rules"] = dict(self.rules)
        gate = self.gate
        doc["gate"] = {
            "passed": gate.passed,
            "reasons": list(gate.reasons),
            "thresholds": [t.to_json() for t in self.thresholds],
        }
        if self.baseline is not None:
            doc["baseline"] = self.baseline.to_json()
        if self.known is not None:
            doc["known"] = self.known.to_json()
        doc["targets"] = [target.to_json() for target in self.targets]
        return doc

    @staticmethod
    def from_json(doc: Mapping[str, Any]) -> RunResult:
        """A validated document (``document.validate_document``) as the typed result."""
        given = doc.get("gate")
        gate: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        baseline = doc.get("baseline")
        known = doc.get("known")
        return RunResult(
            targets=tuple(TargetResult.from_json(t) for t in doc["targets"]),
            generated=doc.get("generated"),
            tool=doc.get("tool"),
            run=doc.get("run") or {},
            recording=doc.get("recording") or {},
            rules=doc.get("rules") or {},
            thresholds=tuple(
                Threshold.from_json(t) for t in gate.get("thresholds") or () if isinstance(t, Mapping)
            ),
            baseline=BaselineDelta.from_json(baseline) if isinstance(baseline, Mapping) else None,
            known=KnownReport.from_json(known) if isinstance(known, Mapping) else None,
        )


def format_score(score: float | None) -> str:
    """A score as users read it: a whole percent, except never rounding a near-miss up to 100%."""
    if score is None:
        return "n/a"
    percent = score * 100
    if percent < 100 and round(percent) == 100:
        return "99%"
    return f"{round(percent)}%"
