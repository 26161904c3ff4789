"""Cascades: a DeleteBucket the candidate allows where the reference refused explains the later
divergences on that bucket. Both sides are real moto servers; the candidate's side deletes the
bucket's object first (outside the recording), so its DeleteBucket succeeds where the
reference's is refused with BucketNotEmpty."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import goldenlib
from click.testing import CliRunner
from rundir import answer_line, policy_for, write_recording, write_run

from compat_diff.cli import main
from compat_diff.model import Exchange

BUCKET = "cascade-bucket"


def _scenario(url: str, empty_first: bool) -> list[Exchange]:
    capture = goldenlib.Capture()
    client = goldenlib._clients(url, capture)
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="kept.txt", Body=b"kept")
    if empty_first:
        # The candidate's state drifts here: an uncaptured call empties the bucket.
        quiet = goldenlib._clients(url, goldenlib.Capture())("s3")
        quiet.delete_object(Bucket=BUCKET, Key="kept.txt")
    calls: list[Any] = [
        lambda: s3.delete_bucket(Bucket=BUCKET),
        lambda: s3.get_object(Bucket=BUCKET, Key="kept.txt"),
        lambda: s3.list_objects_v2(Bucket=BUCKET),
        lambda: s3.list_buckets(),
    ]
    for call in calls:
        with contextlib.suppress(Exception):
            call()
    return capture.exchanges


def test_a_delete_bucket_the_candidate_allows_explains_what_follows(tmp_path: Path) -> None:
    with goldenlib.moto_server() as url:
        reference = _scenario(url, empty_first=False)
    with goldenlib.moto_server() as url:
        candidate = _scenario(url, empty_first=True)
    assert [e.operation for e in reference] == [e.operation for e in candidate]
    delete = next(e for e in reference if e.operation == "DeleteBucket")
    assert delete.response.status == 409  # the reference refused: BucketNotEmpty
    recording = write_recording(tmp_path / "rec.jsonl", reference)
    policy = policy_for(tmp_path / "run" / "targets" / "drifty")
    lines = [answer_line(e, c.response, policy) for e, c in zip(reference, candidate, strict=True)]
    run_dir = write_run(tmp_path / "run", recording, {"drifty": lines})
    outcome = CliRunner().invoke(main, ["diff", str(run_dir), "--report-dir", str(tmp_path / "report")])
    assert outcome.exit_code == 1, outcome.output
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    ops = {op["operation"]: op for op in doc["targets"][0]["operations"]}
    # The cause: one root finding, the candidate succeeding where the reference refused.
    root = ops["DeleteBucket"]["divergences"]
    assert len(root) == 1 and root[0]["kind"] == "status" and root[0]["caused_by"] is None
    assert root[0]["reference"]["code"] == "BucketNotEmpty"
    assert "the candidate succeeded" in root[0]["message"]
    # Its consequences point at it.
    for name in ("GetObject", "ListObjectsV2"):
        divergences = ops[name]["divergences"]
        assert divergences, name
        assert all(d["caused_by"] == delete.seq for d in divergences), (name, divergences)
        assert ops[name]["findings"][0]["caused_by"] == delete.seq
    # Calls on other things are not blamed on it.
    assert all(d["caused_by"] is None for d in ops["ListBuckets"]["divergences"])
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "DeleteBucket" in summary
