"""Targets: service names checked against botocore with the Eucalyptus/CloudStack aliases, per-service
credentials and recorded prefixes, `--profile`/`--region` and endpoints from the AWS CLI's own
configuration; the worked targets files in the docs load as written.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compat_diff.errors import TargetError
from compat_diff.model import Auth
from compat_diff.recording import RecordingWriter
from compat_diff.replay.retarget import rebuild
from compat_diff.replay.targets import load_targets
from compat_diff.testing import make_exchange, make_request, run_cli

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _load(tmp_path: Path, toml: str, **kwargs):
    path = tmp_path / "targets.toml"
    path.write_text(toml)
    return load_targets([], path, chain=lambda _: None, **kwargs)


def test_eucalyptus_and_cloudstack_names_are_aliases_of_botocore_services(tmp_path: Path) -> None:
    (target,) = _load(
        tmp_path,
        '[target.euca]\nendpoint = "http://127.0.0.1:8773/services/compute"\n'
        'services = ["compute", "objectstorage", "Euare", "Tokens", "CloudWatch", "AutoScaling", '
        '"LoadBalancing", "sqs"]\n'
        "[target.euca.endpoints]\n"
        'compute = "http://127.0.0.1:8773/services/compute"\n'
        'Euare = "http://127.0.0.1:8773/services/Euare"\n'
        'Tokens = "http://127.0.0.1:8773/services/Tokens"\n'
        'LoadBalancing = "http://127.0.0.1:8773/services/LoadBalancing"\n',
    )
    assert target.services == {"ec2", "s3", "iam", "sts", "cloudwatch", "autoscaling", "elb", "sqs"}
    assert target.endpoint_for("iam") == "http://127.0.0.1:8773/services/Euare"
    assert target.endpoint_for("sts") == "http://127.0.0.1:8773/services/Tokens"
    assert target.endpoint_for("elb") == "http://127.0.0.1:8773/services/LoadBalancing"
    assert target.serves("ec2") and not target.serves("dynamodb")


@pytest.mark.parametrize(
    ("where", "written", "suggested"),
    [("endpoints", "ec3", "ec2"), ("endpoints", "Euaer", "euare"), ("services", "cloudwach", "cloudwatch")],
)
def test_a_misspelled_service_exits_2_with_the_closest_names(tmp_path, where, written, suggested) -> None:
    recording = tmp_path / "rec.jsonl"
    with RecordingWriter(recording) as writer:
        writer.write(make_exchange(1, make_request("GET", "http://127.0.0.1:5000/"), service="s3"))
    body = (
        f'[target.t.endpoints]\n{written} = "http://127.0.0.1:1/x"\n'
        if where == "endpoints"
        else f'services = ["{written}"]\n'
    )
    targets = tmp_path / "t.toml"
    targets.write_text(f'[target.t]\nendpoint = "http://127.0.0.1:1"\n{body}')
    result = run_cli("replay", str(recording), "--targets", str(targets), "--out", str(tmp_path / "run"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{written!r} is not an AWS service name nor a known alias" in result.stderr
    assert suggested in result.stderr
    assert not (tmp_path / "run").exists()


def test_two_names_for_one_service_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="names ec2 twice"):
        _load(
            tmp_path,
            '[target.t]\nendpoint = "http://127.0.0.1:1"\n[target.t.endpoints]\n'
            'ec2 = "http://127.0.0.1:1/a"\ncompute = "http://127.0.0.1:1/b"\n',
        )


def _query_call(path: str = "/services/Euare/") -> object:
    form = "Action=ListUsers&Version=2010-05-08&AWSAccessKeyId=AKIAREC&SignatureVersion=2&Signature=x"
    request = make_request(
        "POST",
        f"http://euca.example.test:8773{path}",
        headers=[("Host", "euca.example.test:8773"), ("Content-Type", "application/x-www-form-urlencoded")],
        body=form.encode(),
    )
    return make_exchange(
        1,
        request,
        service="iam",
        operation="ListUsers",
        protocol="query",
        auth=Auth("sigv2-query", "AKIAREC"),
    )


def test_an_endpoint_with_its_own_keys_signs_that_service_only(tmp_path: Path) -> None:
    (target,) = _load(
        tmp_path,
        '[target.t]\nendpoint = "http://127.0.0.1:1"\naccess_key = "DEFAULT"\nsecret_key = "s"\n'
        "[target.t.endpoints]\n"
        'Euare = { url = "http://127.0.0.1:1/iam", access_key = "IAMKEY", secret_key_env = "IAM_SECRET" }\n',
        env={"IAM_SECRET": "iam-secret"},
    )
    assert target.credentials_for("AKIAREC", "iam").access_key == "IAMKEY"
    assert target.credentials_for("AKIAREC", "ec2").access_key == "DEFAULT"
    out = rebuild(_query_call(), target)
    assert b"AWSAccessKeyId=IAMKEY" in out.body
    assert out.url == "http://127.0.0.1:1/iam/"
    described = target.describe()
    assert described["service_credentials"] == {"iam": "IAMKEY"}
    assert "iam-secret" not in repr(described)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{ access_key = "k", secret_key = "s" }', "url is missing"),
        ('{ url = "http://127.0.0.1:1", color = "red" }', "color is not a known key"),
        ('{ url = "http://127.0.0.1:1", recorded_prefix = "services" }', "must be a path starting with /"),
        ('{ url = "http://127.0.0.1:1", access_key = "k" }', "secret_key_env (or secret_key) is missing"),
        ("3", "must be a URL or a table"),
    ],
)
def test_endpoint_table_mistakes_name_the_key(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(TargetError, match=re.escape(message)):
        _load(tmp_path, f'[target.t]\nendpoint = "http://127.0.0.1:1"\n[target.t.endpoints]\ns3 = {entry}\n')


def test_query_calls_move_from_the_recorded_prefix_to_the_targets(tmp_path: Path) -> None:
    with_prefix, without = _load(
        tmp_path,
        '[target.a]\nendpoint = "http://127.0.0.1:1/v2"\n[target.b]\nendpoint = "http://127.0.0.1:2"\n',
    )
    assert rebuild(_query_call(), with_prefix).url == "http://127.0.0.1:1/v2/"
    assert rebuild(_query_call("/services/Euare"), without).url == "http://127.0.0.1:2/"


def test_rest_calls_need_the_recorded_prefix_declared_unless_it_names_the_service(tmp_path: Path) -> None:
    declared, undeclared = _load(
        tmp_path,
        '[target.a]\nendpoint = "http://127.0.0.1:1"\n'
        '[target.a.endpoints]\ns3 = { url = "http://127.0.0.1:1/walrus", recorded_prefix = "/cloud/s3api" }\n'
        '[target.b]\nendpoint = "http://127.0.0.1:2"\n',
    )

    def get(seq: int, path: str) -> object:
        request = make_request("GET", f"http://cloud.example.test:8773{path}")
        return make_exchange(seq, request, service="s3", operation="GetObject", protocol="rest-xml")

    assert (
        rebuild(get(1, "/cloud/s3api/bucket/key.txt"), declared).url
        == "http://127.0.0.1:1/walrus/bucket/key.txt"
    )
    # Undeclared, "/cloud/s3api/..." may as well be bucket "cloud", key "s3api/...": kept whole.
    assert rebuild(get(2, "/cloud/s3api/bucket/key.txt"), undeclared).url == (
        "http://127.0.0.1:2/cloud/s3api/bucket/key.txt"
    )
    # Only whole segments are a prefix.
    assert rebuild(get(3, "/cloud/s3apix/key"), declared).url == "http://127.0.0.1:1/walrus/cloud/s3apix/key"
    # A prefix naming S3 by its alias (Eucalyptus) needs no declaration.
    assert rebuild(get(4, "/services/objectstorage/bucket/key.txt"), undeclared).url == (
        "http://127.0.0.1:2/bucket/key.txt"
    )


AWS_CONFIG = """
[default]
region = us-west-2

[profile euca]
region = eucalyptus
endpoint_url = http://127.0.0.1:8773/services/compute
services = euca-services

[services euca-services]
iam =
  endpoint_url = http://127.0.0.1:8773/services/Euare
elastic_load_balancing =
  endpoint_url = http://127.0.0.1:8773/services/LoadBalancing
"""


def test_target_from_the_aws_cli_configuration(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(AWS_CONFIG)
    env = {"AWS_CONFIG_FILE": str(config), "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:8773/services/Tokens"}
    asked: list[str | None] = []

    def chain(profile):
        asked.append(profile)

    (target,) = load_targets(["euca"], None, env=env, chain=chain, profile="euca")
    assert target.endpoint == "http://127.0.0.1:8773/services/compute"
    assert dict(target.endpoints) == {
        "iam": "http://127.0.0.1:8773/services/Euare",
        "elb": "http://127.0.0.1:8773/services/LoadBalancing",
        "sts": "http://127.0.0.1:8773/services/Tokens",
    }
    assert target.region == "eucalyptus"
    assert asked == ["euca"]  # the profile's keys sign


def test_a_global_endpoint_variable_outranks_the_config_services_section(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(AWS_CONFIG)
    env = {"AWS_CONFIG_FILE": str(config), "AWS_ENDPOINT_URL": "http://127.0.0.1:9999", "AWS_PROFILE": "euca"}
    (target,) = load_targets(["euca"], None, env=env, chain=lambda _: None, region="r9")
    assert target.endpoint == "http://127.0.0.1:9999" and dict(target.endpoints) == {}
    assert target.region == "r9"  # --region wins over the profile's


def test_profile_and_region_apply_to_url_targets_as_in_the_aws_cli(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(AWS_CONFIG)
    env = {"AWS_CONFIG_FILE": str(config)}
    (plain,) = load_targets(["t=http://127.0.0.1:1"], None, env=env, chain=lambda _: None)
    assert plain.region is None  # each call keeps its recorded region
    (profiled,) = load_targets(["t=http://127.0.0.1:1"], None, env=env, chain=lambda _: None, profile="euca")
    assert profiled.region == "eucalyptus" and profiled.endpoints == {}
    (regioned,) = load_targets(["t=http://127.0.0.1:1"], None, env=env, chain=lambda _: None, region="r2")
    assert regioned.region == "r2"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "has no URL and the AWS CLI configuration names no endpoint"),
        (
            {"AWS_ENDPOINT_URL_NOSUCHSERVICE": "http://127.0.0.1:1"},
            "AWS_ENDPOINT_URL_NOSUCHSERVICE names no AWS service",
        ),
        ({"AWS_PROFILE": "missing"}, "AWS profile 'missing' is not configured"),
        ({"AWS_ENDPOINT_URL": "ftp://x"}, "must be an http:// or https:// URL"),
    ],
)
def test_aws_cli_configuration_mistakes_are_one_sentence(tmp_path: Path, env, message) -> None:
    config = tmp_path / "config"
    config.write_text(AWS_CONFIG)
    with pytest.raises(TargetError, match=re.escape(message)):
        load_targets(["t"], None, env={"AWS_CONFIG_FILE": str(config), **env}, chain=lambda _: None)


def test_cli_takes_profile_and_region(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(AWS_CONFIG)
    recording = tmp_path / "rec.jsonl"
    with RecordingWriter(recording) as writer:
        writer.write(make_exchange(1, make_request("GET", "http://127.0.0.1:5000/"), service="s3"))
    result = run_cli(
        "replay",
        str(recording),
        "--target",
        "t",
        "--profile",
        "nope",
        "--out",
        str(tmp_path / "run"),
        env={"AWS_CONFIG_FILE": str(config), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2 and "AWS profile 'nope' is not configured" in result.stderr


@pytest.mark.parametrize("page", ["private-clouds.md", "replay.md"])
def test_the_worked_targets_files_in_the_docs_load(page: str, tmp_path: Path) -> None:
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert blocks
    # An SSE-C key is checked to be base64 ("c2VjcmV0" is "secret").
    env = {
        name: "c2VjcmV0" if "SSE" in name else "secret" for name in re.findall(r'_env = "(\w+)"', text)
    }
    for index, block in enumerate(blocks):
        path = tmp_path / f"{index}.toml"
        path.write_text(block)
        assert load_targets([], path, env=env, chain=lambda _: None)
