"""The real AWS CLI recorded through `compat-diff record -- aws ...` against moto."""

from __future__ import annotations

import sys
from pathlib import Path

from compat_diff.recording import load_exchanges
from tests.capture.conftest import record

AWS = str(Path(sys.executable).with_name("aws"))


def _aws(tmp_path: Path, confdir: Path, name: str, *args: str) -> list[tuple[str | None, str | None]]:
    result = record(tmp_path / f"{name}.jsonl", confdir, [AWS, *args])
    assert result.returncode == 0, result.stderr
    _, exchanges = load_exchanges(result.path)
    return [(e.service, e.operation) for e in exchanges]


def test_aws_cli_calls_are_recorded(tmp_path: Path, confdir: Path, moto_http: str) -> None:
    endpoint = ["--endpoint-url", moto_http]
    assert _aws(tmp_path, confdir, "mb", "s3", "mb", "s3://cli-bucket", *endpoint) == [("s3", "CreateBucket")]
    assert _aws(tmp_path, confdir, "ls", "s3", "ls", *endpoint) == [("s3", "ListBuckets")]
    assert _aws(tmp_path, confdir, "sqs", "sqs", "list-queues", *endpoint) == [("sqs", "ListQueues")]

    upload = tmp_path / "upload.txt"
    upload.write_bytes(b"from the aws cli\n" * 100)
    assert _aws(
        tmp_path, confdir, "cp", "s3", "cp", str(upload), "s3://cli-bucket/upload.txt", *endpoint
    ) == [("s3", "PutObject")]
    _, exchanges = load_exchanges(tmp_path / "cp.jsonl")
    assert exchanges[0].request.body.read() == upload.read_bytes()
    listing = _aws(tmp_path, confdir, "ls2", "s3", "ls", "s3://cli-bucket/", *endpoint)
    assert listing == [("s3", "ListObjectsV2")]


def test_aws_cli_over_https_trusts_the_proxy_ca(tmp_path: Path, confdir: Path, moto_https: str) -> None:
    endpoint = ["--endpoint-url", moto_https]
    result = record(
        tmp_path / "mb.jsonl", confdir, [AWS, "s3", "mb", "s3://cli-tls", *endpoint], "--ssl-insecure"
    )
    assert result.returncode == 0, result.stderr
    upload = tmp_path / "upload.bin"
    upload.write_bytes(bytes(range(256)) * 64)
    result = record(
        tmp_path / "cp.jsonl",
        confdir,
        [AWS, "s3", "cp", str(upload), "s3://cli-tls/u.bin", *endpoint],
        "--ssl-insecure",
    )
    assert result.returncode == 0, result.stderr
    _, exchanges = load_exchanges(result.path)
    assert [(e.service, e.operation) for e in exchanges] == [("s3", "PutObject")]
    put = exchanges[0]
    assert put.request.body.read() == upload.read_bytes()
    # Over TLS the CLI streams the upload with aws-chunked framing and a trailing checksum.
    assert put.notes["aws-chunked"]["decoded_length"] == upload.stat().st_size
