"""Presigned calls are presigned again, streamed aws-chunked uploads are sent de-chunked and signed
with their real payload hash, and SigV2 calls are re-signed as SigV2; checked by a real server that
verifies SigV4 (rclone serve s3) and, for SigV2, against the string to sign AWS documents.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import boto3
import pytest
import urllib3
from botocore.config import Config
from rich.console import Console

from compat_diff.model import Body, HttpRequest, HttpResponse
from compat_diff.recording import load_exchanges
from compat_diff.replay.retarget import rebuild
from compat_diff.replay.run import run_replay
from compat_diff.replay.targets import load_targets
from compat_diff.testing import free_port
from tests.replay.conftest import Server

RCLONE_KEY, RCLONE_SECRET = "RCLONEKEY", "RCLONESECRET"


@pytest.fixture
def rclone(tmp_path: Path):
    binary = Path(sys.executable).with_name("rclone")
    data = tmp_path / "rclone-data"
    data.mkdir()
    port = free_port()
    process = subprocess.Popen(
        [
            str(binary),
            "serve",
            "s3",
            "--addr",
            f"127.0.0.1:{port}",
            "--auth-key",
            f"{RCLONE_KEY},{RCLONE_SECRET}",
            str(data),
        ],
        stdout=(tmp_path / "rclone.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(server.url, timeout=1)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                server.stop()
                raise RuntimeError("rclone serve s3 did not start") from None
            time.sleep(0.1)
    yield server
    server.stop()


def _record_raw(recorder, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> None:
    reply = urllib3.PoolManager().request(
        method, url, body=body or None, headers=dict(headers), retries=False
    )
    netloc = url.split("/")[2]
    recorder.recorder.record(
        HttpRequest(method, url, (("Host", netloc), *headers), Body.of(body)),
        HttpResponse(reply.status, tuple(reply.headers.items()), Body.of(reply.data)),
        time.time(),
        1.0,
    )


def _chunked(payload: bytes, checksum: str) -> bytes:
    framed = b""
    for start in range(0, len(payload), 4096):
        piece = payload[start : start + 4096]
        framed += b"%x\r\n%s\r\n" % (len(piece), piece)
    return framed + b"0\r\nx-amz-checksum-crc32:" + checksum.encode() + b"\r\n\r\n"


def _record(moto_factory, boto_recorder) -> Path:
    reference = moto_factory()
    recorder = boto_recorder()
    s3 = recorder.client("s3", reference.url)
    s3.create_bucket(Bucket="presign-bucket")
    s3.put_object(Bucket="presign-bucket", Key="hello.txt", Body=b"hello presigned")
    signer = boto3.client(
        "s3",
        endpoint_url=reference.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAREC",
        aws_secret_access_key="recsecret",
        config=Config(signature_version="s3v4"),
    )
    get_url = signer.generate_presigned_url(
        "get_object", {"Bucket": "presign-bucket", "Key": "hello.txt"}, ExpiresIn=900
    )
    _record_raw(recorder, "GET", get_url, [], b"")
    put_url = signer.generate_presigned_url(
        "put_object", {"Bucket": "presign-bucket", "Key": "up.txt"}, ExpiresIn=600
    )
    _record_raw(recorder, "PUT", put_url, [], b"uploaded through a presigned URL")
    # A streamed upload with a trailing checksum, as boto3 sends over HTTPS (framing recorded, then decoded).
    payload = b"streamed bytes " * 1000
    checksum = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    framed = _chunked(payload, checksum)
    amz_date = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"AKIAREC/{amz_date[:8]}/us-east-1/s3/aws4_request"
    chunked_headers = [
        ("Content-Encoding", "aws-chunked"),
        ("X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("X-Amz-Trailer", "x-amz-checksum-crc32"),
        ("X-Amz-Decoded-Content-Length", str(len(payload))),
        ("Content-Length", str(len(framed))),
        ("X-Amz-Date", amz_date),
        (
            "Authorization",
            f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=content-encoding;host;"
            "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-trailer, Signature="
            + "0"
            * 64,
        ),
    ]
    _record_raw(recorder, "PUT", f"{reference.url}/presign-bucket/streamed.txt", chunked_headers, framed)
    recorder.close()
    return recorder.writer.path


def _answers(run: Path, target: str) -> list[dict]:
    lines = (run / "targets" / target / "answers.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda answer: answer["seq"])


def _targets(tmp_path: Path, url: str, secret: str) -> Path:
    path = tmp_path / f"targets-{secret}.toml"
    path.write_text(
        f'[target.rclone]\nendpoint = "{url}"\naccess_key = "{RCLONE_KEY}"\nsecret_key = "{secret}"\n'
    )
    return path


def test_presigned_and_streamed_calls_are_accepted_by_a_verifying_server(
    tmp_path, moto_factory, boto_recorder, rclone
):
    recording = _record(moto_factory, boto_recorder)
    _, exchanges = load_exchanges(recording)
    assert [e.auth.scheme for e in exchanges][2:4] == ["sigv4-query", "sigv4-query"]
    assert "aws-chunked" in exchanges[4].notes

    run_replay(
        recording,
        [],
        _targets(tmp_path, rclone.url, RCLONE_SECRET),
        False,
        tmp_path / "run",
        console=Console(stderr=True),
        keep_resources=True,  # the objects are read back below
    )

    answers = _answers(tmp_path / "run", "rclone")
    names = json.loads((tmp_path / "run" / "targets" / "rclone" / "names.json").read_text())
    bucket = next(name["sent"] for name in names["names"] if name["recorded"] == "presign-bucket")
    statuses = [
        (a["seq"], a["response"]["status"], a["response"]["body"].get("text", "")[:200]) for a in answers
    ]
    assert all(status < 300 for _, status, _ in statuses), statuses
    get, put, streamed = answers[2], answers[3], answers[4]
    assert get["response"]["body"]["text"] == "hello presigned"
    assert (
        "X-Amz-Expires=900" in get["request"]["url"] and f"Credential={RCLONE_KEY}" in get["request"]["url"]
    )
    assert "X-Amz-Expires=600" in put["request"]["url"]
    sent = {name.lower(): value for name, value in streamed["request"]["headers"]}
    assert "content-encoding" not in sent and "x-amz-decoded-content-length" not in sent
    assert sent["content-length"] == str(len(b"streamed bytes " * 1000))
    assert (
        sent["x-amz-checksum-crc32"]
        == base64.b64encode(zlib.crc32(b"streamed bytes " * 1000).to_bytes(4, "big")).decode()
    )
    assert sent["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    check = boto3.client(
        "s3",
        endpoint_url=rclone.url,
        region_name="us-east-1",
        aws_access_key_id=RCLONE_KEY,
        aws_secret_access_key=RCLONE_SECRET,
    )
    assert (
        check.get_object(Bucket=bucket, Key="streamed.txt")["Body"].read()
        == b"streamed bytes " * 1000
    )
    assert (
        check.get_object(Bucket=bucket, Key="up.txt")["Body"].read()
        == b"uploaded through a presigned URL"
    )


def test_presigned_call_with_a_wrong_secret_is_rejected(tmp_path, moto_factory, boto_recorder, rclone):
    recording = _record(moto_factory, boto_recorder)
    run_replay(
        recording,
        [],
        _targets(tmp_path, rclone.url, "not-the-secret"),
        False,
        tmp_path / "run",
        console=Console(stderr=True),
    )
    answers = _answers(tmp_path / "run", "rclone")
    assert answers[2]["response"]["status"] == 403
    assert "SignatureDoesNotMatch" in answers[2]["response"]["body"]["text"]


def _sigv2_expected(
    secret: str, method: str, content_md5: str, content_type: str, date: str, amz: str, resource: str
) -> str:
    string_to_sign = f"{method}\n{content_md5}\n{content_type}\n{date}\n{amz}{resource}"
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def test_sigv2_calls_are_re_signed_as_sigv2_with_the_bucket_in_the_resource(
    tmp_path, moto_factory, boto_recorder
):
    reference = moto_factory()
    recorder = boto_recorder()
    s3 = recorder.client("s3", reference.url, signature_version="s3")
    s3.create_bucket(Bucket="v2-bucket")
    s3.put_object(Bucket="v2-bucket", Key="doc.txt", Body=b"v2", ContentType="text/plain", Tagging="a=b")
    recorder.close()
    _, exchanges = load_exchanges(recorder.writer.path)
    assert [e.auth.scheme for e in exchanges] == ["sigv2", "sigv2"]
    targets = tmp_path / "t.toml"
    targets.write_text(
        '[target.v]\nendpoint = "http://localhost:9"\naccess_key = "NEWKEY"\nsecret_key = "newsecret"\n'
        's3_addressing = "virtual"\n'
        '[target.f]\nendpoint = "http://127.0.0.1:9"\naccess_key = "NEWKEY"\nsecret_key = "newsecret"\n'
        'sigv2 = "v4"\n'
    )
    virtual, forced = load_targets([], targets)
    moment = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)

    out = rebuild(exchanges[1], virtual, clock=lambda: moment)

    assert out.url == "http://v2-bucket.localhost:9/doc.txt"
    sent = {name.lower(): value for name, value in out.headers}
    assert sent["date"] == "Mon, 06 May 2024 07:08:09 GMT"
    md5 = sent.get("content-md5", "")
    amz = "".join(f"{name}:{sent[name]}\n" for name in sorted(n for n in sent if n.startswith("x-amz-")))
    expected = _sigv2_expected("newsecret", "PUT", md5, "text/plain", sent["date"], amz, "/v2-bucket/doc.txt")
    assert sent["authorization"] == f"AWS NEWKEY:{expected}"
    # sigv2 = "v4" re-signs the same call with SigV4.
    forced_headers = dict(
        (k.lower(), v) for k, v in rebuild(exchanges[1], forced, clock=lambda: moment).headers
    )
    assert forced_headers["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=NEWKEY/20240506/us-east-1/s3/"
    )
