"""`compat-diff cleanup RUN_DIR`: delete, later, what a replay created on its targets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from compat_diff.errors import InputError
from compat_diff.model import ExitStatus
from compat_diff.replay.cleanup import DEFAULT_CLEANUP_SECONDS, clean_target, read_created
from compat_diff.replay.pacing import check_rate, stricter
from compat_diff.replay.targets import Target, load_targets


def run_cleanup(
    run_dir: Path,
    targets: list[str],
    targets_file: Path | None,
    *,
    allow_aws: bool = False,
    profile: str | None = None,
    region: str | None = None,
    seconds: float = DEFAULT_CLEANUP_SECONDS,
    console: Console | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    console = console or Console(stderr=True)
    header = _run_header(run_dir)
    recorded = {entry["name"]: entry for entry in header.get("targets", []) if isinstance(entry, dict)}
    if targets or targets_file is not None:
        resolved = load_targets(
            targets, targets_file, allow_aws=allow_aws, env=env, profile=profile, region=region
        )
    else:
        specs = [f"{name}={entry['endpoint']}" for name, entry in recorded.items()]
        if not specs:
            raise InputError(f"{run_dir}/run.json names no target")
        plain = load_targets(specs, None, allow_aws=allow_aws, env=env, profile=profile, region=region)
        resolved = [_with_recorded_endpoints(target, recorded[target.name]) for target in plain]
    failed = False
    for target in resolved:
        if target.name not in recorded:
            raise InputError(
                f"target {target.name!r} is not one of the run's targets ({', '.join(sorted(recorded))})"
            )
        # The run's request-rate limit (its --max-rate or the targets file's) holds for its cleanup.
        try:
            recorded_rate = check_rate(recorded[target.name].get("max_rate"), "max_rate")
        except ValueError:
            recorded_rate = None  # not a rate: run.json was edited; the targets given still apply
        target = replace(target, max_rate=stricter(target.max_rate, recorded_rate))
        created = read_created(run_dir, target.name)
        if not created:
            console.print(f"cleanup of {target.name}: the run created nothing to delete", markup=False)
            continue
        log = run_dir / "targets" / target.name / "cleanup.jsonl"
        outcome = clean_target(target, created, log, seconds)
        console.print(outcome.sentence(), markup=False)
        failed = failed or bool(outcome.failed or outcome.skipped)
    return int(ExitStatus.DIVERGED if failed else ExitStatus.OK)


def _run_header(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{run_dir} is not a run directory (no run.json)") from None
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    if not isinstance(header, dict):
        raise InputError(f"{path} is not a run description")
    return header


def _with_recorded_endpoints(target: Target, entry: dict[str, Any]) -> Target:
    endpoints = entry.get("endpoints") or {}
    return replace(
        target,
        endpoints={str(k): str(v) for k, v in endpoints.items()},
        region=target.region or entry.get("region"),
        s3_addressing=entry.get("s3_addressing") or target.s3_addressing,
        tls_verify=bool(entry.get("tls_verify", True)),
    )
