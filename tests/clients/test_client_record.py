"""Each real S3 client, run under `compat-diff record` against moto: every request it made is in
the recording, identified as S3 with its operation, signed the client's way, and no secret is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clients.conftest import ACCESS_KEY, SECRET_KEY, Moto, Recording, record_client


@dataclass(frozen=True)
class Case:
    client: str
    bucket: str
    operations: frozenset[str]
    schemes: frozenset[str] = frozenset({"sigv4"})
    driver_args: tuple[str, ...] = ()


MULTIPART = frozenset({"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"})
# s3cmd makes the same calls whichever signature version it uses.
S3CMD_OPERATIONS = MULTIPART | {
    "CreateBucket",
    "PutObject",
    "ListObjects",
    "HeadObject",
    "GetObject",
    "DeleteObject",
    "DeleteBucket",
}

CASES = [
    Case(
        "awscli",
        "cdtest-awscli",
        MULTIPART
        | {
            "CreateBucket",
            "ListObjectsV2",
            "PutObject",
            "HeadObject",
            "GetObject",
            "DeleteObject",
            "DeleteBucket",
        },
    ),
    Case(
        "pyarrow",
        "cdtest-pyarrow",
        MULTIPART
        | {
            "HeadBucket",
            "CreateBucket",
            "HeadObject",
            "GetObject",
            "ListObjectsV2",
            "DeleteObject",
            "DeleteBucket",
        },
    ),
    Case(
        "obstore",
        "cdtest-obstore",
        MULTIPART
        | {
            "CreateBucket",
            "PutObject",
            "GetObject",
            "HeadObject",
            "CopyObject",
            "ListObjectsV2",
            "DeleteObjects",
            "DeleteBucket",
        },
    ),
    Case(
        "s5cmd",
        "cdtest-s5cmd",
        MULTIPART
        | {
            "CreateBucket",
            "PutObject",
            "ListObjectsV2",
            "HeadObject",
            "GetObject",
            "DeleteObjects",
            "DeleteBucket",
        },
    ),
    Case(
        "rclone",
        "cdtest-rclone",
        MULTIPART
        | {
            "CreateBucket",
            "PutObject",
            "HeadObject",
            "ListObjects",
            "GetObject",
            "DeleteObject",
            "DeleteBucket",
        },
    ),
    Case(
        "minio",
        "cdtest-minio",
        MULTIPART
        | {
            "CreateBucket",
            "PutObject",
            "HeadObject",
            "GetObject",
            "CopyObject",
            "ListObjectsV2",
            "DeleteObjects",
            "DeleteBucket",
        },
    ),
    Case(
        "s3cmd",
        "cdtest-s3cmd",
        S3CMD_OPERATIONS,
        frozenset({"sigv2"}),
        ("--signature", "v2"),
    ),
    Case(
        "s3cmd",
        "cdtest-s3cmd",
        S3CMD_OPERATIONS,
        frozenset({"sigv4"}),
        ("--signature", "v4"),
    ),
    Case(
        "s3fs",
        "cdtest-s3fs",
        MULTIPART
        | {
            "HeadBucket",
            "CreateBucket",
            "PutObject",
            "HeadObject",
            "GetObject",
            "ListObjectsV2",
            "DeleteObjects",
            "DeleteBucket",
        },
    ),
    Case(
        "presigned",
        "cdtest-presigned",
        frozenset({"CreateBucket", "PutObject", "GetObject", "HeadObject", "DeleteObject", "DeleteBucket"}),
        frozenset({"sigv4", "sigv2-query", "sigv4-query"}),
    ),
    Case(
        "chunked",
        "cdtest-chunked",
        frozenset({"CreateBucket", "PutObject", "GetObject", "DeleteObject", "DeleteBucket"}),
    ),
]


def case_id(case: Case) -> str:
    return "-".join([case.client, *case.driver_args[1:]])


# Signature material in any form a client sends it: SigV4 header and query, SigV2 header and query,
# and aws-chunked chunk signatures (the recording keeps streamed bodies decoded).
SIGNATURE_PATTERNS = [
    re.compile(rb"Signature=[0-9a-f]{64}"),
    re.compile(rb"X-Amz-Signature=[0-9a-fA-F]{16,}"),
    re.compile(rb"[?&]Signature=[A-Za-z0-9%+/]{20,}"),
    re.compile(rb"AWS " + ACCESS_KEY.encode() + rb":[A-Za-z0-9+/]{20,}"),
    re.compile(rb"chunk-signature=[0-9a-f]{64}"),
]


def assert_no_secrets(recording: Recording) -> None:
    stored = recording.stored_bytes()
    assert SECRET_KEY.encode() not in stored, "the secret key reached the recording"
    for pattern in SIGNATURE_PATTERNS:
        found = pattern.search(stored)
        assert found is None, f"a signature reached the recording: {found.group(0)[:80]!r}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_client_is_recorded_completely(case: Case, moto: Moto, confdir: Path, tmp_path: Path) -> None:
    recording = record_client(
        tmp_path / "rec.jsonl", confdir, case.client, moto.endpoint, case.bucket, *case.driver_args
    )
    assert recording.returncode == 0, recording.stderr[-3000:]

    # Every request the client made reached moto through the proxy and is in the recording, once.
    seen_by_moto = moto.requests()
    assert len(recording.exchanges) == len(seen_by_moto) > 0
    if recording.expected_requests is not None:
        assert len(recording.exchanges) == recording.expected_requests
    assert [e["request"]["method"] for e in recording.exchanges] == [method for method, _ in seen_by_moto]

    assert {e["service"] for e in recording.exchanges} == {"s3"}
    assert all(e["operation"] for e in recording.exchanges), [
        (e["seq"], e["request"]["method"], e["request"]["url"])
        for e in recording.exchanges
        if not e["operation"]
    ]
    missing = case.operations - recording.operations()
    assert not missing, f"operations not identified: {sorted(missing)}; got {sorted(recording.operations())}"
    assert {e["auth"]["scheme"] for e in recording.exchanges} == set(case.schemes)
    assert {e["auth"].get("access_key") for e in recording.exchanges} <= {ACCESS_KEY, "**REDACTED**", None}
    # The recorded answers are what moto said: the driver checked them, so they are successes
    # (or the deliberate 304/404/412 probes of obstore, pyarrow, rclone and s3fs).
    assert all(e["response"]["status"] in (200, 204, 206, 304, 404, 412) for e in recording.exchanges)
    assert_no_secrets(recording)


@pytest.mark.parametrize("case", [c for c in CASES if c.driver_args != ("--signature", "v2")], ids=case_id)
def test_client_is_recorded_over_https(case: Case, moto_https: Moto, confdir: Path, tmp_path: Path) -> None:
    """Through CONNECT with the recorder's CA: each client trusts it its own way (AWS_CA_BUNDLE,
    pyarrow's tls_ca_file_path, obstore's root_certificate, s3cmd's ca_certs_file, SSL_CERT_FILE for Go)."""
    recording = record_client(
        tmp_path / "rec.jsonl",
        confdir,
        case.client,
        moto_https.endpoint,
        case.bucket,
        *case.driver_args,
        record_args=("--ssl-insecure",),
    )
    assert recording.returncode == 0, recording.stderr[-3000:]
    assert len(recording.exchanges) == len(moto_https.requests()) > 0
    if recording.expected_requests is not None:
        assert len(recording.exchanges) == recording.expected_requests
    assert all(e["request"]["url"].startswith("https://") for e in recording.exchanges)
    assert case.operations <= recording.operations()
    assert_no_secrets(recording)


def test_obstore_conditional_requests_are_kept(moto: Moto, confdir: Path, tmp_path: Path) -> None:
    recording = record_client(tmp_path / "rec.jsonl", confdir, "obstore", moto.endpoint, "cdtest-obstore")
    assert recording.returncode == 0, recording.stderr[-3000:]
    puts = [e for e in recording.exchanges if e["operation"] == "PutObject"]
    assert [(recording.header_of(e, "if-none-match"), e["response"]["status"]) for e in puts[:2]] == [
        ("*", 200),
        ("*", 412),
    ]
    assert [e["response"]["status"] for e in puts[2:4]] == [200, 412]
    assert all(recording.header_of(e, "if-match") for e in puts[2:4])
    gets = [e for e in recording.exchanges if e["operation"] == "GetObject"]
    assert 304 in {e["response"]["status"] for e in gets}
    assert any(recording.header_of(e, "range") for e in gets)


def test_virtual_host_addressing_is_recorded_as_sent(moto: Moto, confdir: Path, tmp_path: Path) -> None:
    recording = record_client(
        tmp_path / "rec.jsonl", confdir, "minio", moto.endpoint, "cdtest-virtual", "--addressing", "virtual"
    )
    assert recording.returncode == 0, recording.stderr[-3000:]
    assert len(recording.exchanges) == recording.expected_requests == len(moto.requests())
    virtual = f"cdtest-virtual.s3.compat-diff.test:{moto.port}"
    # minio-py creates and removes the bucket itself path-style; everything inside it goes virtual.
    inside = [e for e in recording.exchanges if e["operation"] not in ("CreateBucket", "DeleteBucket")]
    assert {recording.header_of(e, "host") for e in inside} == {virtual}
    assert all(e["request"]["url"].startswith(f"http://{virtual}/") for e in inside)
    assert recording.operations() >= MULTIPART


def test_large_uploads_are_kept_as_blobs(moto: Moto, confdir: Path, tmp_path: Path) -> None:
    recording = record_client(tmp_path / "rec.jsonl", confdir, "awscli", moto.endpoint, "cdtest-awscli")
    assert recording.returncode == 0, recording.stderr[-3000:]
    parts = [e for e in recording.exchanges if e["operation"] == "UploadPart"]
    assert [p["request"]["body"].get("size") for p in parts] == [8 * 1024 * 1024, 1024 * 1024]
    for part in parts:
        blob = Path(f"{recording.path}.blobs") / part["request"]["body"]["blob"]
        assert blob.stat().st_size == part["request"]["body"]["size"]
        assert part.get("replayable", True) is True


def test_aws_sdk_cpp_streams_with_a_checksum_trailer(moto: Moto, confdir: Path, tmp_path: Path) -> None:
    """pyarrow's C++ SDK sends parts aws-chunked with an unsigned payload and a CRC trailer, over
    Transfer-Encoding: chunked; the recording keeps the decoded bytes and notes the framing."""
    recording = record_client(tmp_path / "rec.jsonl", confdir, "pyarrow", moto.endpoint, "cdtest-pyarrow")
    assert recording.returncode == 0, recording.stderr[-3000:]
    streamed = [e for e in recording.exchanges if "aws-chunked" in e.get("notes", {})]
    assert streamed, "pyarrow sent no aws-chunked request"
    for exchange in streamed:
        note = exchange["notes"]["aws-chunked"]
        assert note["payload"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        assert any(name.startswith("x-amz-checksum-") for name in note["trailer"])
        assert "damaged" not in note
        assert exchange["request"]["body"].get("size", note["decoded_length"]) == note["decoded_length"]
    sizes = sorted(e["notes"]["aws-chunked"]["decoded_length"] for e in streamed)
    assert sizes == [3000, 2 * 1024 * 1024, 10 * 1024 * 1024]


def test_signed_chunks_are_stored_decoded(moto: Moto, confdir: Path, tmp_path: Path) -> None:
    recording = record_client(tmp_path / "rec.jsonl", confdir, "chunked", moto.endpoint, "cdtest-chunked")
    assert recording.returncode == 0, recording.stderr[-3000:]
    (put,) = [e for e in recording.exchanges if e["operation"] == "PutObject"]
    note = put["notes"]["aws-chunked"]
    assert note["payload"] == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    assert note["chunks"] == 5 and note["decoded_length"] == 200 * 1024 + 123
    assert "damaged" not in note and put.get("replayable", True) is True
    assert_no_secrets(recording)
