"""Recipe for MiniStack, an independently written AWS emulator (Python, MIT) serving many services on
one port, EC2 among them: the second independent EC2 implementation compat_diff can rate.

MiniStack pins botocore to one exact release, so it lives in a virtualenv of its own that
scripts/install-candidates.sh makes in ``.work/ministack`` (like LocalStack), never in the project's.
It binds every interface unless told otherwise: BIND_HOST keeps it on loopback. It does not verify
signatures (any key is accepted).
"""

from __future__ import annotations

import os
from pathlib import Path

from compat_diff.candidates.base import (
    INSTALL_HINT,
    CandidateSpec,
    Installed,
    LaunchContext,
    RunningCandidate,
    project_root,
)
from compat_diff.candidates.process import LOOPBACK
from compat_diff.errors import CannotRun

MINISTACK_VERSION = "1.5.33"
# The services of our recordings MiniStack serves (it has many more).
SERVICES = (
    "ec2", "s3", "sqs", "sns", "iam", "sts", "dynamodb", "kinesis", "cloudwatch", "logs", "ssm",
    "secretsmanager", "kms", "events",
)  # fmt: skip
ANY_KEY = "test"
ANY_SECRET = "test"


def ministack_python() -> Path | None:
    """The interpreter of MiniStack's own virtualenv, if the installer made one."""
    override = os.environ.get("COMPAT_DIFF_MINISTACK_PYTHON")
    options = [Path(override)] if override else []
    options += [Path.cwd() / ".work/ministack/bin/python", project_root() / ".work/ministack/bin/python"]
    for python in options:
        if python.is_file() and (
            override or list(python.parent.parent.glob("lib/python3*/site-packages/ministack"))
        ):
            return python
    return None


def _installed() -> Installed:
    if ministack_python() is None:
        return Installed(False, f"MiniStack is not installed in .work/ministack; {INSTALL_HINT}")
    return Installed(True)


def _launch(ctx: LaunchContext) -> RunningCandidate:
    python = ministack_python()
    if python is None:
        raise CannotRun(_installed().reason + ".")
    port = ctx.main_port()
    env = {
        "GATEWAY_PORT": str(port),
        "BIND_HOST": LOOPBACK,
        "MINISTACK_HOST": LOOPBACK,
        # its pid file goes to the temporary directory: keep it in the run's directory
        "TMPDIR": str(ctx.data_dir),
        "LOG_LEVEL": "WARNING",
    }
    ctx.spawn("ministack", [str(python), "-m", "ministack"], env=env)
    url = f"http://{LOOPBACK}:{port}"
    health = f"{url}/_ministack/health"
    ctx.wait_http(health, status=200)
    return ctx.running(
        endpoint=url, access_key=ANY_KEY, secret_key=ANY_SECRET, health_url=health, health_status=200
    )


MINISTACK = CandidateSpec(
    name="ministack",
    services=SERVICES,
    description=f"MiniStack {MINISTACK_VERSION}, an AWS emulator serving EC2, S3, SQS, SNS, IAM, STS, "
    "DynamoDB, Kinesis, CloudWatch and more on one port",
    launch=_launch,
    check_installed=_installed,
    start_timeout=60.0,
)
