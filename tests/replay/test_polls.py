"""Polls: a recorded GetQueryExecution that answered SUCCEEDED at once (the reference was fast) is
asked again on a candidate that is still QUEUED/RUNNING, until it reports SUCCEEDED too.

The candidate is a real moto server told, through its own state manager, to move an Athena
query through QUEUED and RUNNING over several polls, as AWS does.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import orjson
from rich.console import Console

from compat_diff.compare.run import run_diff
from compat_diff.replay.run import run_replay

from .test_repeatable import ENV


def _slow_queries(url: str) -> None:
    transition = {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 3}}
    request = urllib.request.Request(
        url + "/moto-api/state-manager/set-transition", data=json.dumps(transition).encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=10).read()


def _compare(recording: Path, url: str, out: Path, poll_timeout: float) -> tuple[dict, list[dict]]:
    status = run_replay(
        recording,
        [f"slow={url}"],
        None,
        False,
        out / "run",
        console=Console(stderr=True),
        env=ENV,
        poll_timeout=poll_timeout,
    )
    assert status == 0
    run_diff(out / "run", out / "report", [], True, None, Console(stderr=True))
    answers = [json.loads(line) for line in (out / "run" / "targets" / "slow" / "answers.jsonl").open()]
    return orjson.loads((out / "report" / "report.json").read_bytes())["targets"][0], answers


def test_a_poll_is_repeated_until_the_candidate_reaches_the_recorded_state(
    tmp_path, moto_factory, boto_recorder
):
    reference = moto_factory()
    recorder = boto_recorder()
    athena = recorder.client("athena", reference.url)
    query = athena.start_query_execution(
        QueryString="SELECT 1", ResultConfiguration={"OutputLocation": "s3://results/"}
    )["QueryExecutionId"]
    assert (
        athena.get_query_execution(QueryExecutionId=query)["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
    )
    recorder.close()
    recording = recorder.writer.path

    slow = moto_factory()
    _slow_queries(slow.url)
    target, answers = _compare(recording, slow.url, tmp_path / "polled", poll_timeout=30)
    poll = answers[1]
    assert poll["polled"]["reached"] is True and poll["polled"]["attempts"] > 1, poll
    assert '"SUCCEEDED"' in poll["response"]["body"]["text"]
    # (Athena's query ids differ per server and have no default normalizer rule: only states count here.)
    assert _state_divergences(target) == []

    # The control: sent once, the slower candidate's first answer diverges in its state.
    slower = moto_factory()
    _slow_queries(slower.url)
    target, answers = _compare(recording, slower.url, tmp_path / "once", poll_timeout=0)
    assert "polled" not in answers[1] and '"QUEUED"' in answers[1]["response"]["body"]["text"]
    assert _state_divergences(target) == [("$.QueryExecution.Status.State", "SUCCEEDED", "QUEUED")]


def _state_divergences(target: dict) -> list[tuple[str, str, str]]:
    return [
        (d["path"], d["reference"], d["candidate"])
        for op in target["operations"]
        for d in op["divergences"]
        if ".Status" in d["path"]
    ]
