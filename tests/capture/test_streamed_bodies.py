"""Large bodies stream through the recorder to the blob folder: its memory does not grow with them.

`compat-diff record` runs as its own process around a boto3 client that uploads and downloads a
large object through it to moto; a wrapper process reads the peak resident memory of the
recorder (and its client) from the kernel's account of its finished children.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.capture.conftest import client_environment, write_script

MIB = 1024 * 1024
SIZE = 256 * MIB

CLIENT = """
import hashlib, sys
import boto3
from botocore.config import Config

endpoint, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Over TLS botocore's default frames PutObject as aws-chunked with a trailing checksum.
checksums = "when_supported" if endpoint.startswith("https") else "when_required"
block = bytes(range(256)) * 4096  # 1 MiB, not all zeros
with open(path, "wb") as out:
    for _ in range(size // len(block)):
        out.write(block)
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, request_checksum_calculation=checksums,
                                response_checksum_validation="when_required"))
s3.create_bucket(Bucket="big")
with open(path, "rb") as body:
    s3.put_object(Bucket="big", Key="object", Body=body, ContentLength=size)
digest = hashlib.sha256()
for chunk in s3.get_object(Bucket="big", Key="object")["Body"].iter_chunks(1 << 20):
    digest.update(chunk)
print("downloaded", digest.hexdigest())
"""

# Runs the command given as arguments and prints the peak RSS (KiB) among its finished children.
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize(
    ("tls", "size"),
    # TLS through the proxy is slow on a shared machine; 128 MiB still dwarfs the recorder's own
    # ~90 MiB, and buffered it cost three times the body.
    [(False, SIZE), (True, SIZE // 2)],
    ids=["http", "https-aws-chunked"],
)
def test_a_large_upload_and_download_stream_to_the_blob_folder_with_flat_memory(
    tmp_path: Path, confdir: Path, request: pytest.FixtureRequest, tls: bool, size: int
) -> None:
    endpoint = request.getfixturevalue("moto_https" if tls else "moto_http")
    script = write_script(tmp_path, "client.py", CLIENT)
    out = tmp_path / "rec.jsonl"
    data_file = tmp_path / "upload.bin"
    result = subprocess.run(
        [
            sys.executable, "-c", PEAK_RSS,
            sys.executable, "-m", "compat_diff", "record", "--out", str(out), "--confdir", str(confdir),
            *(["--ssl-insecure"] if tls else []),
            "--", sys.executable, str(script), endpoint, str(data_file), str(size),
        ],
        capture_output=True, text=True, env=client_environment(), timeout=900, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    peak_kib, code = result.stdout.split()[-2:]
    assert code == "0", result.stderr[-3000:]
    expected = hashlib.sha256(data_file.read_bytes()).hexdigest()
    assert f"downloaded {expected}" in result.stdout

    lines = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    put = next(line for line in lines if line["operation"] == "PutObject")
    get = next(line for line in lines if line["operation"] == "GetObject")
    assert put["request"]["body"] == {"blob": expected, "size": size}
    assert get["response"]["body"] == {"blob": expected, "size": size}
    if tls:
        # Decoded from the aws-chunked framing file to file, and noted for re-framing on replay.
        assert put["notes"]["aws-chunked"]["decoded_length"] == size
        assert "damaged" not in put["notes"]["aws-chunked"]
    blobs = out.with_name(out.name + ".blobs")
    assert sorted(path.name for path in blobs.iterdir()) == [expected]  # no spool left behind
    # Buffered, the recorder held the upload about three times over (3.2 GB for 1 GB).
    assert int(peak_kib) * 1024 < size, f"peak RSS {int(peak_kib) // 1024} MiB for a {size // MIB} MiB body"


def test_over_max_body_bytes_a_streamed_body_keeps_only_its_digest(
    tmp_path: Path, confdir: Path, moto_http: str
) -> None:
    size = 8 * MIB
    script = write_script(tmp_path, "client.py", CLIENT)
    out = tmp_path / "rec.jsonl"
    data_file = tmp_path / "upload.bin"
    result = subprocess.run(
        [
            sys.executable, "-m", "compat_diff", "record", "--out", str(out), "--confdir", str(confdir),
            "--max-body-bytes", str(MIB),
            "--", sys.executable, str(script), moto_http, str(data_file), str(size),
        ],
        capture_output=True, text=True, env=client_environment(), timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    expected = hashlib.sha256(data_file.read_bytes()).hexdigest()
    lines = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    put = next(line for line in lines if line["operation"] == "PutObject")
    assert put["request"]["body"] == {"sha256": expected, "size": size}
    assert put["replayable"] is False
    blobs = out.with_name(out.name + ".blobs")
    assert not blobs.exists() or list(blobs.iterdir()) == []
