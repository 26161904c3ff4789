"""boto3 recorded through `compat-diff record -- python script.py`, over HTTP and HTTPS, against moto."""

from __future__ import annotations

import sys
from pathlib import Path

from compat_diff.recording import load_exchanges
from tests.capture.conftest import Recorded, client_environment, record, write_script

SCRIPT = """
import sys, boto3
endpoint = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=endpoint)
s3.create_bucket(Bucket="rec-bucket")
s3.put_object(Bucket="rec-bucket", Key="hello.txt", Body=b"hello world")
assert s3.get_object(Bucket="rec-bucket", Key="hello.txt")["Body"].read() == b"hello world"
s3.list_objects_v2(Bucket="rec-bucket")
s3.head_object(Bucket="rec-bucket", Key="hello.txt")
s3.delete_object(Bucket="rec-bucket", Key="hello.txt")
sqs = boto3.client("sqs", endpoint_url=endpoint)
url = sqs.create_queue(QueueName="rec-queue")["QueueUrl"]
sqs.send_message(QueueUrl=url, MessageBody="payload")
sqs.receive_message(QueueUrl=url)
ddb = boto3.client("dynamodb", endpoint_url=endpoint)
ddb.list_tables()
sts = boto3.client("sts", endpoint_url=endpoint)
sts.get_caller_identity()
print("client done")
"""

EXPECTED = [
    ("s3", "CreateBucket"),
    ("s3", "PutObject"),
    ("s3", "GetObject"),
    ("s3", "ListObjectsV2"),
    ("s3", "HeadObject"),
    ("s3", "DeleteObject"),
    ("sqs", "CreateQueue"),
    ("sqs", "SendMessage"),
    ("sqs", "ReceiveMessage"),
    ("dynamodb", "ListTables"),
    ("sts", "GetCallerIdentity"),
]


def _record_script(tmp_path: Path, confdir: Path, endpoint: str, *options: str) -> Recorded:
    script = write_script(tmp_path, "client.py", SCRIPT)
    return record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), endpoint], *options)


def test_boto3_over_http_is_recorded_with_each_operation(
    tmp_path: Path, confdir: Path, moto_http: str
) -> None:
    result = _record_script(tmp_path, confdir, moto_http, "--session", "http-run")

    assert result.returncode == 0, result.stderr
    assert "client done" in result.stdout
    _, exchanges = load_exchanges(result.path)
    assert [(e.service, e.operation) for e in exchanges] == EXPECTED
    assert [e.seq for e in exchanges] == list(range(1, len(EXPECTED) + 1))
    assert {e.session for e in exchanges} == {"http-run"}
    assert all(200 <= e.response.status < 300 for e in exchanges)
    assert all(e.auth.scheme == "sigv4" and e.auth.access_key for e in exchanges)
    put = exchanges[1]
    assert put.request.body.read() == b"hello world"
    assert exchanges[2].response.body.read() == b"hello world"
    assert put.request.url == f"{moto_http}/rec-bucket/hello.txt"
    assert put.started.endswith("Z") and put.duration_ms > 0
    # The summary names what was recorded and where.
    assert "PutObject" in result.stderr and str(result.path) in result.stderr


def test_boto3_over_https_is_intercepted_and_recorded(tmp_path: Path, confdir: Path, moto_https: str) -> None:
    # The client verifies the proxy's CA (AWS_CA_BUNDLE set by the recorder); the proxy accepts
    # moto's self-signed certificate only because of --ssl-insecure.
    result = _record_script(tmp_path, confdir, moto_https, "--ssl-insecure")

    assert result.returncode == 0, result.stderr
    _, exchanges = load_exchanges(result.path)
    assert [(e.service, e.operation) for e in exchanges] == EXPECTED
    assert all(e.request.url.startswith(moto_https) for e in exchanges)
    assert exchanges[2].response.body.read() == b"hello world"


def test_https_upstream_with_an_untrusted_certificate_is_refused_without_ssl_insecure(
    tmp_path: Path, confdir: Path, moto_https: str
) -> None:
    script = write_script(
        tmp_path,
        "one_call.py",
        "import sys, boto3, botocore.config\n"
        "c = boto3.client('s3', endpoint_url=sys.argv[1],"
        " config=botocore.config.Config(retries={'max_attempts': 1}))\n"
        "try:\n    c.list_buckets()\nexcept Exception as e:\n    print('failed:', type(e).__name__)\n",
    )
    result = record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), moto_https])

    assert result.returncode == 0, result.stderr
    assert "failed:" in result.stdout
    _, exchanges = load_exchanges(result.path)
    assert exchanges == []
    assert "no AWS call went through the proxy" in result.stderr


def test_command_exit_status_is_passed_through(tmp_path: Path, confdir: Path) -> None:
    result = record(tmp_path / "rec.jsonl", confdir, [sys.executable, "-c", "raise SystemExit(7)"])
    assert result.returncode == 7
    assert "no AWS call went through the proxy" in result.stderr


def test_proxy_variables_reach_the_command(tmp_path: Path, confdir: Path) -> None:
    script = write_script(
        tmp_path,
        "show_env.py",
        "import os\nfor k in ['HTTP_PROXY','HTTPS_PROXY','http_proxy','https_proxy','AWS_CA_BUNDLE',"
        "'REQUESTS_CA_BUNDLE','NODE_EXTRA_CA_CERTS','SSL_CERT_FILE','NO_PROXY']:\n"
        "    print(k, os.environ.get(k))\n",
    )
    env = client_environment(NO_PROXY="localhost,127.0.0.1,example.internal,::1")
    result = record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script)], env=env)

    assert result.returncode == 0, result.stderr
    seen = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    proxy = seen["HTTP_PROXY"]
    assert proxy.startswith("http://127.0.0.1:")
    assert seen["HTTPS_PROXY"] == seen["http_proxy"] == seen["https_proxy"] == proxy
    assert seen["NODE_EXTRA_CA_CERTS"] == str(confdir / "mitmproxy-ca-cert.pem")
    bundle = Path(seen["AWS_CA_BUNDLE"])
    assert seen["REQUESTS_CA_BUNDLE"] == seen["SSL_CERT_FILE"] == str(bundle)
    # The bundle trusts the proxy's CA and still the system roots.
    ca = (confdir / "mitmproxy-ca-cert.pem").read_text()
    assert ca in bundle.read_text() and bundle.read_text().count("BEGIN CERTIFICATE") > 1
    assert seen["NO_PROXY"] == "example.internal"
