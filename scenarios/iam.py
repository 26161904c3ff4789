"""IAM scenario: users, groups, managed and inline policies, roles, instance profiles, access keys and tags.

Everything lives under the path ``/compat-diff/`` so a leftover is easy to spot; nothing here is billable.
"""

from __future__ import annotations

import json

from _scenario import PREFIX, Scenario, client, expect_error, run

PATH = "/compat-diff/"
USER = f"{PREFIX}-user"
GROUP = f"{PREFIX}-group"
ROLE = f"{PREFIX}-role"
PROFILE = f"{PREFIX}-profile"
POLICY = f"{PREFIX}-read-buckets"

READ_BUCKETS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"}],
}
READ_BUCKETS_V2 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "*"}],
}
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def scenario(sc: Scenario) -> None:
    iam = client("iam")

    # Users.
    iam.create_user(UserName=USER, Path=PATH, Tags=[{"Key": "project", "Value": "compat-diff"}])
    sc.on_failure(iam.delete_user, UserName=USER)
    expect_error("EntityAlreadyExists", iam.create_user, UserName=USER, Path=PATH)
    iam.get_user(UserName=USER)
    expect_error("NoSuchEntity", iam.get_user, UserName=f"{PREFIX}-nobody")
    iam.list_users(PathPrefix=PATH)
    iam.tag_user(UserName=USER, Tags=[{"Key": "stage", "Value": "testing"}])
    iam.list_user_tags(UserName=USER)
    iam.untag_user(UserName=USER, TagKeys=["stage"])

    # Access keys (the secret in the answer never reaches a recording).
    key_id = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    sc.on_failure(iam.delete_access_key, UserName=USER, AccessKeyId=key_id)
    iam.list_access_keys(UserName=USER)
    iam.update_access_key(UserName=USER, AccessKeyId=key_id, Status="Inactive")
    iam.get_access_key_last_used(AccessKeyId=key_id)

    # Groups.
    iam.create_group(GroupName=GROUP, Path=PATH)
    sc.on_failure(iam.delete_group, GroupName=GROUP)
    iam.add_user_to_group(GroupName=GROUP, UserName=USER)
    sc.on_failure(iam.remove_user_from_group, GroupName=GROUP, UserName=USER)
    iam.get_group(GroupName=GROUP)
    iam.list_groups_for_user(UserName=USER)
    iam.list_groups(PathPrefix=PATH)

    # Managed policy with a second version, attached to the user and the group.
    expect_error(
        "MalformedPolicyDocument", iam.create_policy, PolicyName=f"{POLICY}-bad", PolicyDocument="{not json"
    )
    policy_arn = iam.create_policy(
        PolicyName=POLICY,
        Path=PATH,
        PolicyDocument=json.dumps(READ_BUCKETS),
        Description="compat-diff scenario",
    )["Policy"]["Arn"]
    sc.on_failure(iam.delete_policy, PolicyArn=policy_arn)
    iam.get_policy(PolicyArn=policy_arn)
    iam.create_policy_version(
        PolicyArn=policy_arn, PolicyDocument=json.dumps(READ_BUCKETS_V2), SetAsDefault=True
    )
    iam.list_policy_versions(PolicyArn=policy_arn)
    iam.get_policy_version(PolicyArn=policy_arn, VersionId="v2")
    iam.list_policies(Scope="Local", PathPrefix=PATH)
    iam.attach_user_policy(UserName=USER, PolicyArn=policy_arn)
    sc.on_failure(iam.detach_user_policy, UserName=USER, PolicyArn=policy_arn)
    iam.attach_group_policy(GroupName=GROUP, PolicyArn=policy_arn)
    sc.on_failure(iam.detach_group_policy, GroupName=GROUP, PolicyArn=policy_arn)
    iam.list_attached_user_policies(UserName=USER)
    iam.list_attached_group_policies(GroupName=GROUP)
    iam.list_entities_for_policy(PolicyArn=policy_arn)

    # Inline policy.
    iam.put_user_policy(UserName=USER, PolicyName="inline-read", PolicyDocument=json.dumps(READ_BUCKETS))
    sc.on_failure(iam.delete_user_policy, UserName=USER, PolicyName="inline-read")
    iam.get_user_policy(UserName=USER, PolicyName="inline-read")
    iam.list_user_policies(UserName=USER)
    expect_error("NoSuchEntity", iam.get_user_policy, UserName=USER, PolicyName="inline-missing")

    # A role for EC2 and its instance profile.
    iam.create_role(
        RoleName=ROLE, Path=PATH, AssumeRolePolicyDocument=json.dumps(EC2_TRUST), MaxSessionDuration=3600
    )
    sc.on_failure(iam.delete_role, RoleName=ROLE)
    iam.get_role(RoleName=ROLE)
    iam.update_role(RoleName=ROLE, Description="compat-diff scenario role")
    iam.list_roles(PathPrefix=PATH)
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=policy_arn)
    sc.on_failure(iam.detach_role_policy, RoleName=ROLE, PolicyArn=policy_arn)
    iam.list_attached_role_policies(RoleName=ROLE)
    iam.create_instance_profile(InstanceProfileName=PROFILE, Path=PATH)
    sc.on_failure(iam.delete_instance_profile, InstanceProfileName=PROFILE)
    iam.add_role_to_instance_profile(InstanceProfileName=PROFILE, RoleName=ROLE)
    sc.on_failure(iam.remove_role_from_instance_profile, InstanceProfileName=PROFILE, RoleName=ROLE)
    iam.get_instance_profile(InstanceProfileName=PROFILE)
    iam.list_instance_profiles_for_role(RoleName=ROLE)
    expect_error("DeleteConflict", iam.delete_role, RoleName=ROLE)

    # Cleanup, in dependency order; deleting a user that still has attachments must fail first.
    expect_error("DeleteConflict", iam.delete_user, UserName=USER)
    iam.remove_role_from_instance_profile(InstanceProfileName=PROFILE, RoleName=ROLE)
    iam.delete_instance_profile(InstanceProfileName=PROFILE)
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=policy_arn)
    iam.delete_role(RoleName=ROLE)
    iam.delete_user_policy(UserName=USER, PolicyName="inline-read")
    iam.detach_user_policy(UserName=USER, PolicyArn=policy_arn)
    iam.detach_group_policy(GroupName=GROUP, PolicyArn=policy_arn)
    iam.delete_policy_version(PolicyArn=policy_arn, VersionId="v1")
    iam.delete_policy(PolicyArn=policy_arn)
    iam.remove_user_from_group(GroupName=GROUP, UserName=USER)
    iam.delete_group(GroupName=GROUP)
    iam.delete_access_key(UserName=USER, AccessKeyId=key_id)
    iam.delete_user(UserName=USER)
    expect_error("NoSuchEntity", iam.delete_user, UserName=USER)


if __name__ == "__main__":
    run("iam", scenario)
