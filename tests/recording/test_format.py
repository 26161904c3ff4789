"""The recording file: written one flushed line at a time, read as a stream, damaged lines
reported by number, older versions migrated, newer ones and other files refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from compat_diff.errors import RecorderFailure, RecordingError
from compat_diff.model import Body, Exchange
from compat_diff.recording import VERSION, RecordingWriter, blob_dir_for, load_exchanges, open_recording
from compat_diff.recording import format as recording_format
from compat_diff.testing import make_exchange, make_request, make_response


def _exchange(seq: int, body: bytes | str = b"", answer: bytes | str = "<ok/>", **extra: Any) -> Exchange:
    return make_exchange(
        seq,
        make_request("PUT", f"http://127.0.0.1:9/bucket/key{seq}", {"Host": "127.0.0.1:9"}, body),
        make_response(200, {"Content-Type": "application/xml"}, answer),
        service="s3",
        operation="PutObject",
        **extra,
    )


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    original = _exchange(
        1,
        b"\x00\x01binary",
        session="s1",
        started="2024-01-01T00:00:00.000Z",
        duration_ms=1.5,
        notes={"aws-chunked": {"payload": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "chunk_size": 8192}},
    )
    with RecordingWriter(path, header={"session": "s1"}) as writer:
        writer.write(original)

    recording, exchanges = load_exchanges(path)
    assert recording.header["format"] == "compat-diff/recording" and recording.header["version"] == VERSION
    assert recording.header["session"] == "s1"
    (read,) = exchanges
    assert read.request.body.read() == b"\x00\x01binary"
    assert read.response.body.read() == b"<ok/>"
    assert (read.seq, read.session, read.started, read.duration_ms) == (
        1,
        "s1",
        "2024-01-01T00:00:00.000Z",
        1.5,
    )
    assert read.request.headers == original.request.headers
    assert read.notes == original.notes and read.replayable
    line = orjson.loads(path.read_bytes().splitlines()[1])
    assert line["request"]["body"] == {"base64": "AAFiaW5hcnk="}
    assert line["response"]["body"] == {"text": "<ok/>"}


def test_each_exchange_is_on_disk_as_soon_as_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    writer = RecordingWriter(path)
    writer.write(_exchange(1))
    # Not closed: another reader (or a crash right now) sees the complete line already.
    assert [e.seq for e in open_recording(path)] == [1]
    writer.write(_exchange(2))
    assert [e.seq for e in open_recording(path)] == [1, 2]
    writer.close()


def test_reading_streams_one_line_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path) as writer:
        for seq in range(1, 4):
            writer.write(_exchange(seq))
    recording = open_recording(path)
    iterator = iter(recording)
    assert next(iterator).seq == 1
    # A line appended while the reader is part-way through is still seen: nothing was read ahead.
    with path.open("ab") as handle:
        handle.write(path.read_bytes().splitlines(keepends=True)[1].replace(b'"seq":1', b'"seq":99'))
    assert [e.seq for e in iterator] == [2, 3, 99]


def test_damaged_and_truncated_lines_are_reported_by_number_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path) as writer:
        for seq in range(1, 4):
            writer.write(_exchange(seq))
    lines = path.read_bytes().splitlines(keepends=True)
    # line 3 damaged in the middle, and the last line cut short as by a crash mid-write
    lines[2] = b'{"seq": 2, "oops\n'
    lines.append(lines[1][:40])
    path.write_bytes(b"".join(lines))

    recording = open_recording(path)
    assert [e.seq for e in recording] == [1, 3]
    assert [p.line for p in recording.problems] == [3, 5]
    assert "not valid JSON" in recording.problems[0].reason
    assert "truncated" in recording.problems[1].reason


def test_a_line_missing_a_field_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path) as writer:
        writer.write(_exchange(1))
    with path.open("ab") as handle:
        handle.write(b'{"seq": 2, "request": {"method": "GET", "url": "http://x/"}}\n')
    recording = open_recording(path)
    assert [e.seq for e in recording] == [1]
    assert recording.problems[0].line == 3 and "response" in recording.problems[0].reason


def test_migration_chain_upgrades_an_old_recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend the format is at version 3 and version 1 stored the method and url under other names.
    monkeypatch.setattr(recording_format, "VERSION", 3)

    def one_to_two(obj: dict) -> dict:
        request = obj.pop("req")
        obj["request"] = {"method": request["verb"], "url": request["target"], "headers": [], "body": None}
        return obj

    def two_to_three(obj: dict) -> dict:
        obj["response"] = obj.pop("answer")
        return obj

    monkeypatch.setitem(recording_format.MIGRATIONS, 1, one_to_two)
    monkeypatch.setitem(recording_format.MIGRATIONS, 2, two_to_three)
    path = tmp_path / "old.jsonl"
    old = {"seq": 1, "req": {"verb": "GET", "target": "http://h/b"}, "answer": {"status": 204, "headers": []}}
    path.write_bytes(
        orjson.dumps({"format": "compat-diff/recording", "version": 1}) + b"\n" + orjson.dumps(old) + b"\n"
    )

    recording, (exchange,) = load_exchanges(path)
    assert recording.problems == []
    assert (exchange.request.method, exchange.request.url, exchange.response.status) == (
        "GET",
        "http://h/b",
        204,
    )


def test_a_version_without_a_migration_path_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording_format, "VERSION", 3)
    monkeypatch.delitem(recording_format.MIGRATIONS, 1)
    monkeypatch.setitem(recording_format.MIGRATIONS, 2, lambda obj: obj)
    path = tmp_path / "old.jsonl"
    path.write_bytes(orjson.dumps({"format": "compat-diff/recording", "version": 1}) + b"\n")
    with pytest.raises(RecordingError, match="version 1"):
        open_recording(path)


def test_large_bodies_are_stored_once_as_blobs(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    big = bytes(range(256)) * 2048  # 512 KiB, over the 256 KiB inline limit
    with RecordingWriter(path) as writer:
        writer.write(_exchange(1, big, big))
        writer.write(_exchange(2, big))
    digest = hashlib.sha256(big).hexdigest()
    assert [p.name for p in blob_dir_for(path).iterdir()] == [digest]
    line = orjson.loads(path.read_bytes().splitlines()[1])
    assert line["request"]["body"] == {"blob": digest, "size": len(big)}

    _, exchanges = load_exchanges(path)
    assert exchanges[0].request.body.storage == "blob"
    assert exchanges[0].request.body.read() == big == exchanges[1].request.body.read()
    assert b"".join(exchanges[0].response.body.iter_chunks(1000)) == big


def test_bodies_over_max_body_bytes_keep_only_a_digest_and_are_not_replayable(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    payload = b"z" * 5000
    with RecordingWriter(path, max_body_bytes=1000) as writer:
        writer.write(_exchange(1, payload))
        writer.write(_exchange(2, b"small", b"r" * 5000))

    _, (big_request, big_answer) = load_exchanges(path)
    assert not big_request.replayable
    assert not big_request.request.body.available
    assert big_request.request.body.digest() == hashlib.sha256(payload).hexdigest()
    assert big_request.request.body.size == 5000
    with pytest.raises(LookupError):
        big_request.request.body.read()
    # Only the request decides replayability: a large answer is still compared by its digest.
    assert big_answer.replayable and not big_answer.response.body.available
    assert not blob_dir_for(path).exists()


def test_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.jsonl"
    path.write_bytes(orjson.dumps({"format": "compat-diff/recording", "version": VERSION + 1}) + b"\n")
    with pytest.raises(RecordingError, match="newer than this compat-diff reads"):
        open_recording(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"hello\n", "line 1 is not JSON"),
        (b'{"format": "something-else", "version": 1}\n', "has no format"),
        (b'{"format": "compat-diff/recording", "version": "one"}\n', "invalid recording version"),
    ],
)
def test_what_is_not_a_recording_is_refused(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "other.jsonl"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=expected):
        open_recording(path)


def test_missing_file_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="does not exist"):
        open_recording(tmp_path / "missing.jsonl")
    with pytest.raises(RecordingError, match="is a directory"):
        open_recording(tmp_path)


def test_writer_reports_a_full_disk(tmp_path: Path) -> None:
    with pytest.raises(RecorderFailure, match="No space left"):
        RecordingWriter(Path("/dev/full"))


def test_digest_only_body_passed_in_stays_digest_only(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    gone = Body(inline=None, storage="digest", sha256="ab" * 32, size=10)
    exchange = _exchange(1)
    with RecordingWriter(path) as writer:
        writer.write(make_exchange(1, make_request(body=gone), exchange.response))
    _, (read,) = load_exchanges(path)
    assert read.request.body.sha256 == "ab" * 32 and not read.replayable


def test_header_bytes_that_are_not_utf8_survive_a_round_trip(tmp_path: Path) -> None:
    from compat_diff.model import header_bytes, header_text

    latin1 = header_text(b"Hello World\xe9")
    utf8 = header_text("Hello World\u00e9".encode())
    exchange = make_exchange(
        1,
        make_request("PUT", "http://h/b/k", [("x-amz-meta-latin", latin1), ("x-amz-meta-utf8", utf8)]),
        make_response(200, [("x-amz-meta-echo", latin1)]),
    )
    path = tmp_path / "rec.jsonl"
    writer = RecordingWriter(path)
    writer.write(exchange)
    writer.close()
    line = orjson.loads(path.read_bytes().splitlines()[1])
    # Valid UTF-8 stays readable text; other bytes are stored as base64 of exactly those bytes.
    assert line["request"]["headers"][1] == ["x-amz-meta-utf8", "Hello World\u00e9"]
    assert line["request"]["headers"][0] == ["x-amz-meta-latin", {"base64": "SGVsbG8gV29ybGTp"}]
    _, (read,) = load_exchanges(path)
    assert header_bytes(read.request.headers[0][1]) == b"Hello World\xe9"
    assert header_bytes(read.request.headers[1][1]) == "Hello World\u00e9".encode()
    assert header_bytes(read.response.headers[0][1]) == b"Hello World\xe9"


def test_version_1_empty_aws_chunked_bodies_become_replayable(tmp_path: Path) -> None:
    damaged = {"payload": "UNSIGNED-PAYLOAD", "content_encoding": "gzip, aws-chunked"}
    damaged.update(damaged="the body ends inside the chunk 1 header (truncated body)", framed_length=0)
    old = {
        "seq": 1,
        "replayable": False,
        "notes": {"aws-chunked": damaged},
        "request": {"method": "PUT", "url": "http://h/b/k", "headers": [], "body": {"text": ""}},
        "response": {"status": 200, "headers": [], "body": {"text": ""}},
    }
    streamed = {
        **old,
        "seq": 2,
        "notes": {"aws-chunked": {**damaged, "payload": "STREAMING-UNSIGNED-PAYLOAD"}},
    }
    path = tmp_path / "old.jsonl"
    path.write_bytes(
        b"\n".join(
            orjson.dumps(obj) for obj in ({"format": "compat-diff/recording", "version": 1}, old, streamed)
        )
        + b"\n"
    )
    _, (empty, truly_damaged) = load_exchanges(path)
    assert empty.replayable and empty.notes["aws-chunked"]["framed"] is False
    assert "damaged" not in empty.notes["aws-chunked"]
    # A streamed upload with no bytes at all is damaged indeed (framing ends with "0\r\n\r\n").
    assert not truly_damaged.replayable and "damaged" in truly_damaged.notes["aws-chunked"]
