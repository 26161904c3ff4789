"""Aggregating exchange results into the report document: counts, verdicts and scores.

A score is the share of compared exchanges (skipped ones do not count) with no major or critical
divergence, per target, service and operation, unweighted. Only a capped number of divergences
is kept per operation so the document stays small however large the run; the cap is reported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from compat_diff.model import ExchangeResult

MAX_DIVERGENCES_PER_OPERATION = 50
VERDICTS = ("match", "diverges", "not-implemented", "error", "skipped")
SEVERITIES = ("critical", "major", "minor")


@dataclass
class OperationTally:
    service: str | None
    operation: str | None
    exchanges: int = 0
    compared: int = 0
    matching: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)
    rules_fired: Counter[str] = field(default_factory=Counter)
    divergences: list[dict[str, Any]] = field(default_factory=list)
    more_divergences: int = 0
    notes: dict[str, None] = field(default_factory=dict)

    def add(self, result: ExchangeResult) -> None:
        self.exchanges += 1
        self.verdicts[result.verdict] += 1
        if result.verdict != "skipped":
            self.compared += 1
            if result.matching:
                self.matching += 1
        for rule in result.rules_fired:
            self.rules_fired[rule] += 1
        for note in result.notes:
            if len(self.notes) < 10:
                self.notes[note] = None
        for divergence in result.divergences:
            self.severities[divergence.severity] += 1
            if len(self.divergences) < MAX_DIVERGENCES_PER_OPERATION:
                self.divergences.append(divergence_dict(divergence))
            else:
                self.more_divergences += 1

    def merge(self, other: OperationTally) -> None:
        self.exchanges += other.exchanges
        self.compared += other.compared
        self.matching += other.matching
        self.verdicts.update(other.verdicts)
        self.severities.update(other.severities)
        self.rules_fired.update(other.rules_fired)
        room = MAX_DIVERGENCES_PER_OPERATION - len(self.divergences)
        self.divergences.extend(other.divergences[: max(room, 0)])
        self.more_divergences += other.more_divergences + max(len(other.divergences) - max(room, 0), 0)
        for note in other.notes:
            if len(self.notes) < 10:
                self.notes[note] = None

    @property
    def verdict(self) -> str:
        for verdict in ("diverges", "not-implemented", "error"):
            if self.verdicts[verdict]:
                return verdict
        return "match" if self.verdicts["match"] else "skipped"


def divergence_dict(divergence: Any) -> dict[str, Any]:
    return {
        "seq": divergence.seq,
        "kind": divergence.kind,
        "severity": divergence.severity,
        "path": divergence.path,
        "reference": divergence.reference,
        "candidate": divergence.candidate,
        "message": divergence.message,
        "caused_by": divergence.caused_by,
    }


def score(matching: int, compared: int) -> float | None:
    return round(matching / compared, 4) if compared else None


def target_document(
    name: str, info: dict[str, Any], tallies: dict[tuple[str | None, str | None], OperationTally]
) -> dict[str, Any]:
    """One target's entry of the report document (docs/formats.md)."""
    ordered = sorted(tallies.values(), key=lambda t: (t.service or "~", t.operation or "~"))
    verdicts: Counter[str] = Counter()
    severities: Counter[str] = Counter()
    services: dict[str, dict[str, Any]] = {}
    operations = []
    exchanges = compared = matching = 0
    for tally in ordered:
        exchanges += tally.exchanges
        compared += tally.compared
        matching += tally.matching
        verdicts.update(tally.verdicts)
        severities.update(tally.severities)
        service = services.setdefault(
            tally.service or "unknown",
            {
                "service": tally.service or "unknown",
                "exchanges": 0,
                "compared": 0,
                "matching": 0,
                "operations": 0,
            },
        )
        service["exchanges"] += tally.exchanges
        service["compared"] += tally.compared
        service["matching"] += tally.matching
        service["operations"] += 1
        operations.append(
            {
                "service": tally.service or "unknown",
                "operation": tally.operation or "unknown",
                "exchanges": tally.exchanges,
                "compared": tally.compared,
                "matching": tally.matching,
                "score": score(tally.matching, tally.compared),
                "verdict": tally.verdict,
                "verdicts": {v: tally.verdicts[v] for v in VERDICTS if tally.verdicts[v]},
                "rules_fired": sorted(tally.rules_fired),
                "divergences": tally.divergences,
                "more_divergences": tally.more_divergences,
                "notes": list(tally.notes),
            }
        )
    for service in services.values():
        service["score"] = score(service["matching"], service["compared"])
    return {
        "name": name,
        "endpoint": info.get("endpoint"),
        "score": score(matching, compared),
        "exchanges": exchanges,
        "compared": compared,
        "matching": matching,
        "verdicts": {v: verdicts[v] for v in VERDICTS},
        "severities": {s: severities[s] for s in SEVERITIES},
        "services": sorted(services.values(), key=lambda s: s["service"]),
        "operations": operations,
    }
