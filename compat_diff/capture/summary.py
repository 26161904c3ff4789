"""The summary `compat-diff record` prints when it stops: what was recorded, per service and operation."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from compat_diff.capture.recorder import Tally


def print_summary(console: Console, tally: Tally, path: Path) -> None:
    if tally.recorded:
        table = Table(title="Recorded AWS calls", title_justify="left")
        table.add_column("service")
        table.add_column("operation")
        table.add_column("exchanges", justify="right")
        for (service, operation), count in sorted(tally.recorded.items()):
            table.add_row(service, operation, str(count))
        console.print(table)
    lines = [f"{tally.exchanges} exchanges recorded in {path}"]
    if tally.not_aws:
        lines.append(f"{tally.not_aws} non-AWS requests passed through, not recorded")
    if tally.transport_errors:
        lines.append(
            f"{tally.transport_errors} requests got no answer (connection or TLS errors), not recorded"
        )
    if tally.damaged_uploads:
        lines.append(
            f"{tally.damaged_uploads} streamed uploads had broken aws-chunked framing, kept as received"
        )
    if tally.sessions_named:
        lines.append(f"{tally.sessions_named} control requests named the test session")
    if tally.not_replayable:
        lines.append(f"{tally.not_replayable} exchanges are marked not replayable")
    for line in lines:
        console.print(line, markup=False)
