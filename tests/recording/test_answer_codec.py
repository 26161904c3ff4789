"""One Answer, one encoder, one decoder: what the replay writes the diff reads back, a candidate body
equal to the recorded one is stored once (named by its digest), and old lines walk a migration chain."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from compat_diff.model import Body, Exchange, HttpRequest, HttpResponse
from compat_diff.recording import runformat
from compat_diff.recording.runformat import Answer, decode_answer
from compat_diff.replay import rundir
from compat_diff.replay.rundir import RunDirectory

BIG = b"<ListBucketResult>" + b"x" * 300_000 + b"</ListBucketResult>"


def _answer(seq: int, body: bytes) -> Answer:
    return Answer(
        seq=seq,
        outcome="answered",
        request=HttpRequest("GET", "http://127.0.0.1:1/b", (("host", "127.0.0.1:1"),), Body.of(b"")),
        response=HttpResponse(200, (("content-type", "application/xml"),), Body.of(body)),
        broken_dependencies=({"seq": 1, "kind": "bucket"},),
        attempts=2,
        duration_ms=1.5,
    )


def _recorded(body: bytes, request_body: bytes = b"") -> Exchange:
    return Exchange(
        seq=1,
        request=HttpRequest("GET", "http://aws/b", (), Body.of(request_body)),
        response=HttpResponse(200, (), Body.of(body)),
    )


def _lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_the_writer_is_the_runformat_answer() -> None:
    assert rundir.Answer is runformat.Answer


def test_a_body_equal_to_the_reference_is_stored_once(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    run.start({"path": "rec.jsonl"}, [{"name": "x"}], {})
    output = run.target("x")
    reference = Body.of(BIG)
    recorded = _recorded(BIG)
    output.write(_answer(1, BIG), recorded)
    output.write(_answer(2, BIG + b"!"), recorded)
    output.close()
    answers = tmp_path / "run" / "targets" / "x" / "answers.jsonl"
    same, different = _lines(answers)
    assert same["response"]["body"] == {"reference": runformat.body_digest(reference), "size": len(BIG)}
    assert "blob" in different["response"]["body"]
    blobs = {p.name for p in runformat.answers_blob_dir(answers).iterdir()}
    assert blobs == {different["response"]["body"]["blob"]}
    assert answers.stat().st_size < len(BIG)

    decoded = decode_answer(same, runformat.answers_blob_dir(answers), recorded)
    assert decoded.response is not None and decoded.response.body.read() == BIG
    assert (decoded.seq, decoded.attempts) == (1, 2)
    assert decoded.broken_dependencies == ({"seq": 1, "kind": "bucket"},)
    other = decode_answer(different, runformat.answers_blob_dir(answers), recorded)
    assert other.response is not None and other.response.body.read() == BIG + b"!"
    # Without the recording at hand, the digest and size still say what the body was.
    alone = decode_answer(same, None, None)
    assert alone.response is not None
    assert (alone.response.body.storage, alone.response.body.size) == ("digest", len(BIG))


def test_a_spooled_blob_equal_to_the_reference_is_removed(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    run.start({"path": "rec.jsonl"}, [{"name": "x"}], {})
    output = run.target("x")
    reference = Body.of(BIG)
    digest = runformat.body_digest(reference)
    assert digest is not None
    spooled = output.blob_dir / digest
    output.blob_dir.mkdir(parents=True, exist_ok=True)
    spooled.write_bytes(BIG)
    body = Body(inline=None, storage="blob", sha256=digest, size=len(BIG), blob_path=spooled)
    output.write(Answer(1, "answered", response=HttpResponse(200, (), body)), _recorded(BIG))
    output.close()
    assert not spooled.exists()


def test_a_request_sent_as_recorded_is_not_stored_again(tmp_path: Path) -> None:
    policy = runformat.BodyPolicy(None)
    upload = b"u" * 4096
    recorded = _recorded(b"", request_body=upload)
    sent = Answer(
        7,
        "answered",
        request=HttpRequest("PUT", "http://target/b/k", (), Body.of(upload)),
        response=HttpResponse(200, (), Body.of(b"")),
    )
    line = orjson.loads(orjson.dumps(runformat.encode_answer(sent, policy, recorded)))
    assert line["request"]["body"] == {"reference": runformat.body_digest(Body.of(upload)), "size": 4096}
    assert decode_answer(line, None, recorded) == sent


def test_round_trip_of_every_outcome(tmp_path: Path) -> None:
    policy = runformat.BodyPolicy(None)
    for answer in (
        _answer(3, b"small"),
        Answer(4, "transport", error={"kind": "refused", "message": "no"}),
        Answer(5, "skipped", skipped="not-replayable: x"),
        Answer(6, "not-run", skipped="target unresponsive: y"),
    ):
        line = orjson.loads(orjson.dumps(runformat.encode_answer(answer, policy)))
        assert decode_answer(line, None) == answer


def test_old_answer_lines_walk_the_migration_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runformat, "RUN_VERSION", 2)
    monkeypatch.setitem(runformat.ANSWER_MIGRATIONS, 1, lambda line: {**line, "outcome": line.pop("status")})
    decoded = decode_answer({"seq": 1, "status": "skipped", "skipped": "old"}, None, version=1)
    assert (decoded.outcome, decoded.skipped) == ("skipped", "old")
