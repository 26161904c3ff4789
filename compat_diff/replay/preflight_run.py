"""`compat-diff check-targets`: the preflight checks, one line per target and service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.console import Console

from compat_diff.errors import InputError
from compat_diff.model import ExitStatus
from compat_diff.recording import open_recording
from compat_diff.replay.preflight import Check, check_target, services_to_check
from compat_diff.replay.targets import Target, load_targets


def run_check_targets(
    targets: list[str],
    targets_file: Path | None,
    *,
    recording: Path | None = None,
    allow_aws: bool = False,
    profile: str | None = None,
    region: str | None = None,
    timeout: float = 10.0,
    console: Console | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Exit 0 when every target and service passed, 2 when something is wrong."""
    console = console or Console()
    resolved = load_targets(
        targets, targets_file, allow_aws=allow_aws, env=env, profile=profile, region=region
    )
    recorded = recorded_services(recording) if recording is not None else None
    checks = preflight(resolved, recorded, timeout)
    for check in checks:
        console.print(check.line, markup=False)
    if any(not check.ok for check in checks):
        return int(ExitStatus.USAGE)
    return int(ExitStatus.OK)


def preflight(targets: list[Target], recorded: list[str] | None, timeout: float = 10.0) -> list[Check]:
    checks: list[Check] = []
    for target in targets:
        checks.extend(check_target(target, services_to_check(target, recorded), timeout))
    return checks


def recorded_services(recording: Path) -> list[str]:
    if not recording.exists():
        raise InputError(f"recording {recording} does not exist")
    seen: dict[str, None] = {}
    for exchange in open_recording(recording):
        if exchange.service:
            seen[exchange.service] = None
    return list(seen)
