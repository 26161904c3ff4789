"""A candidate that stops answering mid-run is probed once and given up on: its remaining calls are
`not-run (target unresponsive)`, said on the console and in the report, and left out of the score.
A target that recovers before the probe keeps being replayed.
"""

from __future__ import annotations

import json

from compat_diff.testing import run_cli
from tests.replay.test_hostile_answers import answers, hostile, write_recording  # noqa: F401 (fixture)


def _replay(tmp_path, url, *extra):
    return run_cli(
        "replay",
        str(tmp_path / "rec.jsonl"),
        "--target",
        f"candidate={url}",
        "--out",
        str(tmp_path / "run"),
        "--timeout",
        "0.5",
        "--unresponsive-after",
        "3",
        *extra,
        timeout=300,
    )


def test_a_target_that_stops_answering_has_its_remaining_calls_not_run(tmp_path, hostile):  # noqa: F811
    server = hostile("answer-then-hang", 2)
    write_recording(tmp_path / "rec.jsonl", calls=20)

    result = _replay(tmp_path, server.url, "--concurrency", "1")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    outcomes = [answer["outcome"] for answer in answers(tmp_path / "run", "candidate")]
    assert outcomes[:2] == ["answered", "answered"]
    assert outcomes[2:5] == ["transport"] * 3
    assert outcomes[5:] == ["not-run"] * 15
    not_run = answers(tmp_path / "run", "candidate")[5]
    assert not_run["skipped"].startswith("target unresponsive: 3 calls in a row got no answer")
    assert "target candidate stopped answering" in result.stderr
    assert "15 remaining call(s) were not run" in result.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["summary"]["candidate"]["not_run"] == 15
    assert run["summary"]["candidate"]["unresponsive"]

    diffed = run_cli("diff", str(tmp_path / "run"), "--report-dir", str(tmp_path / "report"))

    assert diffed.returncode == 1, diffed.stderr
    assert "15 not-run" in diffed.stdout + diffed.stderr
    [target] = json.loads((tmp_path / "report" / "report.json").read_text())["targets"]
    assert target["verdicts"]["not-run"] == 15
    # Not-run calls are out of the score: 2 answered (matching) and 3 timeouts were compared.
    assert target["compared"] == 5 and target["matching"] == 2


def test_a_target_that_recovers_before_the_probe_keeps_being_replayed(tmp_path, hostile):  # noqa: F811
    # Requests 3, 4 and 5 hang; the 6th (the probe) is answered, and so is everything after it.
    server = hostile("hiccup", 3, 5)
    write_recording(tmp_path / "rec.jsonl", calls=10)

    result = _replay(tmp_path, server.url, "--concurrency", "1")

    assert result.returncode == 0, result.stderr
    outcomes = [answer["outcome"] for answer in answers(tmp_path / "run", "candidate")]
    assert outcomes == ["answered"] * 2 + ["transport"] * 3 + ["answered"] * 5
    assert "stopped answering" not in result.stderr
