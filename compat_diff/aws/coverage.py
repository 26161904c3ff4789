"""What each service's API model offers, to measure which operations a recording exercised."""

from __future__ import annotations

from compat_diff.aws.models import service_model


def operations_of(service: str) -> list[str]:
    """Every operation of ``service`` as its botocore model names it, sorted."""
    return sorted(service_model(service).operation_names)
