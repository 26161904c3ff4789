"""The replay's request-rate limit (``--max-rate``, ``max_rate`` in a targets file).

A tapping proxy in front of a real moto server notes when each request arrives; with a limit of
5 requests per second, no one-second window holds more than 6 of them (5, plus one when the
window's edges fall on two requests a second apart: the pacer allows no burst), while the same
replay without a limit packs more than that into one second and answers the same calls.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from compat_diff.replay.pacing import Pacer
from compat_diff.testing import run_cli

from .tap_proxy import busiest_second, read_arrivals, tap

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
# 34 calls in one session (sent one after another), none of them a poll.
RECORDING = RECORDINGS / "sqs.jsonl"


def _replay(endpoint: str, out: Path, *extra: str, recording: Path = RECORDING) -> dict:
    # What the run created is kept, so the calls counted are the replay's own.
    result = run_cli(
        "replay",
        str(recording),
        "--target",
        f"moto={endpoint}",
        "--out",
        str(out),
        "--keep-resources",
        *extra,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((out / "run.json").read_text())


@pytest.mark.live
def test_max_rate_bounds_requests_per_second_and_no_limit_is_unaffected(moto_factory, tmp_path: Path) -> None:
    candidate = moto_factory()
    with tap(candidate.url, tmp_path / "free", arrivals=True) as endpoint:
        free = _replay(endpoint, tmp_path / "run-free")
    with tap(candidate.url, tmp_path / "paced", arrivals=True) as endpoint:
        paced = _replay(endpoint, tmp_path / "run-paced", "--max-rate", "5")

    free_times = [moment for moment, *_ in read_arrivals(tmp_path / "free" / "arrivals.txt")]
    paced_times = [moment for moment, *_ in read_arrivals(tmp_path / "paced" / "arrivals.txt")]
    # The same calls were sent and answered either way.
    assert len(paced_times) == len(free_times) >= 30
    assert paced["summary"]["moto"]["answered"] == free["summary"]["moto"]["answered"] >= 30
    assert paced["targets"][0]["max_rate"] == 5.0
    assert free["targets"][0]["max_rate"] is None
    # Unlimited, moto's answers let the replay pack far more than 6 calls into a second ...
    assert busiest_second(free_times) > 6, free_times
    # ... and paced at 5 per second, no second holds more than 5 (+1 at the window's edges).
    assert busiest_second(paced_times) <= 6, paced_times


@pytest.mark.live
def test_the_lower_of_the_targets_file_and_the_command_line_applies(moto_factory, tmp_path: Path) -> None:
    candidate = moto_factory()
    with tap(candidate.url, tmp_path / "tap", arrivals=True) as endpoint:
        targets = tmp_path / "targets.toml"
        targets.write_text(f'[target.moto]\nendpoint = "{endpoint}"\nmax_rate = 4\n')
        result = run_cli(
            "replay",
            str(RECORDINGS / "sts.jsonl"),
            "--targets",
            str(targets),
            "--out",
            str(tmp_path / "run"),
            "--max-rate",
            "50",
            "--keep-resources",
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["targets"][0]["max_rate"] == 4.0
    times = [moment for moment, *_ in read_arrivals(tmp_path / "tap" / "arrivals.txt")]
    assert len(times) >= 8
    assert busiest_second(times) <= 5, times


@pytest.mark.parametrize(
    ("value", "says"),
    [("0", "positive"), ("-1", "positive"), ('"fast"', "number"), ("true", "number"), ("inf", "positive")],
)
def test_a_bad_max_rate_in_a_targets_file_is_one_sentence(tmp_path: Path, value: str, says: str) -> None:
    targets = tmp_path / "targets.toml"
    targets.write_text(f'[target.moto]\nendpoint = "http://127.0.0.1:9"\nmax_rate = {value}\n')
    result = run_cli(
        "replay", str(RECORDINGS / "sts.jsonl"), "--targets", str(targets), "--out", str(tmp_path / "run")
    )
    assert result.returncode == 2
    assert "target.moto.max_rate" in result.stderr and says in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_bad_max_rate_option_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = run_cli(
        "replay",
        str(RECORDINGS / "sts.jsonl"),
        "--target",
        "moto=http://127.0.0.1:9",
        "--out",
        str(tmp_path / "run"),
        "--max-rate",
        value,
    )
    assert result.returncode == 2
    assert "--max-rate" in result.stderr and "Traceback" not in result.stderr


def test_the_pacer_spaces_slots_evenly_without_a_burst() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def take(count: int) -> None:
        pacer = Pacer(4.0, clock=lambda: now[0], sleep=sleep)
        for _ in range(count):
            await pacer.wait()

    # Asked for at once, the slots are 0.25 s apart: the first at once, no burst after it.
    asyncio.run(take(5))
    assert slept == pytest.approx([0.25, 0.5, 0.75, 1.0])


@pytest.mark.live
def test_the_cleanup_keeps_the_runs_rate_limit(moto_factory, tmp_path: Path) -> None:
    """``compat-diff cleanup RUN_DIR`` sends its deletes at the rate the run was held to."""
    candidate = moto_factory()
    with tap(candidate.url, tmp_path / "replay", arrivals=True) as endpoint:
        _replay(endpoint, tmp_path / "run", "--max-rate", "5", recording=RECORDINGS / "s3.jsonl")
    with tap(candidate.url, tmp_path / "cleanup", arrivals=True) as endpoint:
        result = run_cli("cleanup", str(tmp_path / "run"), "--target", f"moto={endpoint}", timeout=180)
    assert result.returncode in (0, 1), result.stderr
    times = [moment for moment, *_ in read_arrivals(tmp_path / "cleanup" / "arrivals.txt")]
    # Enough deletes (objects, versions, buckets) that an unpaced cleanup would pack them tighter.
    assert len(times) > 12, (times, result.stderr)
    assert busiest_second(times) <= 6, times
