"""Time-shifted replay: a recording whose requests carry absolute times computed from "now" (an
object lock until "now + 10 s", an If-Modified-Since of "now") replays an hour later against a
fresh moto without a single divergence, and diverges exactly there with --no-timeshift.

The recording's age is faked: after recording, every time in it (each exchange's ``started``,
the lock and conditional headers, the retention date in the XML body, with its checksum header
recomputed) is moved one hour back, as if the session had been recorded an hour ago.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import time
from pathlib import Path

import orjson
from rich.console import Console

from compat_diff.compare.run import run_diff
from compat_diff.replay.retarget import checksum_header
from compat_diff.replay.run import run_replay
from compat_diff.replay.timeshift import shift_exchange, shift_text
from compat_diff.testing import make_exchange, make_request

AGE = dt.timedelta(hours=1)


def _record(moto_factory, boto_recorder) -> Path:
    reference = moto_factory()
    recorder = boto_recorder()
    s3 = recorder.client("s3", reference.url)
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    now = dt.datetime.now(dt.UTC)
    # A lock in a header (PutObject) and one in an XML body (PutObjectRetention).
    first = s3.put_object(
        Bucket="locked",
        Key="held",
        Body=b"kept",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=now + dt.timedelta(seconds=10),
    )["VersionId"]
    second = s3.put_object(Bucket="locked", Key="retained", Body=b"kept too")["VersionId"]
    s3.put_object_retention(
        Bucket="locked",
        Key="retained",
        VersionId=second,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": now + dt.timedelta(seconds=10)},
    )
    time.sleep(1.1)  # so "now" is past the object's Last-Modified second
    try:
        s3.get_object(Bucket="locked", Key="held", IfModifiedSince=dt.datetime.now(dt.UTC))
    except s3.exceptions.ClientError as error:
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    for key, version in (("held", first), ("retained", second)):
        try:
            s3.delete_object(Bucket="locked", Key=key, VersionId=version)
        except s3.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDenied"
        else:
            raise AssertionError("the lock did not hold while recording")
    recorder.close()
    return recorder.writer.path


def _age(recording: Path, age: dt.timedelta) -> None:
    """Rewrite the recording as if it had been made ``age`` earlier (independent of the code tested)."""
    lines = recording.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        exchange = json.loads(line)
        started = dt.datetime.fromisoformat(exchange["started"].replace("Z", "+00:00"))
        exchange["started"] = (started - age).isoformat()
        request = exchange["request"]
        headers = []
        for name, value in request["headers"]:
            if name.lower() in ("if-modified-since",):
                value = email.utils.format_datetime(
                    email.utils.parsedate_to_datetime(value) - age, usegmt=True
                )
            elif name.lower() == "x-amz-object-lock-retain-until-date":
                value = (dt.datetime.fromisoformat(value.replace("Z", "+00:00")) - age).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
            headers.append([name, value])
        body = request.get("body") or {}
        text = body.get("text")
        if text and "<RetainUntilDate>" in text:

            def older(match: re.Match[str]) -> str:
                when = dt.datetime.fromisoformat(match.group(1).replace("Z", "+00:00")) - age
                return f"<RetainUntilDate>{when.strftime('%Y-%m-%dT%H:%M:%SZ')}</RetainUntilDate>"

            text = re.sub(r"<RetainUntilDate>([^<]+)</RetainUntilDate>", older, text)
            body["text"] = text
            headers = [[name, checksum_header(name, text.encode()) or value] for name, value in headers]
        request["headers"] = headers
        out.append(json.dumps(exchange))
    recording.write_text("\n".join(out) + "\n")


def _compare(recording: Path, endpoint: str, out: Path, timeshift: bool) -> dict:
    status = run_replay(
        recording,
        [f"fresh={endpoint}"],
        None,
        False,
        out / "run",
        console=Console(stderr=True),
        timeshift=timeshift,
        keep_resources=True,  # locked objects cannot be deleted before their time
    )
    assert status == 0
    run_diff(out / "run", out / "report", [], True, None, Console(stderr=True))
    return orjson.loads((out / "report" / "report.json").read_bytes())


def _diverging(report: dict) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for target in report["targets"]:
        for operation in target["operations"]:
            seqs = sorted({d["seq"] for d in operation["divergences"] if d["severity"] != "minor"})
            if seqs:
                found[operation["operation"]] = seqs
    return found


def test_times_computed_from_now_are_shifted_and_nothing_diverges(tmp_path, moto_factory, boto_recorder):
    recording = _record(moto_factory, boto_recorder)
    _age(recording, AGE)

    shifted = _compare(recording, moto_factory().url, tmp_path / "shifted", timeshift=True)
    assert _diverging(shifted) == {}
    run = tmp_path / "shifted" / "run"
    assert json.loads((run / "run.json").read_text())["options"]["time_shift_s"] >= AGE.total_seconds()
    sent = [
        json.loads(line) for line in (run / "targets" / "fresh" / "answers.jsonl").read_text().splitlines()
    ]
    conditional = next(
        a for a in sent if any(n.lower() == "if-modified-since" for n, _ in a["request"]["headers"])
    )
    value = next(v for n, v in conditional["request"]["headers"] if n.lower() == "if-modified-since")
    assert abs(email.utils.parsedate_to_datetime(value) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)

    # The control: the same aged recording sent as recorded diverges where the times were.
    as_recorded = _compare(recording, moto_factory().url, tmp_path / "as-recorded", timeshift=False)
    diverging = _diverging(as_recorded)
    assert "GetObject" in diverging  # 304 recorded, 200 now: modified since an hour ago
    assert "DeleteObject" in diverging  # the locks expired an hour ago: deleted instead of denied


def test_a_time_keeps_its_format_when_shifted():
    hour = dt.timedelta(hours=1)
    assert shift_text("2026-12-06T22:58:46Z", hour) == "2026-12-06T23:58:46Z"
    assert shift_text("2026-12-06T23:58:46.123Z", hour) == "2026-12-07T00:58:46.123Z"
    assert shift_text("2026-12-06T22:58:46.123456+00:00", hour) == "2026-12-06T23:58:46.123456+00:00"
    assert shift_text("Sun, 06 Dec 2026 22:58:46 GMT", hour) == "Sun, 06 Dec 2026 23:58:46 GMT"
    assert shift_text("Sun, 06 Dec 2026 23:58:46 GMT", hour) == "Mon, 07 Dec 2026 00:58:46 GMT"
    assert shift_text("1796597926", hour) == "1796601526"
    assert shift_text("1796597926.250", hour) == "1796601526.250"
    assert shift_text("not a time", hour) is None
    assert shift_text("12345", hour) is None


def test_timestamp_members_are_shifted_in_form_json_and_xml_bodies_and_nothing_else():
    hour = dt.timedelta(hours=1)
    form = shift_exchange(
        make_exchange(
            request=make_request(
                "POST",
                body="Action=GetMetricStatistics&Namespace=App&MetricName=Latency"
                "&StartTime=2026-12-06T22%3A00%3A00Z&EndTime=2026-12-06T23%3A00%3A00Z&Period=60",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            service="cloudwatch",
            operation="GetMetricStatistics",
        ),
        hour,
    )
    assert form.request.body.read().decode() == (
        "Action=GetMetricStatistics&Namespace=App&MetricName=Latency"
        "&StartTime=2026-12-06T23%3A00%3A00Z&EndTime=2026-12-07T00%3A00%3A00Z&Period=60"
    )
    as_json = shift_exchange(
        make_exchange(
            request=make_request(
                "POST",
                body='{"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "AT_TIMESTAMP", '
                '"Timestamp": 1796597926.5}',
            ),
            service="kinesis",
            operation="GetShardIterator",
        ),
        hour,
    )
    assert json.loads(as_json.request.body.read())["Timestamp"] == 1796601526.5
    # An object's content is never touched, even when it looks like a time.
    content = make_exchange(
        request=make_request("PUT", "http://h/b/k", body="2026-12-06T22:00:00Z"),
        service="s3",
        operation="PutObject",
    )
    assert shift_exchange(content, hour) is content
