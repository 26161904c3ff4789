"""Service names as users write them: botocore names, and the names other clouds give their services.

Eucalyptus serves each AWS API under ``/services/<Name>`` with names of its own (``compute`` for
EC2, ``Euare`` for IAM, ``Tokens`` for STS ...), and operators carry those names into their
configuration. They are accepted wherever a service is named (targets files) and mean the botocore
service listed here; anything else must be a botocore service name, and a misspelling is answered
with the closest valid names rather than silently ignored.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import cache

from compat_diff.aws.models import has_service, service_names

# Alias (compared case-insensitively) -> botocore service name.
SERVICE_ALIASES: Mapping[str, str] = {
    # Eucalyptus (/services/<name>)
    "compute": "ec2",
    "objectstorage": "s3",
    "walrus": "s3",
    "euare": "iam",
    "tokens": "sts",
    "cloudwatch": "cloudwatch",
    "autoscaling": "autoscaling",
    "loadbalancing": "elb",
    "cloudformation": "cloudformation",
    "simpleworkflow": "swf",
    # CloudStack's awsapi and older tools
    "awsapi": "ec2",
    "amazonec2": "ec2",
    "amazons3": "s3",
    # Common spellings of botocore names
    "monitoring": "cloudwatch",
    "elasticloadbalancing": "elb",
    "elasticloadbalancingv2": "elbv2",
}


def canonical_service(name: str) -> str | None:
    """The botocore service ``name`` means (itself, or what its alias stands for), or None."""
    if has_service(name):
        return name
    return SERVICE_ALIASES.get(name.strip().lower()) or _lowercase_names().get(name.strip().lower())


def closest_services(name: str, count: int = 3) -> list[str]:
    """The valid names (botocore names and aliases) most like ``name``, best first."""
    pool = {**{n: n for n in service_names()}, **SERVICE_ALIASES}
    return difflib.get_close_matches(name.strip().lower(), list(pool), n=count, cutoff=0.6)


def alias_for_path(path: str) -> str | None:
    """The service a path segment names when it is a known alias (``/services/Euare`` -> iam)."""
    for segment in reversed([part for part in path.split("/") if part]):
        service = SERVICE_ALIASES.get(segment.lower())
        if service is not None:
            return service
    return None


def alias_prefix(path: str, service: str) -> str | None:
    """The leading part of ``path`` that is an endpoint prefix naming ``service`` by an alias, if any.

    Eucalyptus serves S3 at ``/services/objectstorage``: in ``/services/objectstorage/bucket/key``
    the first two segments address the endpoint, not a bucket. Only the first two segments are
    looked at, and only aliases that are not botocore names themselves.
    """
    segments = path.split("/")
    for index in (1, 2):
        if index < len(segments):
            alias = segments[index].lower()
            if SERVICE_ALIASES.get(alias) == service and alias != service:
                return "/".join(segments[: index + 1])
    return None


@cache
def _lowercase_names() -> dict[str, str]:
    return {name.lower(): name for name in service_names()}
