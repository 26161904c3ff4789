"""Failures that are not the candidate's stay out of its score: a bug inside the replayer is an
`internal-error` (exit 3, one sentence), only inputs that really cannot be replayed are
`not-replayable`, and a recorded reference answer that does not parse is `reference-unparseable`.
The candidate is a real moto server.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rich.console import Console

from compat_diff.compare.run import run_diff
from compat_diff.errors import CannotRun
from compat_diff.model import Auth
from compat_diff.recording import RecordingWriter
from compat_diff.replay import engine
from compat_diff.replay.run import run_replay
from compat_diff.testing import make_exchange, make_request, make_response, run_cli

AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIARECORDED/20240101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=**REDACTED**"
)
LIST_BUCKETS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/'
    b'2006-03-01"><Owner><ID>owner</ID><DisplayName>webfile</DisplayName></Owner><Buckets></Buckets>'
    b"</ListAllMyBucketsResult>"
)


def list_buckets(seq: int, reference_body: bytes = LIST_BUCKETS, scheme: str = "sigv4") -> object:
    request = make_request(
        "GET",
        "http://127.0.0.1:5000/",
        [
            ("Host", "127.0.0.1:5000"),
            ("Authorization", AUTHORIZATION),
            ("X-Amz-Date", "20240101T000000Z"),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ],
    )
    return make_exchange(
        seq,
        request,
        make_response(200, [("Content-Type", "application/xml")], reference_body),
        service="s3",
        operation="ListBuckets",
        auth=Auth(scheme, "AKIARECORDED", ("host", "x-amz-content-sha256", "x-amz-date"), "UNSIGNED-PAYLOAD"),
    )


def recording(path, exchanges):
    with RecordingWriter(path) as writer:
        for exchange in exchanges:
            writer.write(exchange)
    return path


def answers(run, target="moto"):
    lines = (run / "targets" / target / "answers.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda answer: answer["seq"])


@pytest.mark.parametrize("bug", [KeyError("ListBuckets"), ValueError("a bug of ours")])
def test_a_bug_in_the_replayer_is_an_internal_error_not_an_outcome_of_the_candidate(
    tmp_path, moto_factory, monkeypatch, bug
):
    moto = moto_factory()
    rec = recording(tmp_path / "rec.jsonl", [list_buckets(1), list_buckets(2), list_buckets(3)])
    real_rebuild = engine.rebuild

    def buggy_rebuild(exchange, *args, **kwargs):
        if exchange.seq == 2:
            raise bug
        return real_rebuild(exchange, *args, **kwargs)

    monkeypatch.setattr(engine, "rebuild", buggy_rebuild)

    with pytest.raises(CannotRun) as raised:
        run_replay(rec, [f"moto={moto.url}"], None, False, tmp_path / "run", console=Console(stderr=True))

    assert "failed inside compat-diff itself" in str(raised.value)
    assert type(bug).__name__ in str(raised.value)
    lines = answers(tmp_path / "run")
    assert [line["outcome"] for line in lines] == ["answered", "internal-error", "answered"]
    assert lines[1]["error"]["kind"] == "internal"
    assert "buggy_rebuild" in lines[1]["error"]["message"]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["finished"] and run["summary"]["moto"]["internal_errors"] == 1

    status = run_diff(
        run_dir=tmp_path / "run",
        report_dir=tmp_path / "report",
        normalizer_paths=[],
        default_rules=True,
        fail_under=None,
        console=Console(),
    )

    # The two calls the candidate answered match and our failure is not in its score, but a gate
    # never passes over an internal error: the run did not test everything it was asked to.
    assert status == 1
    [target] = json.loads((tmp_path / "report" / "report.json").read_text())["targets"]
    assert target["verdicts"]["internal-error"] == 1
    assert target["compared"] == 2 and target["matching"] == 2 and target["score"] == 1


def test_an_internal_error_exits_3_with_one_sentence(tmp_path, moto_factory):
    moto = moto_factory()
    rec = recording(tmp_path / "rec.jsonl", [list_buckets(1)])
    inject = (
        "import sys\n"
        "from compat_diff.replay import engine\n"
        "def broken(*args, **kwargs):\n"
        "    return {}['missing']\n"
        "engine.rebuild = broken\n"
        "from compat_diff.cli import main\n"
        "sys.argv = ['compat-diff', *sys.argv[1:]]\n"
        "main()\n"
    )
    # The command as a user runs it, with a bug injected into the replayer before it starts.
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            inject,
            "replay",
            str(rec),
            "--target",
            f"moto={moto.url}",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )

    assert completed.returncode == 3, completed.stderr
    assert "Traceback" not in completed.stderr
    final = [line for line in completed.stderr.splitlines() if line.startswith("compat-diff:")]
    assert len(final) == 1 and "failed inside compat-diff itself" in final[0]


def test_a_recording_that_cannot_be_re_signed_stays_not_replayable(tmp_path, moto_factory):
    moto = moto_factory()
    rec = recording(tmp_path / "rec.jsonl", [list_buckets(1), list_buckets(2, scheme="hmac-of-the-future")])

    status = run_replay(
        rec, [f"moto={moto.url}"], None, False, tmp_path / "run", console=Console(stderr=True)
    )

    assert status == 0
    lines = answers(tmp_path / "run")
    assert lines[0]["outcome"] == "answered"
    assert lines[1]["outcome"] == "skipped"
    assert lines[1]["skipped"].startswith("not-replayable: the recorded signature scheme")


def test_an_unparseable_reference_answer_is_shown_and_not_scored(tmp_path, moto_factory):
    moto = moto_factory()
    truncated = LIST_BUCKETS[:120]
    rec = recording(tmp_path / "rec.jsonl", [list_buckets(1), list_buckets(2, reference_body=truncated)])
    assert run_replay(rec, [f"moto={moto.url}"], None, False, tmp_path / "run", console=Console()) == 0
    assert [line["outcome"] for line in answers(tmp_path / "run")] == ["answered", "answered"]

    result = run_cli("diff", str(tmp_path / "run"), "--report-dir", str(tmp_path / "report"))

    assert result.returncode == 0, result.stderr
    assert "1 reference-unparseable" in result.stdout + result.stderr
    [target] = json.loads((tmp_path / "report" / "report.json").read_text())["targets"]
    assert target["verdicts"]["reference-unparseable"] == 1
    assert target["compared"] == 1 and target["matching"] == 1
    details = [json.loads(line) for line in (tmp_path / "report" / "details.jsonl").read_text().splitlines()]
    unparseable = next(detail for detail in details if detail["seq"] == 2)
    assert unparseable["verdict"] == "reference-unparseable"
    assert any("recorded reference answer does not parse" in note for note in unparseable["notes"])
    assert "reference-unparseable" in (tmp_path / "report" / "summary.md").read_text()
