"""Transport faults are outcomes: refused, timeout, reset and non-HTTP answers are recorded per
call and the replay finishes; when nothing at all is reachable the command exits 3 with one sentence.
Also: damaged recording lines, read-only and not-replayable skips.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from compat_diff.model import Auth
from compat_diff.recording import RecordingWriter
from compat_diff.replay.run import run_replay
from compat_diff.testing import free_port, make_exchange, make_request, make_response, run_cli

AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIARECORDED/20240101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=**REDACTED**"
)


def _s3_call(seq: int, method: str, path: str, operation: str, body: bytes = b"", **extra) -> object:
    request = make_request(
        method,
        f"http://127.0.0.1:5000{path}",
        [
            ("Host", "127.0.0.1:5000"),
            ("Authorization", AUTHORIZATION),
            ("X-Amz-Date", "20240101T000000Z"),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ],
        body,
    )
    return make_exchange(
        seq,
        request,
        make_response(200, [], b""),
        service="s3",
        operation=operation,
        auth=Auth(
            "sigv4", "AKIARECORDED", ("host", "x-amz-content-sha256", "x-amz-date"), "UNSIGNED-PAYLOAD"
        ),
        **extra,
    )


def _recording(path: Path, damaged: bool = False) -> Path:
    with RecordingWriter(path) as writer:
        writer.write(_s3_call(1, "PUT", "/fault-bucket", "CreateBucket"))
        writer.write(_s3_call(2, "GET", "/fault-bucket?list-type=2", "ListObjectsV2"))
        writer.write(_s3_call(3, "GET", "/", "ListBuckets"))
    if damaged:
        with path.open("ab") as handle:
            handle.write(b'{"seq": 4, "request": {"method": "GE')
    return path


def _answers(run: Path, target: str) -> list[dict]:
    lines = (run / "targets" / target / "answers.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda answer: answer["seq"])


def test_each_fault_is_an_outcome_and_the_reachable_target_still_answers(
    tmp_path, moto_factory, fault_server
):
    recording = _recording(tmp_path / "rec.jsonl")
    moto = moto_factory()
    targets = [
        f"moto={moto.url}",
        f"refused=http://127.0.0.1:{free_port()}",
        f"hang={fault_server('hang').url}",
        f"reset={fault_server('reset').url}",
        f"garbage={fault_server('garbage').url}",
    ]

    status = run_replay(
        recording, targets, None, False, tmp_path / "run", timeout=1.0, console=Console(stderr=True)
    )

    assert status == 0
    assert all(answer["outcome"] == "answered" for answer in _answers(tmp_path / "run", "moto"))
    expected = {"refused": "connection-refused", "hang": "timeout", "reset": "reset", "garbage": "protocol"}
    for target, kind in expected.items():
        answers = _answers(tmp_path / "run", target)
        assert [answer["seq"] for answer in answers] == [1, 2, 3]
        for answer in answers:
            assert answer["outcome"] == "transport", answer
            assert answer["error"]["kind"] == kind, (target, answer["error"])
            assert answer["response"] is None
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["finished"] and run["summary"]["refused"]["answered"] == 0


def test_no_reachable_target_exits_3_with_one_sentence(tmp_path, fault_server):
    recording = _recording(tmp_path / "rec.jsonl")
    result = run_cli(
        "replay",
        str(recording),
        "--out",
        str(tmp_path / "run"),
        "--target",
        f"a=http://127.0.0.1:{free_port()}",
        "--target",
        f"b={fault_server('reset').url}",
        "--timeout",
        "1",
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    final = [line for line in result.stderr.splitlines() if line.startswith("compat-diff:")]
    assert len(final) == 1 and "no target was reachable" in final[0]
    # The run directory is still written, with every fault recorded.
    assert len(_answers(tmp_path / "run", "a")) == 3


def test_damaged_lines_are_listed_and_skips_have_reasons(tmp_path, moto_factory):
    recording = tmp_path / "rec.jsonl"
    with RecordingWriter(recording) as writer:
        writer.write(_s3_call(1, "PUT", "/skip-bucket", "CreateBucket"))
        writer.write(_s3_call(2, "GET", "/skip-bucket?list-type=2", "ListObjectsV2"))
        writer.write(_s3_call(3, "PUT", "/skip-bucket/huge", "PutObject", replayable=False))
    with recording.open("ab") as handle:
        handle.write(b'{"seq": 4, "request": {"method": "GE')
    moto = moto_factory()
    console = Console(stderr=True, record=True, width=200)

    run_replay(recording, [f"m={moto.url}"], None, False, tmp_path / "run", read_only=True, console=console)

    answers = _answers(tmp_path / "run", "m")
    assert [(a["seq"], a["outcome"], a.get("skipped", "")[:14]) for a in answers] == [
        (1, "skipped", "read-only"),
        (2, "answered", ""),
        (3, "skipped", "not-replayable"),
    ]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["problems"] == [{"line": 5, "reason": run["problems"][0]["reason"]}]
    assert "truncated" in run["problems"][0]["reason"]
    assert "line 5" in console.export_text()


def test_throttled_answers_are_retried_only_when_asked(tmp_path, fault_server):
    recording = tmp_path / "rec.jsonl"
    with RecordingWriter(recording) as writer:
        writer.write(_s3_call(1, "GET", "/", "ListBuckets"))

    run_replay(
        recording,
        [f"t={fault_server('throttle').url}"],
        None,
        False,
        tmp_path / "once",
        console=Console(stderr=True),
    )
    run_replay(
        recording,
        [f"t={fault_server('throttle').url}"],
        None,
        False,
        tmp_path / "retried",
        retry_throttled=3,
        console=Console(stderr=True),
    )

    (once,) = _answers(tmp_path / "once", "t")
    assert once["response"]["status"] == 503 and "attempts" not in once
    (retried,) = _answers(tmp_path / "retried", "t")
    assert retried["response"]["status"] == 200 and retried["attempts"] == 3


def test_tls_failure_is_an_outcome_and_tls_verify_false_accepts_a_self_signed_emulator(
    tmp_path, moto_factory
):
    recording = _recording(tmp_path / "rec.jsonl")
    moto = moto_factory(https=True)
    targets = tmp_path / "t.toml"
    targets.write_text(
        f'[target.strict]\nendpoint = "{moto.url}"\n'
        f'[target.lenient]\nendpoint = "{moto.url}"\ntls_verify = false\n'
    )

    run_replay(recording, [], targets, False, tmp_path / "run", console=Console(stderr=True))

    assert {a["error"]["kind"] for a in _answers(tmp_path / "run", "strict")} == {"tls"}
    assert all(a["outcome"] == "answered" for a in _answers(tmp_path / "run", "lenient"))
