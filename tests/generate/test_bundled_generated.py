"""The committed recording of the generated suite (suites/generated/) is current: the generator, with
the seed and services the recording names, plans exactly the calls it holds, and it holds no secret.

A change to the generator (or to the botocore models it reads) that is not re-recorded fails here,
saying what to do.
"""

from __future__ import annotations

import gzip
import json
import shlex
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from compat_diff.generate.run import read_suite, run_generate, suite_digest

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "suites" / "generated" / "generated.jsonl.gz"
# The secret key `make generated` records with (scripts/make_generated.py); the recorder must
# have redacted every trace of it.
RECORDING_SECRET = b"recording-secret-never-stored"
STALE = (
    "the generator now plans other calls than suites/generated/generated.jsonl.gz holds: "
    "run `make generated` and commit the new suites/generated/generated.jsonl.gz"
)
Committed = tuple[dict[str, Any], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def committed() -> Committed:
    assert ARCHIVE.is_file(), f"{ARCHIVE} is missing: run `make generated` and commit it"
    with gzip.open(ARCHIVE, "rb") as source:
        raw = source.read()
    assert RECORDING_SECRET not in raw, "the committed recording holds the recording's secret key"
    lines = raw.splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:] if line.strip()]


@pytest.fixture(scope="module")
def planned(committed: Committed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    header, _ = committed
    words = shlex.split(header["suite"])  # compat-diff generate SERVICE ... --seed N
    assert words[:2] == ["compat-diff", "generate"] and words[-2] == "--seed", header["suite"]
    folder = tmp_path_factory.mktemp("planned")
    run_generate(tuple(words[2:-2]), folder, int(words[-1]))
    return folder


def test_the_header_says_what_the_recording_is(committed: Committed) -> None:
    header, exchanges = committed
    assert header["format"] == "compat-diff/recording"
    assert header["reference"].startswith("moto ") and "stand-in for AWS" in header["reference"]
    assert [exchange["seq"] for exchange in exchanges] == list(range(1, len(exchanges) + 1))


def test_the_generator_plans_exactly_the_recorded_suite(committed: Committed, planned: Path) -> None:
    header, exchanges = committed
    steps: dict[str, list[str]] = {}
    for path in sorted(planned.glob("*.suite.json")):
        for operation in read_suite(path)["operations"]:
            calls = [*operation["setup"], *operation["cases"], *operation["teardown"]]
            steps[operation["session"]] = [call["step"] for call in calls]
    recorded: dict[str, list[str]] = defaultdict(list)
    for exchange in exchanges:
        recorded[exchange["session"]].append(str(exchange.get("notes", {}).get("step")))
    assert set(recorded) == set(steps), (
        f"{STALE} (sessions planned, not recorded: {sorted(set(steps) - set(recorded))[:5]}; "
        f"recorded, no longer planned: {sorted(set(recorded) - set(steps))[:5]})"
    )
    for session, done in recorded.items():
        # Every recorded call is a planned step, in the planned order; a call the SDK could not
        # put on the wire (a wrong type its serializer refuses) is planned but not recorded.
        remaining = iter(steps[session])
        assert all(step in remaining for step in done), f"{STALE} (session {session})"
    # The steps name the calls, not their parameters: the digest of the planned files covers those.
    assert suite_digest(planned) == header["suite_digest"], STALE
