"""The generated suite, offline: deterministic files, dependencies found from the model, the
invalid variants each operation gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compat_diff.aws.models import service_model
from compat_diff.errors import InputError
from compat_diff.generate.plan import plan_service
from compat_diff.generate.run import RUNNER_NAME, read_suite, run_generate
from compat_diff.testing import run_cli


def _operation(service: str, name: str, seed: int = 0) -> dict[str, Any]:
    plan = plan_service(service_model(service), seed)
    return next(op for op in plan["operations"] if op["operation"] == name)


def test_the_same_seed_gives_the_same_files_byte_for_byte(tmp_path: Path) -> None:
    first = run_generate(("s3", "sqs", "ec2"), tmp_path / "one", seed=7)
    second = run_generate(("s3", "sqs", "ec2"), tmp_path / "two", seed=7)
    assert [item.path.name for item in first] == ["s3.suite.json", "sqs.suite.json", "ec2.suite.json"]
    for one, two in zip(first, second, strict=True):
        assert one.path.read_bytes() == two.path.read_bytes()
    other = run_generate(("s3",), tmp_path / "three", seed=8)
    assert other[0].path.read_bytes() != first[0].path.read_bytes()
    assert (tmp_path / "one" / RUNNER_NAME).is_file()


def test_every_operation_of_the_model_gets_a_valid_request_last(tmp_path: Path) -> None:
    run_generate(("kms",), tmp_path, seed=0)
    suite = read_suite(tmp_path / "kms.suite.json")
    assert suite["format"] == "compat-diff/generated-suite" and suite["service"] == "kms"
    assert sorted(op["operation"] for op in suite["operations"]) == sorted(
        service_model("kms").operation_names
    )
    for op in suite["operations"]:
        assert op["session"] == f"generated/kms/{op['operation']}"
        assert op["cases"][-1]["step"] == "valid"


def test_a_bucket_is_created_before_and_deleted_after_an_object_call() -> None:
    op = _operation("s3", "PutObject")
    assert [call["operation"] for call in op["setup"]] == ["CreateBucket"]
    assert [call["operation"] for call in op["teardown"]] == ["DeleteBucket"]
    bucket = op["setup"][0]["params"]["Bucket"]
    assert op["cases"][-1]["params"] == {"Bucket": bucket, "Key": op["cases"][-1]["params"]["Key"]}
    assert op["teardown"][0]["params"] == {"Bucket": bucket}


def test_a_name_the_model_makes_optional_still_names_what_the_session_created() -> None:
    # Kinesis takes StreamName or StreamARN, both optional: the valid request names the stream
    # its session created, or it would only ever test "stream not found".
    op = _operation("kinesis", "DescribeStream")
    assert [call["operation"] for call in op["setup"]] == ["CreateStream"]
    assert [call["operation"] for call in op["teardown"]] == ["DeleteStream"]
    stream = op["setup"][0]["params"]["StreamName"]
    assert op["cases"][-1]["params"] == {"StreamName": stream}
    # An operation that already names its resource by a required member gets nothing more.
    put = _operation("s3", "PutObject")
    assert sorted(put["cases"][-1]["params"]) == ["Bucket", "Key"]
    # Nor does an operation whose optional members name nothing the model creates.
    assert _operation("kinesis", "ListStreams")["cases"][-1]["params"] == {}


def test_an_upload_part_opens_and_aborts_its_multipart_upload() -> None:
    op = _operation("s3", "UploadPart")
    assert [call["operation"] for call in op["setup"]] == ["CreateBucket", "CreateMultipartUpload"]
    assert [call["operation"] for call in op["teardown"]] == ["AbortMultipartUpload", "DeleteBucket"]
    upload_id = op["cases"][-1]["params"]["UploadId"]
    assert upload_id["$ref"] == 1 and upload_id["path"] == "UploadId"


def test_ids_the_server_generates_are_read_from_the_creating_answer() -> None:
    op = _operation("ec2", "CreateNetworkInterface")
    assert [call["operation"] for call in op["setup"]] == ["CreateVpc", "CreateSubnet"]
    subnet_call = op["setup"][1]
    assert subnet_call["params"]["VpcId"] == {
        "$ref": 0,
        "path": "Vpc.VpcId",
        "fallback": subnet_call["params"]["VpcId"]["fallback"],
    }
    assert op["cases"][-1]["params"]["SubnetId"]["path"] == "Subnet.SubnetId"
    assert [call["operation"] for call in op["teardown"]] == ["DeleteSubnet", "DeleteVpc"]
    queue = _operation("sqs", "SendMessage")
    assert queue["cases"][-1]["params"]["QueueUrl"]["path"] == "QueueUrl"
    instance = _operation("ec2", "StopInstances")
    assert instance["cases"][-1]["params"]["InstanceIds"][0]["path"] == "Instances.0.InstanceId"
    assert [call["operation"] for call in instance["teardown"]] == ["TerminateInstances"]


def test_the_invalid_variants_of_an_operation() -> None:
    op = _operation("logs", "PutLogEvents")
    steps = [case["step"] for case in op["cases"]]
    for expected in (
        "missing:logGroupName",
        "missing:logStreamName",
        "missing:logEvents",
        "type:logGroupName",
        "too-long:logGroupName",
        "too-short:logGroupName",
        "pattern:logGroupName",
        "empty-list:logEvents",
        "unknown-member",
    ):
        assert expected in steps
    cases = {case["step"]: case for case in op["cases"]}
    assert "logGroupName" not in cases["missing:logGroupName"]["params"]
    assert len(cases["too-long:logGroupName"]["params"]["logGroupName"]) == 513
    assert cases["empty-list:logEvents"]["params"]["logEvents"] == []
    assert cases["unknown-member"]["inject"] == {"CompatDiffUnknownMember": "x"}
    enum = _operation("dynamodb", "CreateTable")
    enum_cases = {case["step"]: case for case in enum["cases"]}
    assert enum_cases["enum:BillingMode"]["params"]["BillingMode"] == "CompatDiffNotAValidValue"
    ranged = {case["step"]: case for case in _operation("logs", "DescribeLogGroups")["cases"]}
    assert ranged["range:limit"]["params"]["limit"] == 0  # its minimum is 1


def test_the_valid_request_satisfies_lengths_and_patterns() -> None:
    import re

    model = service_model("logs")
    op = _operation("logs", "CreateLogGroup")
    name_shape = model.operation_model("CreateLogGroup").input_shape.members["logGroupName"]
    value = op["cases"][-1]["params"]["logGroupName"]
    assert re.fullmatch(name_shape.metadata["pattern"], value)
    assert name_shape.metadata["min"] <= len(value) <= name_shape.metadata["max"]


def test_an_unknown_service_is_refused_with_the_closest_names(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="did you mean"):
        run_generate(("sqss",), tmp_path, seed=0)
    result = run_cli("generate", "sqss", "--out", str(tmp_path / "x"))
    assert result.returncode == 2
    assert "unknown service 'sqss'" in result.stderr and "Traceback" not in result.stderr


def test_the_command_prints_what_it_wrote(tmp_path: Path) -> None:
    result = run_cli("generate", "sts", "--out", str(tmp_path), "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "sts:" in result.stdout and "run_suite.py" in result.stdout
    assert json.loads((tmp_path / "sts.suite.json").read_text())["header"]["seed"] == 3
