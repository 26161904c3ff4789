"""A presigned POST (S3's browser upload form) is recorded without its signature: the multipart
form fields ``x-amz-signature``, ``policy``, ``x-amz-credential`` (and a session token) are
redacted, the upload itself is kept. Recorded through `compat-diff record` against moto.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from compat_diff.recording import load_exchanges
from tests.capture.conftest import client_environment, record, write_script

TOKEN = "FQoGZXIvYXdzEXAMPLE-presigned-post-session-token-89ab"

# boto3 signs a presigned POST with SigV2 by default (signature, policy) and with SigV4 when asked
# (x-amz-signature, x-amz-credential, policy); both carry the session token as a field.
SCRIPT = """
import json, sys, boto3, requests
from botocore.config import Config
endpoint = sys.argv[1]
fields = {}
for key, config in (("v2.txt", Config()), ("v4.txt", Config(signature_version="s3v4"))):
    s3 = boto3.client("s3", endpoint_url=endpoint, config=config)
    s3.create_bucket(Bucket="post-bucket")
    post = s3.generate_presigned_post("post-bucket", key, ExpiresIn=600)
    data = b"uploaded-" + key.encode()
    upload = requests.post(post["url"], data=post["fields"], files={"file": (key, data)})
    assert upload.status_code in (200, 204), (upload.status_code, upload.text)
    assert s3.get_object(Bucket="post-bucket", Key=key)["Body"].read() == data
    fields[key] = post["fields"]
print(json.dumps(fields))
"""
SECRET_FIELDS = ("signature", "x-amz-signature", "policy", "x-amz-credential", "x-amz-security-token")


def test_presigned_post_is_recorded_without_its_signature(
    tmp_path: Path, confdir: Path, moto_http: str
) -> None:
    script = write_script(tmp_path, "client.py", SCRIPT)
    env = client_environment(AWS_SESSION_TOKEN=TOKEN)
    result = record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), moto_http], env=env)
    assert result.returncode == 0, result.stderr
    fields = json.loads(result.stdout.strip().splitlines()[-1])
    content = result.path.read_bytes()
    _, exchanges = load_exchanges(result.path)
    expected = {
        "v2.txt": {"signature", "policy"},
        "v4.txt": {"x-amz-signature", "x-amz-credential", "policy"},
    }
    for key, sent in fields.items():
        secret = {name: value for name, value in sent.items() if name.lower() in SECRET_FIELDS}
        assert expected[key] | {"x-amz-security-token"} <= set(secret), sent
        posts = [e for e in exchanges if e.request.method == "POST" and key.encode() in e.request.body.read()]
        assert len(posts) == 1, [(e.request.method, e.operation) for e in exchanges]
        form = posts[0].request.body.text()
        for name, value in secret.items():
            # The credential scope is also in every signed call's Authorization header, which keeps it.
            where = form.encode() if name == "x-amz-credential" else content
            assert value.encode() not in where, f"{name} of the {key} POST recorded verbatim"
            assert f'name="{name}"\r\n\r\n**REDACTED**\r\n' in form
        assert f'name="key"\r\n\r\n{key}\r\n' in form
        assert b"uploaded-" + key.encode() in posts[0].request.body.read()
