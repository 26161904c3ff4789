"""Polls: a recorded GetQueryExecution that answered SUCCEEDED at once (the reference was fast) is
asked again on a candidate that is still QUEUED/RUNNING, until it reports SUCCEEDED too.

The candidate is a real moto server told, through its own state manager, to move an Athena
query through QUEUED and RUNNING over several polls, as AWS does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import orjson
from rich.console import Console

from compat_diff.compare.run import run_diff
from compat_diff.replay.run import run_replay

from .conftest import Server
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


def _slow_ec2(tmp_path: Path, pending: int) -> Server:
    port_file = tmp_path / f"ec2-{pending}-{time.monotonic_ns()}.port"
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("instance_state_server.py")),
            str(port_file),
            str(pending),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server("", process)
    deadline = time.monotonic() + 10
    while not port_file.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            server.stop()
            raise RuntimeError("the EC2 state server did not start")
        time.sleep(0.02)
    server.url = f"http://127.0.0.1:{port_file.read_text()}"
    return server


def test_a_state_given_as_a_structure_is_polled_until_the_recorded_one(tmp_path, moto_factory, boto_recorder):
    """EC2's ``State: {Code, Name}``: the recorded DescribeInstances said ``running``; a candidate that
    answers ``pending`` twice is asked three times, and the answer line says so."""
    reference = moto_factory()
    instance = boto3.client(
        "ec2",
        endpoint_url=reference.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    ).run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    recorder = boto_recorder()
    ec2 = recorder.client("ec2", reference.url)
    state = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "running"
    recorder.close()

    slow = _slow_ec2(tmp_path, pending=2)
    try:
        target, answers = _compare(recorder.writer.path, slow.url, tmp_path / "polled", poll_timeout=30)
    finally:
        slow.stop()
    (poll,) = answers
    assert poll["polled"]["attempts"] == 3 and poll["polled"]["reached"] is True, poll
    assert "<name>running</name>" in poll["response"]["body"]["text"]
    assert not [
        d for op in target["operations"] for d in op["divergences"] if d["path"].endswith("State.Name")
    ]

    # The control: sent once, the candidate's first answer is compared and its state diverges.
    slower = _slow_ec2(tmp_path, pending=2)
    try:
        target, answers = _compare(recorder.writer.path, slower.url, tmp_path / "once", poll_timeout=0)
    finally:
        slower.stop()
    assert "polled" not in answers[0] and "<name>pending</name>" in answers[0]["response"]["body"]["text"]
    diverged = [
        (d["path"], d["reference"], d["candidate"])
        for op in target["operations"]
        for d in op["divergences"]
        if d["path"].endswith("State.Name")
    ]
    assert diverged == [("$.Reservations[0].Instances[0].State.Name", "running", "pending")]
