"""details.jsonl stays small: a body that repeats the reference's is named, not copied; a long body
keeps a bounded excerpt and its digest; a normalized tree equal to the reference's is not repeated."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
from rundir import answer_line, policy_for, write_recording, write_run

from compat_diff.compare.run import DETAIL_BODY_LIMIT, diff_run
from compat_diff.testing import make_exchange, make_request, make_response

XML = "application/xml"


def listing(count: int, extra: str = "") -> bytes:
    keys = "".join(f"<Contents><Key>k{n:05d}</Key><Size>1</Size></Contents>" for n in range(count))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Name>b</Name><Prefix></Prefix><KeyCount>{count}</KeyCount><MaxKeys>1000</MaxKeys>"
        f"<IsTruncated>false</IsTruncated>{keys}{extra}</ListBucketResult>"
    ).encode()


def exchange(seq: int, body: bytes):
    return make_exchange(
        seq,
        make_request("GET", "http://127.0.0.1:5000/b?list-type=2", headers=(("host", "127.0.0.1:5000"),)),
        make_response(200, (("content-type", XML),), body),
        service="s3",
        operation="ListObjectsV2",
        protocol="rest-xml",
    )


def test_details_name_repeated_bodies_and_cut_long_ones(tmp_path: Path) -> None:
    same = listing(50)
    long_reference = listing(800)
    long_candidate = listing(800, "<StartAfter>x</StartAfter>")
    assert len(long_candidate) > DETAIL_BODY_LIMIT
    exchanges = [exchange(1, same), exchange(2, long_reference)]
    recording = write_recording(tmp_path / "rec.jsonl", exchanges)
    policy = policy_for(tmp_path / "run" / "targets" / "cand")
    lines = [
        answer_line(exchanges[0], make_response(200, (("content-type", XML),), same), policy),
        answer_line(exchanges[1], make_response(200, (("content-type", XML),), long_candidate), policy),
    ]
    run_dir = write_run(tmp_path / "run", recording, {"cand": lines})
    diff_run(run_dir, tmp_path / "report", [], True)
    details = {
        record["seq"]: record
        for record in map(orjson.loads, (tmp_path / "report" / "details.jsonl").read_bytes().splitlines())
    }

    matching = details[1]["candidate"]
    assert matching["response"]["body_same_as_reference"] is True
    assert matching["response"]["body"] == (
        f"<the reference's {len(same)} bytes, sha256 {hashlib.sha256(same).hexdigest()}>"
    )
    assert matching["normalized_same_as_reference"] is True
    assert "normalized" not in matching or matching["normalized"] is None
    assert details[1]["reference"]["normalized"]["Contents"][0]["Key"] == "k00000"

    diverging = details[2]["candidate"]
    assert "body_same_as_reference" not in diverging["response"]
    text = diverging["response"]["body"]
    digest = hashlib.sha256(long_candidate).hexdigest()
    assert text.endswith(f"... ({len(long_candidate)} bytes, sha256 {digest})")
    assert len(text) < DETAIL_BODY_LIMIT + 200
    assert diverging["normalized"]["StartAfter"] == "x"


def test_details_and_the_table_say_how_each_call_was_signed(tmp_path: Path) -> None:
    from compat_diff.report.html import ExchangeIndex, auth_label

    signed = make_request(
        "GET",
        "http://127.0.0.1:5000/b?list-type=2",
        headers=(
            ("host", "127.0.0.1:5000"),
            ("authorization", "AWS AKIAEXAMPLE:c2lnbmF0dXJl"),
        ),
    )
    recorded = make_exchange(
        1, signed, make_response(200, (("content-type", XML),), listing(1)), service="s3",
        operation="ListObjectsV2", protocol="rest-xml",
    )
    recording = write_recording(tmp_path / "rec.jsonl", [recorded])
    policy = policy_for(tmp_path / "run" / "targets" / "cand")
    line = answer_line(recorded, make_response(200, (("content-type", XML),), listing(1)), policy)
    line["request"]["headers"] = [
        ["host", "127.0.0.1:9000"],
        ["authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, "
         "SignedHeaders=host, Signature=**REDACTED**"],
    ]
    run_dir = write_run(tmp_path / "run", recording, {"cand": [line]})
    diff_run(run_dir, tmp_path / "report", [], True)
    record = orjson.loads((tmp_path / "report" / "details.jsonl").read_bytes().splitlines()[0])
    assert record["auth"] == {"reference": "sigv2", "candidate": "sigv4"}
    index = ExchangeIndex()
    index.add(0, record)
    assert index.strings[index.columns["auth"][0]] == "sigv2 → sigv4"
    assert auth_label({"reference": "sigv4", "candidate": "sigv4"}) == "sigv4"
    assert auth_label(None) is None
