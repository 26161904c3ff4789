"""Ctrl-C or SIGTERM during a replay: what ran is kept, the rest is not-run (outside the score),
the report of the part that ran is written, the console says how to resume, and ``--resume``
continues where it stopped, with the candidate's ids learnt from the kept answers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from .test_repeatable import ENV

CALLS = 400


def _record(moto_factory, boto_recorder) -> Path:
    reference = moto_factory()
    recorder = boto_recorder()
    sqs = recorder.client("sqs", reference.url)
    queue = sqs.create_queue(QueueName="work")["QueueUrl"]
    for number in range(CALLS):
        sqs.send_message(QueueUrl=queue, MessageBody=f"message {number}")
    # Not the message count: a call in flight when the replay is interrupted has reached the
    # candidate but has no answer on file, so resuming sends it again (docs/replay.md).
    sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    recorder.close()
    return recorder.writer.path


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "compat_diff", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )


def _answers(run: Path, target: str) -> list[dict]:
    return [
        json.loads(line) for line in (run / "targets" / target / "answers.jsonl").read_text().splitlines()
    ]


def _interrupt_when_replaying(
    process: subprocess.Popen[str], run: Path, how: signal.Signals
) -> tuple[str, str]:
    # Interrupt once the first answer is on file: the replay is under way, and paced (--max-rate)
    # it is far from done, however busy the machine is.
    deadline = time.monotonic() + 60
    answers = run / "targets" / "cloud" / "answers.jsonl"
    while not (answers.exists() and answers.read_text().count("\n") >= 1):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(how)
    return process.communicate(timeout=120)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_compare_reports_what_ran_and_resume_finishes_it(
    tmp_path, moto_factory, boto_recorder, how
):
    recording = _record(moto_factory, boto_recorder)
    backend = moto_factory()
    run, report = tmp_path / "run", tmp_path / "report"
    common = ["--target", f"cloud={backend.url}", "--concurrency", "1", "--keep-resources"]
    paced = ["--max-rate", "20"]
    process = _start(
        "compare", str(recording), *common, *paced, "--report-dir", str(report), "--run-dir", str(run)
    )
    _, stderr = _interrupt_when_replaying(process, run, how)

    assert process.returncode == 130, stderr
    assert "Unclosed client session" not in stderr and "Traceback" not in stderr
    assert f"--resume {run}" in stderr
    answers = _answers(run, "cloud")
    assert sorted(a["seq"] for a in answers) == list(range(1, CALLS + 3))
    done = [a for a in answers if a["outcome"] == "answered"]
    not_run = [a for a in answers if a["outcome"] == "not-run"]
    assert done and not_run, (len(done), len(not_run))
    assert all(a["skipped"].startswith("interrupted") for a in not_run)
    assert json.loads((run / "run.json").read_text())["interrupted"] is True
    # The report of the part that ran: the not-run calls are outside the score.
    partial = orjson.loads((report / "report.json").read_bytes())["targets"][0]
    assert partial["score"] == 1.0

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "compat_diff",
            "compare",
            str(recording),
            *common,
            "--report-dir",
            str(tmp_path / "report-2"),
            "--resume",
            str(run),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert resumed.returncode == 0, resumed.stderr
    answers = _answers(run, "cloud")
    assert sorted(a["seq"] for a in answers) == list(range(1, CALLS + 3))
    assert all(a["outcome"] == "answered" and a["response"]["status"] == 200 for a in answers)
    # The calls sent after resuming used the candidate's queue URL (learnt from the kept answers),
    # under the run's own name: the same run id as before the interruption.
    names = json.loads((run / "targets" / "cloud" / "names.json").read_text())
    last = max(answers, key=lambda a: a["seq"])
    assert f"work-{names['run_id']}" in last["request"]["body"]["text"]
    whole = orjson.loads((tmp_path / "report-2" / "report.json").read_bytes())["targets"][0]
    assert whole["score"] == 1.0
    assert sum(op["exchanges"] for op in whole["operations"]) == CALLS + 2
