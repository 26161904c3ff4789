"""End to end, with real processes only: boto3 signing EC2 with SigV2 (``signature_version='v2'``)
and S3 with SigV4, recorded by `compat-diff record` through a real nginx that serves moto behind
Eucalyptus-style prefixes (``/services/compute``, ``/services/objectstorage``); then replayed
behind other prefixes (another moto behind nginx at ``/v2/...``), behind none (a third moto), and
against a SigV2-checking endpoint behind nginx that verifies each signature with botocore's own
SigV2Auth over the full path it was reached at (right secret accepted, wrong secret rejected).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from compat_diff.aws.redact import REDACTED
from compat_diff.recording import load_exchanges
from compat_diff.testing import client_environment, run_cli, stop_process
from tests.replay.reverse_proxy import Nginx, nginx_binary, start_nginx

CLIENT = """
import sys, boto3, botocore.config
ec2_url, s3_url = sys.argv[1:3]
v2 = botocore.config.Config(signature_version="v2", retries={"max_attempts": 1})
ec2 = boto3.client("ec2", endpoint_url=ec2_url, config=v2)
ec2.create_key_pair(KeyName="prefix-kp")
ec2.describe_key_pairs(KeyNames=["prefix-kp"])
group = ec2.create_security_group(GroupName="prefix-sg", Description="behind a prefix")["GroupId"]
ec2.describe_security_groups(GroupIds=[group])
ec2.delete_security_group(GroupId=group)
s3 = boto3.client("s3", endpoint_url=s3_url,
                  config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
s3.create_bucket(Bucket="prefix-bucket")
s3.put_object(Bucket="prefix-bucket", Key="a.txt", Body=b"hello")
assert s3.get_object(Bucket="prefix-bucket", Key="a.txt")["Body"].read() == b"hello"
print("client done")
"""
EC2_CALLS = [
    "CreateKeyPair",
    "DescribeKeyPairs",
    "CreateSecurityGroup",
    "DescribeSecurityGroups",
    "DeleteSecurityGroup",
]
CHECKER_KEY, CHECKER_SECRET = "AKIDCHECKER000000001", "checker-secret"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, object]]:
    nginx_binary()
    started: list = []

    def helper(script: str, *args: str) -> str:
        port_file = tmp_path / f"{len(started)}.port"
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name(script)), *args, str(port_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"{len(started)}.log").open("wb"),
        )
        started.append(process)
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{script} did not start")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        while True:  # listening once it answers anything
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{script} did not answer") from None
                time.sleep(0.05)
        return url

    verdicts = tmp_path / "verdicts.jsonl"
    try:
        reference = helper("moto_query_server.py")
        candidate = helper("moto_query_server.py")
        bare = helper("moto_query_server.py")
        checker = helper("sigv2_checker.py", CHECKER_KEY, CHECKER_SECRET, str(verdicts))
        nginx = start_nginx(
            tmp_path / "nginx",
            {
                "/services/compute": (reference, True),
                "/services/objectstorage": (reference, True),
                "/v2/ec2": (candidate, True),
                "/v2/s3": (candidate, True),
                "/checker": (checker, False),
            },
        )
        started.append(nginx)
        yield {"nginx": nginx, "bare": bare, "verdicts": verdicts}
    finally:
        for server in reversed(started):
            if isinstance(server, Nginx):
                server.stop()
            else:
                stop_process(server)


def _answers(run: Path, target: str) -> dict[int, dict]:
    lines = (run / "targets" / target / "answers.jsonl").read_text().splitlines()
    return {answer["seq"]: answer for answer in map(json.loads, lines)}


def test_sigv2_ec2_and_s3_recorded_behind_a_prefix_replay_behind_others(servers, tmp_path: Path) -> None:
    nginx: Nginx = servers["nginx"]  # type: ignore[assignment]
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    env = client_environment("AKIAPREFIXRECORDER01", "recorder-secret")
    recording = tmp_path / "rec.jsonl"
    result = run_cli(
        "record",
        "--out",
        str(recording),
        "--confdir",
        str(tmp_path / "ca"),
        "--",
        sys.executable,
        str(script),
        f"{nginx.url}/services/compute",
        f"{nginx.url}/services/objectstorage",
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "client done" in result.stdout

    _, exchanges = load_exchanges(recording)
    ec2 = [e for e in exchanges if e.service == "ec2"]
    # Identified from the very first call, though nothing but the Action names the service.
    assert [e.operation for e in ec2] == EC2_CALLS
    for exchange in ec2:
        assert exchange.auth.scheme == "sigv2-query"
        assert exchange.auth.access_key == "AKIAPREFIXRECORDER01"
        assert exchange.region == "us-east-1"  # the recorded client's region
        form = dict(parse_qsl(exchange.request.body.read().decode()))
        assert form["SignatureVersion"] == "2" and form["Signature"] == REDACTED
    # The Eucalyptus prefix names S3 by its alias, so the path after it is read as the S3 route.
    assert [e.operation for e in exchanges if e.service == "s3"] == ["CreateBucket", "PutObject", "GetObject"]

    targets = tmp_path / "targets.toml"
    targets.write_text(
        f"""
[target.prefixed]
endpoint = "{nginx.url}/v2/ec2"
[target.prefixed.endpoints]
compute = "{nginx.url}/v2/ec2"
objectstorage = "{nginx.url}/v2/s3"

[target.bare]
endpoint = "{servers["bare"]}"
sigv2 = "v4"

[target.checker]
endpoint = "{nginx.url}/checker"
services = ["compute"]
access_key = "{CHECKER_KEY}"
secret_key = "{CHECKER_SECRET}"

[target.wrong]
endpoint = "{nginx.url}/checker"
services = ["ec2"]
access_key = "{CHECKER_KEY}"
secret_key = "not-the-secret"
"""
    )
    run = tmp_path / "run"
    replayed = run_cli(
        # --keep-resources: the cleanup's own calls would reach the checker too; it counts the replayed ones.
        "replay", str(recording), "--targets", str(targets), "--out", str(run), "--keep-resources",
        env=env,
        timeout=180,
    )
    assert replayed.returncode in (0, 1), replayed.stderr

    recorded_status = {e.seq: e.response.status for e in exchanges}
    for name in ("prefixed", "bare"):
        answers = _answers(run, name)
        got = {seq: a["response"]["status"] for seq, a in answers.items() if a["outcome"] == "answered"}
        assert got == recorded_status, (name, got)

    paths = nginx.paths()
    assert paths.count("POST /v2/ec2/") == len(EC2_CALLS), paths
    assert "PUT /v2/s3/prefix-bucket/a.txt" in paths
    assert not any(
        "/services/" in path for path in paths if path.split(" ")[1].startswith(("/v2", "/checker"))
    )

    lines = servers["verdicts"].read_text().splitlines()  # type: ignore[union-attr]
    verdicts = [v for v in map(json.loads, lines) if v["path"] != "/moto-api/"]  # the start-up probe
    assert len(verdicts) == 2 * len(EC2_CALLS)
    assert {v["path"] for v in verdicts} == {"/checker/"}
    by_verdict: dict[str, list[str]] = {}
    for verdict in verdicts:
        by_verdict.setdefault(verdict["verdict"], []).append(verdict["action"])
    assert sorted(by_verdict["ok"]) == sorted(EC2_CALLS)
    assert sorted(by_verdict["signature mismatch"]) == sorted(EC2_CALLS)
    checker = _answers(run, "checker")
    assert (
        sorted(a["response"]["status"] for a in checker.values() if a["outcome"] == "answered") == [200] * 5
    )
    skipped = [a for a in checker.values() if a["outcome"] == "skipped"]
    assert len(skipped) == 3  # the S3 calls: this target serves EC2 only
