"""Zero self-noise: calls recorded against one moto server and replayed against a fresh one (both the
same build) must not diverge; each case here was a false alarm on a third-party S3 suite."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from compat_diff.testing import client_environment, run_cli


def compare_against(recording: Path, endpoint: str, out: Path, *extra: str) -> dict[str, Any]:
    """``compat-diff compare`` the recording against one target; the report as a dict."""
    result = run_cli(
        "compare",
        str(recording),
        "--target",
        f"fresh={endpoint}",
        "--report-dir",
        str(out),
        *extra,
        env=client_environment("AKIAREPLAYTARGET0001", "replay-target-secret"),
        timeout=180,
    )
    report = out / "report.json"
    assert report.exists(), result.stderr
    return json.loads(report.read_text())


def divergences(report: dict[str, Any]) -> list[tuple[str, str, str, Any, Any]]:
    return [
        (op["operation"], d["kind"], d["path"], d["reference"], d["candidate"])
        for target in report["targets"]
        for op in target["operations"]
        for d in op["divergences"]
    ]


def record_and_compare(
    tmp_path: Path, moto_factory: Callable[..., Any], boto_recorder: Callable[..., Any], scenario: Callable
) -> dict[str, Any]:
    reference = moto_factory()
    recorder = boto_recorder()
    scenario(recorder, reference.url)
    recorder.close()
    candidate = moto_factory()
    return compare_against(recorder.writer.path, candidate.url, tmp_path / "report")


def test_copy_source_version_id_is_paired_like_every_version_id(tmp_path, moto_factory, boto_recorder):
    def scenario(recorder: Any, url: str) -> None:
        s3 = recorder.client("s3", url)
        s3.create_bucket(Bucket="versions")
        s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Enabled"})
        first = s3.put_object(Bucket="versions", Key="doc", Body=b"one")["VersionId"]
        s3.put_object(Bucket="versions", Key="doc", Body=b"two")
        copied = s3.copy_object(
            Bucket="versions", Key="copy", CopySource={"Bucket": "versions", "Key": "doc", "VersionId": first}
        )
        assert copied["CopySourceVersionId"] == first

    report = record_and_compare(tmp_path, moto_factory, boto_recorder, scenario)
    assert divergences(report) == []
    assert report["targets"][0]["matching"] == report["recording"]["exchanges"]


def test_an_empty_body_announced_as_aws_chunked_is_replayed(tmp_path, moto_factory, boto_recorder):
    def scenario(recorder: Any, url: str) -> None:
        s3 = recorder.client("s3", url)
        s3.create_bucket(Bucket="encodings")
        for encoding in ("gzip, aws-chunked", "aws-chunked"):
            s3.put_object(Bucket="encodings", Key=encoding, Body=b"", ContentEncoding=encoding)
            s3.head_object(Bucket="encodings", Key=encoding)

    report = record_and_compare(tmp_path, moto_factory, boto_recorder, scenario)
    recorded = [json.loads(line) for line in (tmp_path / "rec.jsonl").read_text().splitlines()[1:]]
    puts = [e for e in recorded if e["operation"] == "PutObject"]
    assert len(puts) == 2 and all(e.get("replayable", True) for e in puts), puts
    assert all("damaged" not in e.get("notes", {}).get("aws-chunked", {}) for e in puts)
    target = report["targets"][0]
    assert target["verdicts"].get("not-replayable", 0) == 0
    assert divergences(report) == []
    assert target["matching"] == report["recording"]["exchanges"] == 5


SSE_KEY = base64.b64encode(bytes(range(32))).decode()


def _sse_c_scenario(recorder: Any, url: str) -> None:
    s3 = recorder.client("s3", url)
    s3.create_bucket(Bucket="secret")
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": bytes(range(32))}
    s3.put_object(Bucket="secret", Key="doc", Body=b"private", **sse)
    assert s3.get_object(Bucket="secret", Key="doc", **sse)["Body"].read() == b"private"
    s3.head_object(Bucket="secret", Key="doc", **sse)


def _compare_with_targets(recording: Path, targets: str, out: Path) -> dict[str, Any]:
    (out.parent / "targets.toml").write_text(targets)
    env = client_environment("AKIAREPLAYTARGET0001", "replay-target-secret", MY_SSE_KEY=SSE_KEY)
    result = run_cli(
        "compare",
        str(recording),
        "--targets",
        str(out.parent / "targets.toml"),
        "--report-dir",
        str(out),
        env=env,
        timeout=180,
    )
    assert (out / "report.json").exists(), result.stderr
    return json.loads((out / "report.json").read_text())


def test_sse_c_keys_are_resupplied_from_the_targets_file(tmp_path, moto_factory, boto_recorder):
    reference = moto_factory()
    recorder = boto_recorder()
    _sse_c_scenario(recorder, reference.url)
    recorder.close()
    assert SSE_KEY.encode() not in recorder.writer.path.read_bytes()
    candidate = moto_factory()
    targets = f"""
[target.fresh]
endpoint = "{candidate.url}"
region = "us-east-1"
access_key = "AKIAREPLAYTARGET0001"
secret_key = "replay-target-secret"
sse_customer_key_env = "MY_SSE_KEY"
"""
    report = _compare_with_targets(recorder.writer.path, targets, tmp_path / "report")
    assert divergences(report) == []
    target = report["targets"][0]
    assert target["matching"] == target["exchanges"] == 4
    sent = [
        json.loads(line)["request"]
        for line in (tmp_path / "report").parent.glob("**/answers.jsonl").__next__().read_text().splitlines()
    ]
    # The key went to the candidate but, like every secret, not into the run directory.
    assert all(SSE_KEY not in json.dumps(request) for request in sent)


def test_without_the_key_an_sse_c_call_is_not_replayable_never_a_divergence(
    tmp_path, moto_factory, boto_recorder
):
    reference = moto_factory()
    recorder = boto_recorder()
    _sse_c_scenario(recorder, reference.url)
    recorder.close()
    candidate = moto_factory()
    report = compare_against(recorder.writer.path, candidate.url, tmp_path / "report")
    assert divergences(report) == []
    target = report["targets"][0]
    assert target["matching"] == 1  # CreateBucket
    assert target["compared"] == 1
    notes = [
        note for op in target["operations"] for note in op.get("notes", []) if "SSE-C customer key" in note
    ]
    assert notes, target["operations"]


LATIN1_METADATA = """
import http.client, os, sys, boto3
from urllib.parse import urlsplit
endpoint = os.environ["AWS_ENDPOINT_URL"]
s3 = boto3.client("s3")
s3.create_bucket(Bucket="bytes")
# A test suite's raw call (botocore itself would send UTF-8): the byte 0xE9, through the proxy.
proxy = urlsplit(os.environ["HTTP_PROXY"])
connection = http.client.HTTPConnection(proxy.hostname, proxy.port)
connection.putrequest("PUT", endpoint + "/bytes/k", skip_accept_encoding=True)
connection.putheader("x-amz-meta-latin", b"Hello World\\xe9")
connection.putheader("Content-Length", "1")
connection.endheaders(b"x")
assert connection.getresponse().status == 200
print(s3.head_object(Bucket="bytes", Key="k")["Metadata"])
"""


def test_header_bytes_that_are_not_utf8_are_recorded_and_replayed_exactly(tmp_path, moto_factory):
    reference = moto_factory()
    script = tmp_path / "latin1.py"
    script.write_text(LATIN1_METADATA)
    recording = tmp_path / "latin1.jsonl"
    env = client_environment("AKIARECORDINGOWNER01", "recording-secret", AWS_ENDPOINT_URL=reference.url)
    recorded = run_cli(
        "record", "--out", str(recording), "--", sys.executable, str(script), env=env, timeout=120
    )
    assert recorded.returncode == 0, recorded.stderr
    put = next(json.loads(line) for line in recording.read_text().splitlines()[1:] if '"PutObject"' in line)
    meta = next(value for name, value in put["request"]["headers"] if name.lower() == "x-amz-meta-latin")
    assert base64.b64decode(meta["base64"]) == b"Hello World\xe9"

    candidate = moto_factory()
    # Kept after the run, so the stored object can be read back below.
    report = compare_against(recording, candidate.url, tmp_path / "report", "--keep-resources")
    assert divergences(report) == []
    assert report["targets"][0]["matching"] == report["recording"]["exchanges"] == 3
    # The candidate stored the very bytes the client sent: a client reads them back alike (the
    # bucket carries the run's id, as every name the recording created does).
    s3 = boto3.client(
        "s3",
        endpoint_url=candidate.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("bytes")]
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"latin": "Hello World\xe9"}
