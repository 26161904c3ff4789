"""The cleanup undoes more than Create/Delete pairs: it terminates instances, releases addresses,
deletes access keys by the id the candidate answered, detaches and removes what was attached or
added, newest first, and waits for instances to be terminated before their subnet and VPC go.

The recording is made through the recorder against one moto server and replayed against another
(real processes); list calls on the candidate show what is left.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from rich.console import Console

from compat_diff.aws.undo import answer_values, undo_of, undo_parameters
from compat_diff.replay.run import run_replay
from compat_diff.testing import run_cli

from .test_repeatable import ENV, _targets_file

TRUST = '{"Version": "2012-10-17", "Statement": []}'
POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'


def _record(moto_factory, boto_recorder) -> Path:
    reference = moto_factory()
    recorder = boto_recorder()

    recorder.set_session("iam")
    iam = recorder.client("iam", reference.url)
    iam.create_user(UserName="deployer")
    iam.create_access_key(UserName="deployer")
    policy = iam.create_policy(PolicyName="reader", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_user_policy(UserName="deployer", PolicyArn=policy)
    iam.put_user_policy(UserName="deployer", PolicyName="inline", PolicyDocument=POLICY)
    iam.create_role(RoleName="builder", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="builder", PolicyArn=policy)
    iam.put_role_policy(RoleName="builder", PolicyName="inline", PolicyDocument=POLICY)
    iam.create_instance_profile(InstanceProfileName="builder-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="builder-profile", RoleName="builder")

    recorder.set_session("ec2")
    ec2 = recorder.client("ec2", reference.url)
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    instance = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group]
    )["Instances"][0]["InstanceId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=instance)
    recorder.close()
    return recorder.writer.path


def _client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAREPLAYTARGET0001",
        aws_secret_access_key="replay-target-secret",
    )


def _holdings(endpoint: str) -> dict[str, list[str]]:
    """What the candidate holds that a recording like the one above can make."""
    iam, ec2 = _client("iam", endpoint), _client("ec2", endpoint)
    users = [user["UserName"] for user in iam.list_users()["Users"]]
    roles = [role["RoleName"] for role in iam.list_roles()["Roles"]]
    return {
        "users": users,
        "access_keys": [
            key["AccessKeyId"]
            for user in users
            for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        ],
        "user_policies": [
            f"{user}:{name}"
            for user in users
            for name in [
                *iam.list_user_policies(UserName=user)["PolicyNames"],
                *(
                    p["PolicyName"]
                    for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
                ),
            ]
        ],
        "roles": roles,
        "policies": [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
        "instance_profiles": [
            p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]
        ],
        "instances": [
            instance["InstanceId"]
            for reservation in ec2.describe_instances()["Reservations"]
            for instance in reservation["Instances"]
            if instance["State"]["Name"] != "terminated"
        ],
        "vpcs": [vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"]],
        "subnets": [subnet["SubnetId"] for subnet in ec2.describe_subnets()["Subnets"]],
        "gateways": [g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]],
        "groups": [group["GroupId"] for group in ec2.describe_security_groups()["SecurityGroups"]],
        "addresses": [address.get("AllocationId", "") for address in ec2.describe_addresses()["Addresses"]],
    }


def _replay(recording: Path, targets: Path, run: Path, keep_resources: bool) -> int:
    return run_replay(
        recording,
        [],
        targets,
        False,
        run,
        console=Console(stderr=True),
        env=ENV,
        keep_resources=keep_resources,
    )


def test_the_cleanup_undoes_attachments_keys_instances_and_addresses(tmp_path, moto_factory, boto_recorder):
    recording = _record(moto_factory, boto_recorder)
    backend = moto_factory()
    targets = _targets_file(tmp_path / "targets.toml", backend.url, ["cloud"])
    before = _holdings(backend.url)

    # Kept first: the candidate holds everything the recording made, under run-scoped names.
    status = _replay(recording, targets, tmp_path / "run", keep_resources=True)
    assert status == 0
    kept = _holdings(backend.url)
    for kind in before:
        assert len(kept[kind]) > len(before[kind]), (kind, kept[kind])

    result = run_cli("cleanup", str(tmp_path / "run"), "--targets", str(targets), env=ENV)
    assert result.returncode == 0, result.stderr
    assert _holdings(backend.url) == before
    calls = [json.loads(line) for line in (tmp_path / "run" / "targets" / "cloud" / "cleanup.jsonl").open()]
    order = [call["operation"] for call in calls]
    # Newest first: what was attached or added goes before what it was attached to.
    for earlier, later in (
        ("DisassociateAddress", "ReleaseAddress"),
        ("ReleaseAddress", "TerminateInstances"),
        ("TerminateInstances", "DescribeInstances"),
        ("DescribeInstances", "DeleteSubnet"),
        ("DeleteSecurityGroup", "DeleteSubnet"),
        ("DeleteSubnet", "DeleteVpc"),
        ("DetachInternetGateway", "DeleteInternetGateway"),
        ("DeleteInternetGateway", "DeleteVpc"),
        ("RemoveRoleFromInstanceProfile", "DeleteInstanceProfile"),
        ("DeleteRolePolicy", "DetachRolePolicy"),
        ("DetachRolePolicy", "DeleteRole"),
        ("DeleteUserPolicy", "DetachUserPolicy"),
        ("DetachUserPolicy", "DeletePolicy"),
        ("DetachUserPolicy", "DeleteAccessKey"),
        ("DeleteAccessKey", "DeleteUser"),
    ):
        assert order.index(earlier) < order.index(later), (earlier, later, order)
    # The waiter saw the instance terminated before the subnet went.
    polls = [call for call in calls if call["operation"] == "DescribeInstances"]
    assert polls and all(call["status"] == 200 for call in polls)
    assert all(call["status"] is not None and call["status"] < 300 for call in calls), [
        call for call in calls if call["status"] is None or call["status"] >= 300
    ]
    # The access key deleted is the one the candidate handed out, not the recorded one.
    created = json.loads((tmp_path / "run" / "targets" / "cloud" / "names.json").read_text())["created"]
    key = next(entry for entry in created if entry["delete"] == "DeleteAccessKey")["params"]["AccessKeyId"]
    assert key in kept["access_keys"]
    recorded = next(line for line in recording.read_text().splitlines() if '"CreateAccessKey"' in line)
    assert key not in recorded

    # Run again, nothing is left to undo: every resource is reported gone, nothing failed.
    again = run_cli("cleanup", str(tmp_path / "run"), "--targets", str(targets), env=ENV)
    assert again.returncode == 0, again.stderr
    assert "already gone" in again.stderr and "could not be deleted" not in again.stderr, again.stderr
    assert _holdings(backend.url) == before


def test_the_run_cleans_up_by_itself(tmp_path, moto_factory, boto_recorder):
    recording = _record(moto_factory, boto_recorder)
    backend = moto_factory()
    targets = _targets_file(tmp_path / "targets.toml", backend.url, ["cloud"])
    before = _holdings(backend.url)
    status = _replay(recording, targets, tmp_path / "run", keep_resources=False)
    assert status == 0
    assert _holdings(backend.url) == before
    cleanup = json.loads((tmp_path / "run" / "run.json").read_text())["cleanup"]["cloud"]
    assert cleanup["failed"] == [] and cleanup["skipped"] == [], cleanup


def test_a_user_holding_a_policy_the_recording_did_not_make_is_reported_not_forced(
    tmp_path, moto_factory, boto_recorder
):
    reference = moto_factory()
    recorder = boto_recorder()
    iam = recorder.client("iam", reference.url)
    iam.create_user(UserName="deployer")
    iam.create_access_key(UserName="deployer")
    recorder.close()
    backend = moto_factory()
    targets = _targets_file(tmp_path / "targets.toml", backend.url, ["cloud"])
    _replay(recorder.writer.path, targets, tmp_path / "run", keep_resources=True)
    user = json.loads((tmp_path / "run" / "targets" / "cloud" / "names.json").read_text())["names"][0]["sent"]
    # Given outside the recording: the cleanup does not remove it, so the user stays.
    _client("iam", backend.url).put_user_policy(UserName=user, PolicyName="outside", PolicyDocument=POLICY)

    result = run_cli("cleanup", str(tmp_path / "run"), "--targets", str(targets), env=ENV)
    assert result.returncode == 1
    assert "could not be deleted (DeleteUser" in result.stderr and "DeleteConflict" in result.stderr
    iam_target = _client("iam", backend.url)
    assert iam_target.list_user_policies(UserName=user)["PolicyNames"] == ["outside"]
    # The recording's own key went; the user's failed delete is not excused by it.
    assert iam_target.list_access_keys(UserName=user)["AccessKeyMetadata"] == []
    assert "1 deleted" in result.stderr
    assert user in [entry["UserName"] for entry in iam_target.list_users()["Users"]]


def test_undo_parameters_come_from_the_request_and_the_answer_by_member_name():
    run = undo_of("ec2", "RunInstances")
    assert run is not None and (run.undo, run.waiter) == ("TerminateInstances", "InstanceTerminated")
    answer = {"ReservationId": "r-1", "Instances": [{"InstanceId": "i-1"}, {"InstanceId": "i-2"}]}
    assert undo_parameters(run, {"ImageId": "ami-1"}, answer) == ({"InstanceIds": ["i-1", "i-2"]}, [])

    policy = undo_of("iam", "CreatePolicy")
    assert policy is not None
    assert answer_values({"Policy": {"Arn": "arn:p", "PolicyName": "x"}}, "PolicyArn") == ["arn:p"]
    assert undo_parameters(policy, {"PolicyName": "x"}, {"Policy": {"Arn": "arn:p"}}) == (
        {"PolicyArn": "arn:p"},
        [],
    )

    key = undo_of("iam", "CreateAccessKey")
    assert key is not None
    params = undo_parameters(key, {"UserName": "u"}, {"AccessKey": {"AccessKeyId": "AKIA1", "UserName": "u"}})
    assert params == ({"AccessKeyId": "AKIA1", "UserName": "u"}, [])

    # An undo that requires nothing is named by the ids the answer gave, not by everything it said.
    address = undo_of("ec2", "AllocateAddress")
    assert address is not None and address.undo == "ReleaseAddress"
    answer = {"AllocationId": "eipalloc-1", "PublicIp": "1.2.3.4"}
    assert undo_parameters(address, {"Domain": "vpc"}, answer) == (
        {"AllocationId": "eipalloc-1"},
        [],
    )
    profile = undo_of("iam", "AddRoleToInstanceProfile")
    assert profile is not None and profile.undo == "RemoveRoleFromInstanceProfile"
    assert undo_of("iam", "GetUser") is None
    assert undo_of("sqs", "SendMessage") is None
    missing = undo_of("iam", "DeleteUser")
    assert missing is None


def test_a_change_to_something_that_existed_before_is_left(tmp_path, moto_factory, boto_recorder):
    """A policy the recording put on a user it did not create is not deleted: whether it was there
    before the run cannot be told."""
    reference = moto_factory()
    _client("iam", reference.url).create_user(UserName="existing")
    recorder = boto_recorder()
    iam = recorder.client("iam", reference.url)
    iam.get_user(UserName="existing")
    iam.put_user_policy(UserName="existing", PolicyName="inline", PolicyDocument=POLICY)
    recorder.close()

    backend = moto_factory()
    _client("iam", backend.url).create_user(UserName="existing")
    targets = _targets_file(tmp_path / "targets.toml", backend.url, ["cloud"])
    status = _replay(recorder.writer.path, targets, tmp_path / "run", keep_resources=False)
    assert status == 0
    names = json.loads((tmp_path / "run" / "targets" / "cloud" / "names.json").read_text())
    assert names["created"] == []
    assert _client("iam", backend.url).list_user_policies(UserName="existing")["PolicyNames"] == ["inline"]


@pytest.mark.live
def test_ministack_is_left_as_it_was(tmp_path, moto_factory, boto_recorder):
    """The same scenario against a real MiniStack: every undo succeeds and its lists are as before."""
    from compat_diff import candidates

    recording = _record(moto_factory, boto_recorder)
    ministack = candidates.start("ministack", tmp_path / "ministack")
    try:
        targets = _targets_file(tmp_path / "targets.toml", ministack.endpoint, ["ministack"])
        before = _holdings(ministack.endpoint)
        status = _replay(recording, targets, tmp_path / "run", keep_resources=False)
        assert status == 0
        cleanup = json.loads((tmp_path / "run" / "run.json").read_text())["cleanup"]["ministack"]
        assert cleanup["failed"] == [] and cleanup["skipped"] == [] and cleanup["deleted"] == 18, cleanup
        assert _holdings(ministack.endpoint) == before
    finally:
        candidates.stop(ministack)
