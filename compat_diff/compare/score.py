"""Aggregating exchange results into the result document's operations and targets.

What counts (compared, matching, scores, verdicts) is defined once, in ``report.result``; this
module only tallies exchange results into it. Only a capped number of divergences is kept per
operation so the document stays small however large the run (the cap is reported), but every
divergence is counted into its finding (kind, severity, path with list positions collapsed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from compat_diff.model import VERDICTS, Divergence, ExchangeResult, Verdict
from compat_diff.report.result import (
    Finding,
    OperationResult,
    TargetResult,
    collapse_path,
    divergence_to_json,
    rank_findings,
)

MAX_DIVERGENCES_PER_OPERATION = 50
# Distinct findings kept per operation; more would mean the paths themselves carry data.
MAX_FINDINGS_PER_OPERATION = 500
MAX_SEQS_PER_FINDING = 10


@dataclass
class OperationTally:
    service: str | None
    operation: str | None
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)
    rules_fired: Counter[str] = field(default_factory=Counter)
    divergences: list[Divergence] = field(default_factory=list)
    more_divergences: int = 0
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    notes: dict[str, None] = field(default_factory=dict)

    def add(self, result: ExchangeResult) -> None:
        self.verdicts[result.verdict] += 1
        for rule in result.rules_fired:
            self.rules_fired[rule] += 1
        for note in result.notes:
            if len(self.notes) < 10:
                self.notes[note] = None
        for divergence in result.divergences:
            self.severities[divergence.severity] += 1
            if len(self.divergences) < MAX_DIVERGENCES_PER_OPERATION:
                self.divergences.append(divergence)
            else:
                self.more_divergences += 1
            self._count(divergence)

    def _count(self, divergence: Divergence) -> None:
        key = (divergence.kind, divergence.severity, collapse_path(divergence.path))
        found = self.findings.get(key)
        if found is None:
            if len(self.findings) < MAX_FINDINGS_PER_OPERATION:
                self.findings[key] = Finding(
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
            return
        self.findings[key] = replace(
            found, count=found.count + 1, seqs=_more_seqs(found.seqs, (divergence.seq,))
        )

    def merge(self, other: OperationTally) -> None:
        self.verdicts.update(other.verdicts)
        self.severities.update(other.severities)
        self.rules_fired.update(other.rules_fired)
        room = max(MAX_DIVERGENCES_PER_OPERATION - len(self.divergences), 0)
        self.divergences.extend(other.divergences[:room])
        self.more_divergences += other.more_divergences + max(len(other.divergences) - room, 0)
        for key, finding in other.findings.items():
            mine = self.findings.get(key)
            if mine is not None:
                self.findings[key] = replace(
                    mine, count=mine.count + finding.count, seqs=_more_seqs(mine.seqs, finding.seqs)
                )
            elif len(self.findings) < MAX_FINDINGS_PER_OPERATION:
                self.findings[key] = finding
        for note in other.notes:
            if len(self.notes) < 10:
                self.notes[note] = None

    def result(self) -> OperationResult:
        return OperationResult(
            service=self.service or "unknown",
            operation=self.operation or "unknown",
            verdicts={v: self.verdicts[v] for v in VERDICTS},
            divergences=tuple(self.divergences),
            more_divergences=self.more_divergences,
            findings=tuple(rank_findings(self.findings.values())),
            severities=dict(self.severities),
            rules_fired=tuple(sorted(self.rules_fired)),
            notes=tuple(self.notes),
        )



def _more_seqs(seqs: tuple[int, ...], more: tuple[int, ...]) -> tuple[int, ...]:
    merged = list(seqs)
    for seq in more:
        if len(merged) >= MAX_SEQS_PER_FINDING:
            break
        if seq not in merged:
            merged.append(seq)
    return tuple(merged)


def divergence_dict(divergence: Divergence) -> dict[str, Any]:
    return divergence_to_json(divergence)


def target_result(
    name: str, info: dict[str, Any], tallies: dict[tuple[str | None, str | None], OperationTally]
) -> TargetResult:
    """One target of the result document."""
    operations = sorted((t.result() for t in tallies.values()), key=lambda op: (op.service, op.operation))
    return TargetResult(name=name, endpoint=info.get("endpoint"), operations=tuple(operations))
