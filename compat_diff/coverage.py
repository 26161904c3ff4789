"""`compat-diff coverage`: which operations of each service a recording exercises, against the API model.

A recording is only as good a compatibility test as the calls it holds. This answers "what did we
test, and what did we never call?" per service, using the botocore model as the list of everything
the service offers, so a thin recording is visible before anyone trusts its score.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from compat_diff.aws.coverage import operations_of
from compat_diff.aws.models import has_service
from compat_diff.model import Exchange, ExitStatus
from compat_diff.recording import read_recording


@dataclass(frozen=True, slots=True)
class ServiceCoverage:
    """One service: the operations a recording called, out of those its API model offers."""

    service: str
    calls: Counter[str]
    # Empty when the service is not in this installation's models (then nothing can be "never called").
    available: tuple[str, ...]

    @property
    def exercised(self) -> tuple[str, ...]:
        return tuple(sorted(self.calls))

    @property
    def never_called(self) -> tuple[str, ...]:
        return tuple(op for op in self.available if op not in self.calls)

    @property
    def outside_model(self) -> tuple[str, ...]:
        """Called operations the model does not know (a newer API, or a misidentified call)."""
        known = set(self.available)
        return tuple(op for op in self.exercised if op not in known) if known else ()

    @property
    def ratio(self) -> float | None:
        if not self.available:
            return None
        return (len(self.exercised) - len(self.outside_model)) / len(self.available)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "exchanges": sum(self.calls.values()),
            "operations_exercised": len(self.exercised),
            "operations_available": len(self.available) or None,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "exercised": {op: self.calls[op] for op in self.exercised},
            "never_called": list(self.never_called),
            "outside_model": list(self.outside_model),
        }


@dataclass(frozen=True, slots=True)
class CoverageReport:
    services: tuple[ServiceCoverage, ...]
    exchanges: int
    # Exchanges no service/operation could be attributed to (e.g. an unsigned call to an unknown host).
    unidentified: int

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "compat-diff/coverage",
            "version": 1,
            "exchanges": self.exchanges,
            "unidentified": self.unidentified,
            "services": [service.to_json() for service in self.services],
        }


def coverage_of(
    exchanges: Iterable[Exchange], operations: Callable[[str], list[str]] | None = None
) -> CoverageReport:
    """Count the operations per service in ``exchanges`` and set them against the API model."""
    list_operations = operations or _model_operations
    calls: dict[str, Counter[str]] = defaultdict(Counter)
    total = unidentified = 0
    for exchange in exchanges:
        total += 1
        if exchange.service is None or exchange.operation is None:
            unidentified += 1
            continue
        calls[exchange.service][exchange.operation] += 1
    services = tuple(
        ServiceCoverage(service=name, calls=counter, available=tuple(sorted(list_operations(name))))
        for name, counter in sorted(calls.items())
    )
    return CoverageReport(services=services, exchanges=total, unidentified=unidentified)


def _model_operations(service: str) -> list[str]:
    return operations_of(service) if has_service(service) else []


def run_coverage(recording: Path, console: Console, *, as_json: bool = False) -> int:
    """Print the coverage of ``recording``: a table per service (or JSON); returns the exit status."""
    opened = read_recording(recording)
    report = coverage_of(opened)
    if as_json:
        document = report.to_json()
        document["recording"] = str(recording)
        document["damaged_lines"] = [{"line": p.line, "reason": p.reason} for p in opened.problems]
        console.print_json(json.dumps(document))
        return ExitStatus.OK
    _print_table(report, recording, console)
    for problem in opened.problems:
        console.print(f"line {problem.line}: damaged, skipped: {problem.reason}", markup=False)
    return ExitStatus.OK


def _print_table(report: CoverageReport, recording: Path, console: Console) -> None:
    table = Table(title=f"Operations exercised by {recording.name}", title_justify="left")
    table.add_column("service")
    table.add_column("exchanges", justify="right")
    table.add_column("operations", justify="right")
    table.add_column("of model", justify="right")
    table.add_column("coverage", justify="right")
    for service in report.services:
        table.add_row(
            service.service,
            str(sum(service.calls.values())),
            str(len(service.exercised)),
            str(len(service.available)) if service.available else "?",
            "-" if service.ratio is None else f"{service.ratio:.0%}",
        )
    console.print(table)
    for service in report.services:
        if service.never_called:
            console.print(
                f"{service.service}: never called ({len(service.never_called)}): "
                + ", ".join(service.never_called),
                markup=False,
            )
        if service.outside_model:
            console.print(
                f"{service.service}: called but not in the model: " + ", ".join(service.outside_model),
                markup=False,
            )
        if not service.available:
            console.print(f"{service.service}: no API model installed for this service", markup=False)
    services = len(report.services)
    console.print(
        f"{report.exchanges} exchanges, {services} service{'' if services == 1 else 's'}"
        + (f", {report.unidentified} not attributed to any operation" if report.unidentified else ""),
        markup=False,
    )
