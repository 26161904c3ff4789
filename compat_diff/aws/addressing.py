"""Bucket addressing, as the service model describes it: whether a service names a bucket in its
request paths (``/{Bucket}/...``, so it may also travel in the host name, virtual-hosted style), and
the one parser of a bucket out of a host name, used both to identify a recorded call and to rebuild
it for a target.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache

from compat_diff.aws.models import has_service, service_meta, service_model

_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# Host names that are an endpoint themselves, never a bucket in front of one.
_NOT_BUCKETS = frozenset({"s3", "www"})
_LOCALSTACK = ".localhost.localstack.cloud"


@cache
def bucket_addressed(service: str | None) -> bool:
    """Whether ``service``'s model addresses buckets in request paths (``requestUri: /{Bucket}...``)."""
    if not service or not has_service(service):
        return False
    model = service_model(service)
    return any(
        model.operation_model(name).http.get("requestUri", "/").startswith("/{Bucket}")
        for name in model.operation_names
    )


def bucket_from_host(host: str, service: str = "s3", known_hosts: Iterable[str] = ()) -> str | None:
    """The bucket a virtual-hosted-style host names (``photos.s3.amazonaws.com`` -> ``photos``), if any.

    ``host`` may carry a port. A host that ends in one of ``known_hosts`` (an endpoint the user
    named, ``host`` or ``host:port``) names the bucket in front of it. Otherwise the bucket is what
    stands before the service's endpoint label (``s3``, ``s3-us-west-2``, ``s3-accesspoint``, S3
    Express's ``s3express-usw2-az1``), which also covers S3-compatible services served as
    ``<bucket>.s3.<their domain>``, or before ``localhost`` / LocalStack's ``localhost.localstack.cloud``.
    """
    host = host.rsplit("@", 1)[-1].lower().rstrip(".")
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if not hostname or _IPV4.match(hostname) or ":" in hostname:
        return None
    for known in known_hosts:
        known = known.lower()
        for candidate in (host, hostname):
            if candidate.endswith("." + known):
                return _bucket(candidate[: -len(known) - 1])
    return _by_label(hostname, _endpoint_prefix(service))


@lru_cache(maxsize=4096)
def _by_label(hostname: str, prefix: str) -> str | None:
    labels = hostname.split(".")
    for index, label in enumerate(labels):
        if index > 0 and (label == prefix or label.startswith((prefix + "-", prefix + "express-"))):
            return _bucket(".".join(labels[:index]))
    if hostname.endswith(_LOCALSTACK):
        return _bucket(hostname[: -len(_LOCALSTACK)])
    if len(labels) > 1 and labels[-1] == "localhost":
        return _bucket(".".join(labels[:-1]))
    return None


def _bucket(name: str) -> str | None:
    return name if name and name not in _NOT_BUCKETS else None


def _endpoint_prefix(service: str) -> str:
    return service_meta(service).endpoint_prefix if has_service(service) else service
