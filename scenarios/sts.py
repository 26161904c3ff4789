"""STS scenario: who am I, session and federation tokens, and assuming a role created for the purpose.

The assumed credentials are never used for further calls: a replay could not map them to the
candidate's own temporary credentials, so every call here is made by the caller's own principal.
"""

from __future__ import annotations

import json

from _scenario import PREFIX, Scenario, client, expect_error, run, settle

ROLE = f"{PREFIX}-sts-role"


def scenario(sc: Scenario) -> None:
    sts = client("sts")
    iam = client("iam")

    identity = sts.get_caller_identity()
    account = identity["Account"]
    sts.get_access_key_info(AccessKeyId="AKIAIOSFODNN7EXAMPLE")
    sts.get_session_token(DurationSeconds=900)
    sts.get_federation_token(
        Name="compat-diff",
        DurationSeconds=900,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
            }
        ),
    )

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    sc.on_failure(iam.delete_role, RoleName=ROLE)
    settle(10)  # a new role takes a few seconds before AWS lets anyone assume it
    sts.assume_role(RoleArn=role_arn, RoleSessionName="compat-diff-session", DurationSeconds=900)
    sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName="compat-diff-tagged",
        DurationSeconds=900,
        Tags=[{"Key": "project", "Value": "compat-diff"}],
    )
    expect_error(
        "ValidationError",
        sts.assume_role,
        RoleArn=role_arn,
        RoleSessionName="compat-diff-" + "x" * 60,  # over the 64 characters a session name may have
        DurationSeconds=900,
    )
    expect_error(
        "ValidationError",
        sts.assume_role,
        moto_accepts=True,
        RoleArn=role_arn,
        RoleSessionName="not allowed!",
        DurationSeconds=900,
    )
    iam.delete_role(RoleName=ROLE)


if __name__ == "__main__":
    run("sts", scenario)
