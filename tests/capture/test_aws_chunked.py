"""Streamed uploads (aws-chunked) are recorded decoded with their framing noted; broken framing is
kept as received and flagged. Real clients and a real moto server on both ends.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from compat_diff.recording import load_exchanges
from tests.capture.conftest import ACCESS_KEY, SECRET_KEY, record, write_script

BOTO3_STREAMING = """
import io, sys, boto3
endpoint = sys.argv[1]
data = bytes(range(256)) * 1200 + b"tail"
s3 = boto3.client("s3", endpoint_url=endpoint)
s3.create_bucket(Bucket="chunky")
s3.put_object(Bucket="chunky", Key="blob.bin", Body=data)
assert s3.get_object(Bucket="chunky", Key="blob.bin")["Body"].read() == data
# An unseekable stream of unknown length: botocore frames it as it reads.
s3.upload_fileobj(io.BufferedReader(io.BytesIO(b"streamed " * 1000)), "chunky", "stream.txt")
print("client done")
"""

# A client that signs every chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), as the Java and Go SDKs do.
SIGNED_CHUNKS = """
import hashlib, hmac, http.client, json, os, sys, urllib.parse
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, bucket, key, mode = sys.argv[1:5]
data = (b"0123456789abcdef" * 4200)[:65536 + 1000]
chunk_size = 8192
payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
empty = hashlib.sha256(b"").hexdigest()

def framed(seed_signature, amz_date, scope, signing_key):
    out, previous = [], seed_signature
    pieces = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for piece in pieces:
        to_sign = "\\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty,
                             hashlib.sha256(piece).hexdigest()])
        previous = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        out.append(b"%x;chunk-signature=%s\\r\\n%s\\r\\n" % (len(piece), previous.encode(), piece))
    return b"".join(out)

def key_for(secret, date, region, service):
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k

url = f"{endpoint}/{bucket}/{key}"
# Framed length does not depend on the signature values (fixed 64 hex digits each).
length = len(framed("0" * 64, "x", "x", b"k"))
request = AWSRequest(method="PUT", url=url, headers={
    "X-Amz-Content-SHA256": payload, "Content-Encoding": "aws-chunked",
    "X-Amz-Decoded-Content-Length": str(len(data)), "Content-Length": str(length)})
SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]),
            "s3", "us-east-1").add_auth(request)
amz_date = request.headers["X-Amz-Date"]
seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
signing_key = key_for(os.environ["AWS_SECRET_ACCESS_KEY"], amz_date[:8], "us-east-1", "s3")
body = framed(seed, amz_date, scope, signing_key)
assert len(body) == length
if mode == "broken":
    body = body[: len(body) // 2]  # the connection "dropped" halfway: a truncated final chunk
    request.headers["Content-Length"] = str(len(body))
proxy = urllib.parse.urlsplit(os.environ["HTTP_PROXY"])
connection = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=30)
connection.request("PUT", url, body=body, headers=dict(request.headers.items()))
answer = connection.getresponse()
print(json.dumps({"status": answer.status, "sent": len(body), "data_sha256": hashlib.sha256(data).hexdigest(),
                  "seed": seed, "chunk_sig": body.split(b"chunk-signature=")[1][:64].decode()}))
"""


def test_boto3_streaming_upload_over_https_is_stored_decoded(
    tmp_path: Path, confdir: Path, moto_https: str
) -> None:
    script = write_script(tmp_path, "client.py", BOTO3_STREAMING)
    result = record(
        tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), moto_https], "--ssl-insecure"
    )
    assert result.returncode == 0, result.stderr

    _, exchanges = load_exchanges(result.path)
    puts = [e for e in exchanges if e.operation == "PutObject"]
    assert len(puts) == 2
    data = bytes(range(256)) * 1200 + b"tail"
    whole, streamed = puts
    assert whole.request.body.read() == data
    # Over 256 KiB: stored once as a blob beside the recording.
    assert whole.request.body.storage == "blob"
    note = whole.notes["aws-chunked"]
    assert note["payload"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert note["decoded_length"] == len(data)
    assert note["chunk_size"] > 0 and note["chunks"] >= 2
    assert "aws-chunked" in note["content_encoding"]
    assert any(name.startswith("x-amz-checksum-") for name in note["trailer"])
    assert "damaged" not in note and whole.replayable
    assert streamed.request.body.read() == b"streamed " * 1000
    assert streamed.notes["aws-chunked"]["decoded_length"] == 9000


def _signed_upload(tmp_path: Path, confdir: Path, endpoint: str, mode: str) -> tuple[dict[str, object], Path]:
    import json

    setup = write_script(
        tmp_path,
        "setup.py",
        "import sys, boto3\nboto3.client('s3', endpoint_url=sys.argv[1]).create_bucket(Bucket='signed')\n",
    )
    script = write_script(tmp_path, "signed.py", SIGNED_CHUNKS)
    command = [
        "/bin/sh",
        "-c",
        f'"{sys.executable}" "{setup}" "$0" && "{sys.executable}" "{script}" "$0" signed obj.bin {mode}',
        endpoint,
    ]
    result = record(tmp_path / "rec.jsonl", confdir, command)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.path


def test_signed_chunk_upload_is_decoded_and_its_signatures_dropped(
    tmp_path: Path, confdir: Path, moto_http: str
) -> None:
    client, path = _signed_upload(tmp_path, confdir, moto_http, "whole")
    assert client["status"] == 200

    _, exchanges = load_exchanges(path)
    put = next(e for e in exchanges if e.operation == "PutObject")
    body = put.request.body.read()
    assert hashlib.sha256(body).hexdigest() == client["data_sha256"]
    note = put.notes["aws-chunked"]
    assert note == {
        "payload": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "content_encoding": "aws-chunked",
        "chunk_size": 8192,
        "chunks": 10,
        "decoded_length": 65536 + 1000,
        "framed_length": note["framed_length"],
        "trailer": {},
    }
    raw = path.read_bytes()
    assert str(client["chunk_sig"]).encode() not in raw and str(client["seed"]).encode() not in raw
    assert SECRET_KEY.encode() not in raw and ACCESS_KEY.encode() in raw


def test_broken_chunk_framing_is_recorded_as_received_and_flagged(
    tmp_path: Path, confdir: Path, moto_http: str
) -> None:
    client, path = _signed_upload(tmp_path, confdir, moto_http, "broken")

    recording, exchanges = load_exchanges(path)
    assert recording.problems == []
    put = next(e for e in exchanges if e.operation == "PutObject")
    note = put.notes["aws-chunked"]
    assert "truncated" in note["damaged"]
    assert not put.replayable
    body = put.request.body.read()
    # As received (the framing is still there), only the chunk signatures are scrubbed.
    assert body.startswith(b"2000;chunk-signature=**REDACTED**\r\n0123456789abcdef")
    assert note["framed_length"] == client["sent"]
    signatures = body.count(b";chunk-signature=")
    assert signatures == body.count(b";chunk-signature=**REDACTED**\r\n") >= 2
    assert str(client["chunk_sig"]).encode() not in path.read_bytes()


MINIO = """
import io, os, sys, urllib.parse, urllib3
from minio import Minio
endpoint = urllib.parse.urlsplit(sys.argv[1])
# minio ignores HTTP_PROXY: it is pointed at the recorder explicitly.
client = Minio(endpoint.netloc, access_key=os.environ["AWS_ACCESS_KEY_ID"],
               secret_key=os.environ["AWS_SECRET_ACCESS_KEY"], secure=False, region="us-east-1",
               http_client=urllib3.ProxyManager(os.environ["HTTP_PROXY"]))
client.make_bucket("minio-bucket")
data = os.urandom(300 * 1024)
open(sys.argv[2], "wb").write(data)
client.put_object("minio-bucket", "unknown-length", io.BytesIO(data), length=-1, part_size=5 * 1024 * 1024)
assert client.get_object("minio-bucket", "unknown-length").read() == data
print("client done")
"""


def test_minio_unknown_length_upload_is_recorded_byte_for_byte(
    tmp_path: Path, confdir: Path, moto_http: str
) -> None:
    script = write_script(tmp_path, "minio_client.py", MINIO)
    original = tmp_path / "original.bin"
    result = record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), moto_http, str(original)])
    assert result.returncode == 0, result.stderr

    _, exchanges = load_exchanges(result.path)
    operations = [e.operation for e in exchanges]
    assert "CreateBucket" in operations and "PutObject" in operations and "GetObject" in operations
    put = next(e for e in exchanges if e.operation == "PutObject")
    assert put.request.body.read() == original.read_bytes()
    assert put.request.body.storage == "blob"
    # minio signs the whole payload (no aws-chunked framing over plain HTTP), so nothing to note.
    assert "aws-chunked" not in put.notes
    get = next(e for e in exchanges if e.operation == "GetObject")
    assert get.response.body.read() == original.read_bytes()
