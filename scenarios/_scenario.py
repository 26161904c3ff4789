"""Shared plumbing for the scenario scripts: how clients are configured and how expected errors are handled.

Every scenario is an ordinary boto3 program. It takes the endpoint from ``AWS_ENDPOINT_URL`` (boto3
honours it natively), the region from ``AWS_DEFAULT_REGION`` (default ``us-east-1``) and credentials
from the standard chain, so the very same script runs against AWS or any clone.

Two rules keep the recordings replayable:

* retries are off, so a recording never holds a retried call that a replay would not repeat;
* the call sequence never depends on data the server returns: an expected error is caught and the
  script goes on with the same next call whatever happened.

An expected error that does not occur, or that comes with another code, is reported on stderr and
the script continues (that difference is what compat-diff is there to find). With
``COMPAT_DIFF_SCENARIO_STRICT=1`` such a surprise makes the script exit non-zero instead, which is
how the scenarios are checked against the reference server.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Fixed, recognisable names: a replay creates the very same resources, and a leftover is easy to find.
# S3 bucket names are global across all AWS accounts, so against AWS pick your own fixed prefix.
PREFIX = os.environ.get("COMPAT_DIFF_SCENARIO_PREFIX") or "compat-diff-scn"

REGION = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL") or None
STRICT = os.environ.get("COMPAT_DIFF_SCENARIO_STRICT", "") not in ("", "0", "false", "no")


class UnexpectedOutcome(Exception):
    """A call that the scenario expects to fail did something else (raised only in strict mode)."""


def config(**overrides: Any) -> Config:
    """The client configuration every scenario uses."""
    settings: dict[str, Any] = {
        # total_max_attempts=1 is the one setting that means "no retry at all" in every retry mode.
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "region_name": REGION,
    }
    if ENDPOINT:
        # Clones rarely resolve <bucket>.<host>; AWS itself accepts path style for existing buckets.
        settings["s3"] = {"addressing_style": "path"}
    settings.update(overrides)
    return Config(**settings)


def client(service: str, **config_overrides: Any) -> Any:
    return boto3.client(service, config=config(**config_overrides))


def expect_error(
    codes: str | tuple[str, ...], call: Callable[..., Any], *, moto_accepts: bool = False, **kwargs: Any
) -> ClientError | None:
    """Make a call that should fail with one of ``codes``; return the error (``None`` if it succeeded).

    ``moto_accepts`` marks a call AWS refuses but the reference server used for the checked-in
    recordings accepts; its success is then only noted, even in strict mode.
    """
    wanted = (codes,) if isinstance(codes, str) else codes
    name = getattr(call, "__name__", repr(call))
    try:
        call(**kwargs)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in wanted:
            surprise(f"{name} failed with {code!r}, expected {' or '.join(wanted)}")
        return error
    message = f"{name} succeeded, expected the error {' or '.join(wanted)}"
    if moto_accepts:
        print(f"scenario note: {message}", file=sys.stderr)
    else:
        surprise(message)
    return None


def expect_http_status(expected: int, url: str, method: str = "GET", data: bytes | None = None) -> bytes:
    """Fetch a (presigned) URL with a plain HTTP client, as a browser or curl would; return the body."""
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    if status != expected:
        surprise(f"{method} of a presigned URL answered {status}, expected {expected}")
    return body


def surprise(message: str) -> None:
    if STRICT:
        raise UnexpectedOutcome(message)
    print(f"scenario note: {message}", file=sys.stderr)


def settle(seconds: float) -> None:
    """Wait for AWS's eventual consistency (e.g. a new IAM role); no wait is needed against a local endpoint.

    Sleeping never adds or removes a call, so the recorded sequence stays the same either way.
    """
    if not ENDPOINT:
        time.sleep(seconds)


class Scenario:
    """Runs a scenario body and, if it breaks half-way, undoes what it created (best effort)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._undo: list[tuple[Callable[..., Any], dict[str, Any]]] = []

    def on_failure(self, call: Callable[..., Any], **kwargs: Any) -> None:
        """Register a cleanup that runs only if the scenario does not reach its own cleanup."""
        self._undo.append((call, kwargs))

    def run(self, body: Callable[[Scenario], None]) -> int:
        try:
            body(self)
        except UnexpectedOutcome as error:
            print(f"{self.name}: unexpected outcome: {error}", file=sys.stderr)
            self._rollback()
            return 1
        except Exception:
            traceback.print_exc()
            print(f"{self.name}: the scenario broke; cleaning up what it created", file=sys.stderr)
            self._rollback()
            return 1
        print(f"{self.name}: ran to the end")
        return 0

    def _rollback(self) -> None:
        for call, kwargs in reversed(self._undo):
            try:
                call(**kwargs)
            except Exception as error:
                print(
                    f"{self.name}: cleanup {getattr(call, '__name__', call)} failed: {error}", file=sys.stderr
                )


def run(name: str, body: Callable[[Scenario], None]) -> None:
    sys.exit(Scenario(name).run(body))
