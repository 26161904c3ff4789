"""Targets: the TOML file's mistakes are exit 2 with one sentence naming the key; AWS endpoints are
refused without --allow-aws; per-service endpoints keep their path prefix; S3 addressing is honoured.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compat_diff.errors import TargetError
from compat_diff.model import Auth
from compat_diff.recording import RecordingWriter
from compat_diff.replay.retarget import rebuild
from compat_diff.replay.targets import load_targets
from compat_diff.testing import make_exchange, make_request, run_cli


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path) as writer:
        writer.write(
            make_exchange(
                1, make_request("GET", "http://127.0.0.1:5000/"), service="s3", operation="ListBuckets"
            )
        )
    return path


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[target.swift]\nregion = "us-east-1"\n', "target.swift.endpoint is missing"),
        (
            '[target.swift]\nendpoint = "http://127.0.0.1:1"\ns3_addressing = "sideways"\n',
            "target.swift.s3_addressing",
        ),
        (
            '[target.swift]\nendpoint = "http://127.0.0.1:1"\naccess_key = "k"\n'
            'secret_key_env = "COMPAT_DIFF_UNSET_VAR"\n',
            "target.swift.secret_key_env names the environment variable COMPAT_DIFF_UNSET_VAR, "
            "which is not set",
        ),
        (
            '[target.swift]\nendpoint = "ftp://127.0.0.1"\n',
            "target.swift.endpoint must be an http:// or https:// URL",
        ),
        (
            '[target.swift]\nendpoint = "http://127.0.0.1:1"\nsurprise = 1\n',
            "target.swift.surprise is not a known key",
        ),
        ('[target.swift\nendpoint = "x"\n', "is not valid TOML"),
        (
            '[target.swift]\nendpoint = "http://127.0.0.1:1"\nsse_customer_key = "not base64!"\n',
            "target.swift.sse_customer_key is not a base64 key",
        ),
        (
            '[target.swift]\nendpoint = "http://127.0.0.1:1"\n'
            'sse_customer_key_env = "COMPAT_DIFF_UNSET_VAR"\n',
            "target.swift.sse_customer_key_env names the environment variable COMPAT_DIFF_UNSET_VAR",
        ),
    ],
)
def test_targets_file_mistakes_exit_2_naming_the_key(tmp_path, recording, toml, named):
    targets = tmp_path / "targets.toml"
    targets.write_text(toml)
    result = run_cli("replay", str(recording), "--targets", str(targets), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert named in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # one sentence (the console may wrap it)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "host", ["s3.amazonaws.com", "sqs.eu-west-1.amazonaws.com", "x.amazonaws.com.cn", "ec2.api.aws"]
)
def test_aws_endpoints_need_allow_aws(tmp_path, recording, host):
    result = run_cli(
        "replay", str(recording), "--target", f"real=https://{host}", "--out", str(tmp_path / "run")
    )
    assert result.returncode == 2
    assert f"AWS endpoint {host}" in result.stderr and "--allow-aws" in result.stderr
    assert load_targets([f"real=https://{host}"], None, allow_aws=True, chain=lambda _: None)[0].endpoint


def test_aws_endpoint_in_a_per_service_endpoint_is_refused(tmp_path):
    targets = tmp_path / "t.toml"
    targets.write_text(
        '[target.t]\nendpoint = "http://127.0.0.1:1"\n[target.t.endpoints]\nsqs = "https://sqs.us-east-1.amazonaws.com"\n'
    )
    with pytest.raises(TargetError, match="--allow-aws"):
        load_targets([], targets, chain=lambda _: None)


def _signed(url: str, service: str, host: str) -> object:
    scope = f"AKIAREC/20240101/us-east-1/{service}/aws4_request"
    request = make_request(
        "GET",
        url,
        [
            ("Host", host),
            (
                "Authorization",
                f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature=**REDACTED**",
            ),
            ("X-Amz-Date", "20240101T000000Z"),
            ("Connection", "keep-alive"),
            ("Transfer-Encoding", "identity"),
            ("Proxy-Authorization", "secret"),
        ],
    )
    return make_exchange(1, request, service=service, auth=Auth("sigv4", "AKIAREC", ("host", "x-amz-date")))


def test_per_service_endpoint_keeps_its_path_prefix_and_drops_hop_by_hop(tmp_path):
    targets = tmp_path / "t.toml"
    targets.write_text(
        '[target.euca]\nendpoint = "http://127.0.0.1:8080"\nregion = "eu-west-3"\n'
        'access_key = "k"\nsecret_key = "s"\n'
        '[target.euca.endpoints]\nec2 = "http://127.0.0.1:8773/services/compute"\n'
    )
    target = load_targets([], targets)[0]
    exchange = _signed(
        "https://ec2.us-east-1.amazonaws.com/?Action=DescribeRegions&Version=2016-11-15",
        "ec2",
        "ec2.us-east-1.amazonaws.com",
    )
    out = rebuild(exchange, target)
    assert out.url == "http://127.0.0.1:8773/services/compute/?Action=DescribeRegions&Version=2016-11-15"
    sent = {name.lower(): value for name, value in out.headers}
    assert sent["host"] == "127.0.0.1:8773"
    assert "Credential=k/" in sent["authorization"] and "/eu-west-3/ec2/aws4_request" in sent["authorization"]
    assert not {"connection", "transfer-encoding", "proxy-authorization"} & set(sent)


def test_s3_virtual_host_recording_goes_path_style_or_virtual_as_configured(tmp_path):
    targets = tmp_path / "t.toml"
    targets.write_text(
        '[target.p]\nendpoint = "http://127.0.0.1:9000"\naccess_key = "k"\nsecret_key = "s"\n'
        '[target.v]\nendpoint = "http://localhost:9000"\naccess_key = "k"\nsecret_key = "s"\n'
        's3_addressing = "virtual"\n'
    )
    path_style, virtual = load_targets([], targets)
    exchange = _signed(
        "https://my.bucket.s3.us-east-1.amazonaws.com/some/key.txt?tagging",
        "s3",
        "my.bucket.s3.us-east-1.amazonaws.com",
    )
    assert rebuild(exchange, path_style).url == "http://127.0.0.1:9000/my.bucket/some/key.txt?tagging"
    out = rebuild(exchange, virtual)
    assert out.url == "http://my.bucket.localhost:9000/some/key.txt?tagging"
    assert dict((k.lower(), v) for k, v in out.headers)["host"] == "my.bucket.localhost:9000"
    recorded_path_style = _signed("http://127.0.0.1:5000/bkt/k", "s3", "127.0.0.1:5000")
    assert rebuild(recorded_path_style, virtual).url == "http://bkt.localhost:9000/k"


def test_a_redacted_sse_c_key_is_put_back_by_its_md5_and_never_guessed(tmp_path):
    import base64
    import hashlib

    from compat_diff.replay.retarget import NotReplayable

    first, second = bytes(range(32)), bytes(range(1, 33))
    encoded = [base64.b64encode(key).decode() for key in (first, second)]
    targets = tmp_path / "targets.toml"
    targets.write_text(
        '[target.t]\nendpoint = "http://127.0.0.1:1"\naccess_key = "k"\nsecret_key = "s"\n'
        f"sse_customer_key = {encoded!r}\n".replace("'", '"')
    )
    (target,) = load_targets([], targets, chain=lambda _: None)

    def put(md5_of: bytes | None):
        headers = {"x-amz-server-side-encryption-customer-algorithm": "AES256"}
        headers["x-amz-server-side-encryption-customer-key"] = "**REDACTED**"
        if md5_of is not None:
            md5 = base64.b64encode(hashlib.md5(md5_of).digest()).decode()
            headers["x-amz-server-side-encryption-customer-key-MD5"] = md5
        request = make_request("PUT", "http://127.0.0.1:5000/b/k", headers, b"x")
        return make_exchange(1, request, service="s3", operation="PutObject", protocol="rest-xml")

    sent = dict(rebuild(put(second), target).headers)
    assert sent["x-amz-server-side-encryption-customer-key"] == encoded[1]
    with pytest.raises(NotReplayable, match="no SSE-C customer key with MD5"):
        rebuild(put(b"another key"), target)
    # Two keys and no MD5 recorded: which one was used is unknown, so none is guessed.
    with pytest.raises(NotReplayable):
        rebuild(put(None), target)
