"""`compat-diff inspect`: one line per exchange, damaged lines flagged by number."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from compat_diff.model import ExitStatus
from compat_diff.recording.format import open_recording


def run_inspect(path: Path, out: Console, err: Console) -> int:
    recording = open_recording(path)
    header = recording.header
    out.print(
        f"# {path}: {header.get('format')} v{header.get('version')}, created {header.get('created', '?')}"
        + (f", reference: {header['reference']}" if header.get("reference") else ""),
        markup=False,
    )
    out.print(
        f"{'seq':>6}  {'session':<16} {'service':<14} {'operation':<36} {'status':>6}  method url",
        markup=False,
    )
    count = 0
    for exchange in recording:
        count += 1
        flags = "" if exchange.replayable else "  [not replayable]"
        out.print(
            f"{exchange.seq:>6}  {exchange.session[:16]:<16} {exchange.service or '-':<14} "
            f"{exchange.operation or '-':<36} {exchange.response.status:>6}  "
            f"{exchange.request.method} {exchange.request.url}{flags}",
            markup=False,
        )
    for problem in recording.problems:
        err.print(f"line {problem.line}: damaged, skipped: {problem.reason}", markup=False)
    out.print(f"# {count} exchanges, {len(recording.problems)} damaged lines", markup=False)
    return ExitStatus.OK
