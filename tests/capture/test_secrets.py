"""No secret reaches a recording: not the signing key, not a session token, not credentials that
IAM and STS hand back. The whole file and every blob are scanned as bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from compat_diff.recording import blob_dir_for, load_exchanges
from tests.capture.conftest import SECRET_KEY, client_environment, record, write_script

SESSION_TOKEN = "FQoGZXIvYXdzEXAMPLE-session-token-that-must-never-be-recorded-0123456789"

SCRIPT = """
import json, sys, boto3
endpoint = sys.argv[1]
iam = boto3.client("iam", endpoint_url=endpoint)
iam.create_user(UserName="alice")
key = iam.create_access_key(UserName="alice")["AccessKey"]
sts = boto3.client("sts", endpoint_url=endpoint)
token = sts.get_session_token()["Credentials"]
s3 = boto3.client("s3", endpoint_url=endpoint)
s3.create_bucket(Bucket="secret-bucket")
s3.put_object(Bucket="secret-bucket", Key="big", Body=b"x" * (300 * 1024))
url = s3.generate_presigned_url("get_object", Params={"Bucket": "secret-bucket", "Key": "big"})
import urllib.request
assert len(urllib.request.urlopen(url).read()) == 300 * 1024
print(json.dumps({"returned": [key["SecretAccessKey"], token["SecretAccessKey"], token["SessionToken"]],
                  "presigned_signature": url.split("Signature=")[1].split("&")[0]}))
"""


def test_recording_holds_no_secret(tmp_path: Path, confdir: Path, moto_http: str) -> None:
    script = write_script(tmp_path, "client.py", SCRIPT)
    env = client_environment(AWS_SESSION_TOKEN=SESSION_TOKEN)
    result = record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), moto_http], env=env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    _, exchanges = load_exchanges(result.path)
    operations = [e.operation for e in exchanges]
    assert {"CreateAccessKey", "GetSessionToken", "PutObject"} <= set(operations)
    blobs = list(blob_dir_for(result.path).iterdir())
    assert blobs, "the 300 KiB upload should have been stored as a blob"
    files = [result.path.read_bytes(), *(blob.read_bytes() for blob in blobs)]
    secrets = [SECRET_KEY, SESSION_TOKEN, *seen["returned"], seen["presigned_signature"]]
    assert all(len(secret) >= 16 for secret in secrets), secrets
    for content in files:
        for secret in secrets:
            assert secret.encode() not in content
    # Each signed call's signature is gone too.
    presigned = exchanges[-1]
    assert presigned.operation == "GetObject" and presigned.auth.scheme.endswith("-query")
    for exchange in exchanges[:-1]:
        authorization = exchange.request.header("authorization") or ""
        assert authorization.endswith("Signature=**REDACTED**"), authorization
        assert exchange.request.header("x-amz-security-token") in (None, "**REDACTED**")
    # The redacted answers still say where the secret was, so they stay comparable.
    answer = next(e for e in exchanges if e.operation == "CreateAccessKey").response.body.text()
    assert "<SecretAccessKey>**REDACTED**</SecretAccessKey>" in answer
