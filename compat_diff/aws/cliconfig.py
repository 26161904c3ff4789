"""Endpoints, region and profile as the AWS CLI's own configuration gives them.

An operator who already points the AWS CLI at a private cloud has said everything a target needs:
``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, and a profile's ``endpoint_url``, ``region``
and ``services`` section in the config file. This module reads them with the precedence the SDKs
document (service variable, global variable, service entry of the config, global entry of the
config) and names services by botocore name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.configloader
import botocore.exceptions

from compat_diff.aws.models import service_meta, service_names

_ENV_PREFIX = "AWS_ENDPOINT_URL_"


@dataclass(frozen=True)
class CliConfiguration:
    """What the AWS CLI would use: default endpoint, per-service endpoints (botocore names), region."""

    profile: str | None
    endpoint: str | None = None
    endpoints: Mapping[str, str] = field(default_factory=dict)
    region: str | None = None


def config_key(service: str) -> str:
    """The key the SDKs give ``service`` in a ``services`` section (``elastic_load_balancing``)."""
    return service_meta(service).service_id.replace(" ", "_").replace("-", "_").lower()


@cache
def _services_by_key() -> dict[str, str]:
    index: dict[str, str] = {}
    for service in service_names():
        # The first (alphabetical) botocore name wins where two share a service id.
        index.setdefault(config_key(service), service)
    return index


def service_for_config_key(key: str) -> str | None:
    return _services_by_key().get(key.strip().lower().replace("-", "_"))


def read_cli_configuration(profile: str | None, env: Mapping[str, str] | None = None) -> CliConfiguration:
    """The AWS CLI's endpoints and region for ``profile`` (else ``AWS_PROFILE``, else ``default``).

    Raises ``LookupError`` with a sentence when a named profile or services section is missing or
    the config file cannot be read.
    """
    env = os.environ if env is None else env
    config = _load_config(env)
    profiles: dict[str, Any] = config.get("profiles", {})
    name = profile or env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or None
    if name is not None and name not in profiles:
        raise LookupError(f"AWS profile {name!r} is not configured")
    section: dict[str, Any] = profiles.get(name or "default", {})
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or _text(section.get("region"))
    if _truthy(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) or _truthy(
        section.get("ignore_configured_endpoint_urls")
    ):
        return CliConfiguration(profile=name, region=region)

    endpoints: dict[str, str] = {}
    global_env = _text(env.get("AWS_ENDPOINT_URL"))
    if global_env is None:
        # A global variable outranks the config file's per-service entries, as in the SDKs.
        services_name = _text(section.get("services"))
        if services_name is not None:
            services = config.get("services", {}).get(services_name)
            if not isinstance(services, dict):
                raise LookupError(
                    f"the services section {services_name!r} named by the profile does not exist"
                )
            for key, entry in services.items():
                service = service_for_config_key(key)
                url = _text(entry.get("endpoint_url")) if isinstance(entry, dict) else None
                if service is None:
                    raise LookupError(
                        f"services section {services_name!r} names {key!r}, which is no AWS service"
                    )
                if url is not None:
                    endpoints[service] = url
    for variable, value in env.items():
        if variable.startswith(_ENV_PREFIX) and _text(value) is not None:
            service = service_for_config_key(variable[len(_ENV_PREFIX) :])
            if service is None:
                raise LookupError(f"{variable} names no AWS service")
            endpoints[service] = value.strip()
    endpoint = global_env or _text(section.get("endpoint_url"))
    return CliConfiguration(profile=name, endpoint=endpoint, endpoints=endpoints, region=region)


def _load_config(env: Mapping[str, str]) -> dict[str, Any]:
    path = os.path.expanduser(env.get("AWS_CONFIG_FILE") or "~/.aws/config")
    if not os.path.isfile(path):
        return {}
    try:
        loaded: dict[str, Any] = botocore.configloader.load_config(path)
    except (botocore.exceptions.BotoCoreError, OSError) as error:
        raise LookupError(f"cannot read the AWS config file {path}: {error}") from None
    return loaded


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _truthy(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "true"
