"""Undoing what a run made on its targets, after the run or later (``compat-diff cleanup``).

The replay remembers, per target, every successful call the model knows an undo for (a create, a
``RunInstances``, an attach, a put, an add, an associate ... see ``aws.undo``) and the parameters
its undo needs (``targets/NAME/names.json``, "created"). The cleanup calls those undos in reverse
order of the calls, so a policy is detached before its role is deleted. A bucket is emptied first
(every object version, delete marker and unfinished multipart upload), since a bucket that holds
anything cannot be deleted. After an undo the model has a waiter for (``InstanceTerminated``), it
waits, bounded, until the waiter says it is done, so the subnet an instance used can go next.

It is bounded in time, never fatal: every call goes to ``targets/NAME/cleanup.jsonl``, a resource
already gone counts as cleaned, and what could not be deleted is reported.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compat_diff.aws.calls import ApiCaller, CallResult
from compat_diff.aws.undo import wait_state, wait_step
from compat_diff.errors import InputError
from compat_diff.replay.pacing import blocking_pacer
from compat_diff.replay.targets import Target

DEFAULT_CLEANUP_SECONDS = 120.0
# The longest wait for one undo to complete (an instance to be terminated).
WAIT_SECONDS = 60.0
_GONE_MARKERS = ("NoSuch", "NotFound", "NonExistent", "DoesNotExist", "NotExist")


@dataclass
class CleanupOutcome:
    target: str
    deleted: int = 0
    already_gone: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    calls: int = 0
    timed_out: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "deleted": self.deleted,
            "already_gone": self.already_gone,
            "failed": self.failed,
            "skipped": self.skipped,
            "calls": self.calls,
            "timed_out": self.timed_out,
        }

    def sentence(self) -> str:
        parts = [f"{self.deleted} deleted"]
        if self.already_gone:
            parts.append(f"{self.already_gone} already gone")
        if self.failed:
            parts.append(f"{len(self.failed)} could not be deleted ({'; '.join(self.failed[:3])})")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped ({'; '.join(self.skipped[:3])})")
        if self.timed_out:
            parts.append("stopped at the time limit")
        return f"cleanup of {self.target}: " + ", ".join(parts)


def caller_for(
    target: Target,
    timeout: float = 10.0,
    region: str | None = None,
    recorded_key: str | None = None,
    pace: Callable[[], None] | None = None,
) -> ApiCaller:
    """Calls to ``target`` as the principal ``recorded_key`` maps to, in the target's region (else
    ``region``, the one the call was recorded in), held to the target's ``max_rate`` (by ``pace``,
    when several callers share one limit)."""
    return ApiCaller(
        endpoints=target.endpoint_for,
        region=target.region or region or "us-east-1",
        credentials=lambda service: target.credentials_for(recorded_key, service),
        s3_addressing=target.s3_addressing,
        verify=target.tls_verify,
        timeout=timeout,
        pace=pace or blocking_pacer(target.max_rate),
    )


def clean_target(
    target: Target,
    created: list[dict[str, Any]],
    log: Path,
    seconds: float = DEFAULT_CLEANUP_SECONDS,
) -> CleanupOutcome:
    """Delete ``created`` (the names.json "created" list) on ``target``, newest first."""
    outcome = CleanupOutcome(target.name)
    deadline = time.monotonic() + seconds
    callers: dict[tuple[str | None, str | None], ApiCaller] = {}
    pace = blocking_pacer(target.max_rate)  # one limit for all of this target's callers
    current: list[tuple[str | None, str | None]] = [(None, None)]
    with log.open("a", encoding="utf-8") as handle:

        def call(service: str, operation: str, params: dict[str, Any]) -> CallResult:
            key = current[0]
            if key not in callers:
                callers[key] = caller_for(
                    target, min(10.0, seconds), region=key[0], recorded_key=key[1], pace=pace
                )
            result = callers[key].call(service, operation, params)
            outcome.calls += 1
            handle.write(json.dumps(result.to_json(), sort_keys=True) + "\n")
            handle.flush()
            return result

        # Failed undos, with the values they named: what belongs to something (a policy version,
        # an attached policy) goes with it, so an undo whose owner is deleted later did not fail.
        unresolved: list[tuple[str, set[str]]] = []
        try:
            for resource in sorted(created, key=lambda item: item["seq"], reverse=True):
                label = f"{resource['delete']} {_label(resource['params'])} (seq {resource['seq']})"
                if time.monotonic() > deadline:
                    outcome.timed_out = True
                    outcome.skipped.append(f"{label}: time limit reached")
                    continue
                if resource.get("missing"):
                    outcome.skipped.append(f"{label}: no value for {', '.join(resource['missing'])}")
                    continue
                service, params = resource["service"], dict(resource["params"])
                current[0] = (resource.get("region"), resource.get("recorded_key"))
                if resource["delete"] == "DeleteBucket" and "Bucket" in params:
                    _empty_bucket(call, service, params["Bucket"], deadline)
                result = call(service, resource["delete"], params)
                makes = resource.get("makes", True)
                if result.ok:
                    outcome.deleted += 1
                    if makes:
                        values = _values(params)
                        outcome.already_gone += sum(1 for _, named in unresolved if named & values)
                        unresolved = [(failed, named) for failed, named in unresolved if not named & values]
                    if resource.get("wait"):
                        _wait(call, service, resource["wait"], params, deadline)
                elif _gone(result):
                    outcome.already_gone += 1
                else:
                    unresolved.append((f"{label}: {result.error_code or result.status}", _values(params)))
            outcome.failed.extend(failed for failed, _ in unresolved)
        finally:
            for caller in callers.values():
                caller.close()
    return outcome


def _values(params: dict[str, Any]) -> set[str]:
    values: set[str] = set()
    for value in params.values():
        values.update(value if isinstance(value, list) else [value])
    return {value for value in values if isinstance(value, str)}


def _wait(call: Any, service: str, waiter: str, params: dict[str, Any], deadline: float) -> None:
    """Poll the model's waiter for an undo (``InstanceTerminated``) until it succeeds, fails, or
    a bound passes (a minute, within the cleanup's time), so what the resource used can go next."""
    step = wait_step(service, waiter, params)
    if step is None:
        return
    until = min(deadline, time.monotonic() + WAIT_SECONDS)
    delay = 0.5
    while True:
        result = call(service, step.operation, step.params)
        state = wait_state(service, waiter, result.output, result.error_code)
        if state != "retry" or time.monotonic() + delay > until:
            return
        time.sleep(delay)
        delay = min(delay * 2, step.delay, 5.0)


def _label(params: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(params.items()))


def _gone(result: CallResult) -> bool:
    code = result.error_code or ""
    return result.status == 404 or any(marker in code for marker in _GONE_MARKERS)


def _empty_bucket(call: Any, service: str, bucket: str, deadline: float) -> None:
    """Delete every object version, delete marker and unfinished upload of ``bucket``."""
    for _ in range(100):  # pages
        if time.monotonic() > deadline:
            return
        listed = call(service, "ListObjectVersions", {"Bucket": bucket})
        if not listed.ok or listed.output is None:
            # Servers without versioning answer ListObjects; delete what that lists.
            listed = call(service, "ListObjects", {"Bucket": bucket})
            if not listed.ok or listed.output is None:
                return
        entries = [
            *((item["Key"], item.get("VersionId")) for item in listed.output.get("Versions", [])),
            *((item["Key"], item.get("VersionId")) for item in listed.output.get("DeleteMarkers", [])),
            *((item["Key"], None) for item in listed.output.get("Contents", [])),
        ]
        if not entries:
            break
        for key, version in entries:
            if time.monotonic() > deadline:
                return
            params = {"Bucket": bucket, "Key": key}
            if version and version != "null":
                params["VersionId"] = version
            call(service, "DeleteObject", params)
    uploads = call(service, "ListMultipartUploads", {"Bucket": bucket})
    if uploads.ok and uploads.output is not None:
        for upload in uploads.output.get("Uploads", []):
            call(
                service,
                "AbortMultipartUpload",
                {"Bucket": bucket, "Key": upload["Key"], "UploadId": upload["UploadId"]},
            )


def read_created(run_dir: Path, target: str) -> list[dict[str, Any]]:
    path = run_dir / "targets" / target / "names.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    created = document.get("created", [])
    return created if isinstance(created, list) else []
