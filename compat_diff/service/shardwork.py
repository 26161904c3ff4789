"""One shard through the pipeline the command line uses: the session's recording is replayed by
``replay.run_replay`` against the endpoint, compared by ``compare.diff_run`` and written by
``report.write_reports``; what comes back is the per-operation rows of the result document."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console

from compat_diff.compare.run import diff_run
from compat_diff.errors import CannotRun
from compat_diff.replay.run import run_replay
from compat_diff.report import write_reports
from compat_diff.service.outbound import check_urls
from compat_diff.service.runs import Claim
from compat_diff.service.store import Service
from compat_diff.service.suites import session_recording

# The secret reaches the replay through this (in-memory) environment entry, never a file.
SECRET_VARIABLE = "COMPAT_DIFF_ENDPOINT_SECRET"
TARGET = "candidate"


def shard_dir(service: Service, run_id: int, key: str, attempt: int) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    return service.config.data / "runs" / str(run_id) / "shards" / safe / f"attempt-{attempt}"


def _toml_string(value: str) -> str:
    return json.dumps(value)


def shard_rate(service: Service, description: dict[str, Any]) -> float | None:
    """The requests per second one shard of the endpoint may send (None: no limit).

    At most ``endpoint_concurrency`` shards of an endpoint run at once, over every worker and
    process, so each gets that share of the endpoint's rate and together they never exceed it."""
    rate = description.get("max_rate") or service.config.endpoint_max_rate
    if not rate:
        return None
    return float(rate) / service.config.endpoint_concurrency


def targets_toml(
    description: dict[str, Any], access_key: str, timeout: float, max_rate: float | None = None
) -> str:
    lines = [
        f"[target.{TARGET}]",
        f"endpoint = {_toml_string(description['endpoint'])}",
        f"region = {_toml_string(description['region'])}",
        f"access_key = {_toml_string(access_key)}",
        f'secret_key_env = "{SECRET_VARIABLE}"',
        f"s3_addressing = {_toml_string(description['s3_addressing'])}",
    ]
    if max_rate is not None:
        lines.append(f"max_rate = {max_rate!r}")
    if description["endpoints"]:
        lines.append(f"[target.{TARGET}.endpoints]")
        lines.extend(
            f"{_toml_string(k)} = {_toml_string(v)}" for k, v in sorted(description["endpoints"].items())
        )
    return "\n".join(lines) + "\n"


def execute_shard(service: Service, claim: Claim, suite_path: Path) -> list[dict[str, Any]]:
    endpoint = service.endpoint_by_id(claim.endpoint_id)
    description = service.describe_endpoint(endpoint)
    # Checked again here: a name registered as public may have been re-pointed since.
    check_urls(
        [description["endpoint"], *description["endpoints"].values()],
        service.config.allow_private_endpoints,
        service.resolver,
    )
    work = shard_dir(service, claim.run_id, claim.key, claim.attempt)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    recording = session_recording(suite_path / claim.recording, claim.session, work / "recording.jsonl")
    credentials = service.credentials(endpoint)
    targets = work / "targets.toml"
    targets.write_text(
        targets_toml(
            description,
            credentials["access_key"],
            service.config.replay_timeout,
            max_rate=shard_rate(service, description),
        )
    )
    quiet = Console(file=io.StringIO(), width=120)
    run_dir = work / "run"
    try:
        run_replay(
            recording=recording,
            targets=[],
            targets_file=targets,
            allow_aws=False,
            out=run_dir,
            concurrency=service.config.replay_concurrency,
            timeout=service.config.replay_timeout,
            console=quiet,
            env={SECRET_VARIABLE: credentials["secret_key"]},
        )
    except CannotRun:
        # Nothing answered: the run directory still says so call by call, and the comparison
        # scores it as the candidate's failure (or as not run), like the command line does.
        if not (run_dir / "run.json").exists():
            raise
    report_dir = work / "report"
    result, details = diff_run(run_dir, report_dir, [], default_rules=True, workers=1)
    write_reports(result, report_dir, details)
    (work / "done").write_text("ok\n")
    return [op.to_json() for op in result.targets[0].operations]
