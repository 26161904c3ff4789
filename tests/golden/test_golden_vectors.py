"""Each golden vector, recomputed stage by stage: raw exchange -> parsed -> normalized -> divergences.

The vectors hold a real moto answer as the reference and a fresh moto's answer as the candidate,
one or more per protocol (query, ec2, json incl. SQS's query-compatible errors, rest-json,
rest-xml). A failure names the first stage that changed; regenerate deliberately with
``python tests/golden/goldenlib.py --refresh`` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from goldenlib import HERE, stages_of

VECTORS = sorted(p for p in HERE.iterdir() if (p / "input.json").exists())
PROTOCOLS = {"query", "ec2", "json", "rest-json", "rest-xml"}


def test_every_protocol_has_vectors() -> None:
    seen = {json.loads((p / "input.json").read_text())["reference"]["protocol"] for p in VECTORS}
    assert seen >= PROTOCOLS


@pytest.mark.parametrize("folder", VECTORS, ids=lambda p: p.name)
def test_vector_stages(folder: Path) -> None:
    computed = stages_of(folder)
    for stage in ("parsed", "normalized", "divergences"):
        expected = json.loads((folder / f"{stage}.json").read_text())
        # Through JSON so tuples and lists compare alike, exactly as stored.
        actual = json.loads(json.dumps(computed[stage], sort_keys=True))
        assert actual == expected, f"stage {stage} of {folder.name} changed"


@pytest.mark.parametrize("folder", VECTORS, ids=lambda p: p.name)
def test_moto_noise_is_normalized_away(folder: Path) -> None:
    """Two fresh moto servers running the same calls: the default packs leave nothing major."""
    divergences = json.loads((folder / "divergences.json").read_text())
    assert divergences["verdict"] == "match", divergences["divergences"]


def test_query_compatible_error_keeps_the_query_code() -> None:
    parsed = json.loads((HERE / "json-sqs-GetQueueUrl-query-compatible-error" / "parsed.json").read_text())
    error = parsed["reference"]["Error"]
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["QueryErrorCode"] == "QueueDoesNotExist"
    assert error["Type"] == "Sender"


def test_streaming_body_is_compared_by_digest() -> None:
    parsed = json.loads((HERE / "rest-xml-s3-GetObject" / "parsed.json").read_text())
    body = parsed["reference"]["Body"]
    assert body["length"] == len(b"hello world")
    assert len(body["sha256"]) == 64
    assert parsed["reference"]["ResponseMetadata"]["Integrity"] == {"etag": "ok"}


def test_timestamps_keep_their_wire_format() -> None:
    parsed = json.loads((HERE / "rest-xml-s3-GetObject" / "parsed.json").read_text())
    normalized = json.loads((HERE / "rest-xml-s3-GetObject" / "normalized.json").read_text())
    assert "GMT" in parsed["reference"]["LastModified"]["$timestamp"]
    assert normalized["reference"]["LastModified"] == "<timestamp:rfc1123 Www, DD Mmm YYYY hh:mm:ss GMT>"
