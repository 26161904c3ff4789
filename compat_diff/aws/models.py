"""Loading botocore service models once per process, and the cross-service indexes built from them.

Everything that needs to know "which service is this" reads the models through here, so a model is
parsed at most once and the indexes over all services (signing name, endpoint prefix, JSON target
prefix) are built lazily from the models' metadata only.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.loaders
import botocore.model
import botocore.session
import botocore.waiter

# Operation names that by convention never change state; the method check below covers REST APIs
# whose names do not follow the convention.
_READ_ONLY_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Head",
    "Query",
    "Scan",
    "BatchGet",
    "Select",
    "Search",
    "Lookup",
)
_REST_PROTOCOLS = ("rest-json", "rest-xml")


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def _loader() -> botocore.loaders.Loader:
    loader: botocore.loaders.Loader = _session().get_component("data_loader")
    return loader


@cache
def service_names() -> tuple[str, ...]:
    """Every botocore service name this installation knows."""
    return tuple(sorted(_loader().list_available_services("service-2")))


@cache
def service_model(service: str) -> botocore.model.ServiceModel:
    """The botocore model of ``service`` (a botocore service name such as ``s3`` or ``sqs``), cached."""
    model: botocore.model.ServiceModel = _session().get_service_model(service)
    return model


@cache
def waiter_model(service: str) -> botocore.waiter.WaiterModel | None:
    """The botocore waiters of ``service``, or None when it has none."""
    try:
        config = _loader().load_service_model(service, "waiters-2")
    except botocore.exceptions.DataNotFoundError:
        return None
    return botocore.waiter.WaiterModel(config)


def has_service(service: str) -> bool:
    return service in _service_set()


@cache
def _service_set() -> frozenset[str]:
    return frozenset(service_names())


@dataclass(frozen=True, slots=True)
class ServiceMeta:
    """The few metadata fields the cross-service indexes need."""

    service: str
    signing_name: str
    endpoint_prefix: str
    target_prefix: str | None
    api_version: str | None
    protocols: tuple[str, ...]
    # The model's serviceId ("Elastic Load Balancing"); the AWS CLI's configuration names services by it.
    service_id: str = ""


def service_meta(service: str) -> ServiceMeta:
    return _all_meta()[service]


@cache
def _all_meta() -> dict[str, ServiceMeta]:
    return {name: _read_meta(name) for name in service_names()}


def _read_meta(service: str) -> ServiceMeta:
    metadata = _read_metadata_quickly(service)
    if metadata is None:
        metadata = dict(service_model(service).metadata)
    endpoint_prefix = metadata.get("endpointPrefix") or service
    protocols = tuple(metadata.get("protocols") or ()) or (metadata.get("protocol", ""),)
    return ServiceMeta(
        service=service,
        signing_name=metadata.get("signingName") or endpoint_prefix,
        endpoint_prefix=endpoint_prefix,
        target_prefix=metadata.get("targetPrefix"),
        api_version=metadata.get("apiVersion"),
        protocols=protocols,
        service_id=metadata.get("serviceId") or service,
    )


_METADATA_KEY = re.compile(rb'"metadata"\s*:\s*')


def _read_metadata_quickly(service: str) -> dict[str, Any] | None:
    """The ``metadata`` object of a service file without parsing the whole (often huge) model.

    botocore files put metadata first; parsing just that object makes indexing all ~450 services
    take a fraction of a second instead of several seconds. Returns None to fall back to botocore.
    """
    path = _model_file(service)
    if path is None:
        return None
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            head = handle.read(16384)
    except OSError:
        return None
    found = _METADATA_KEY.search(head)
    if found is None:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(head.decode("utf-8", "replace"), found.end())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _model_file(service: str) -> Path | None:
    loader = _loader()
    try:
        versions = loader.list_api_versions(service, "service-2")
    except Exception:
        return None
    if not versions:
        return None
    latest = sorted(versions)[-1]
    for base in loader.search_paths:
        for name in ("service-2.json", "service-2.json.gz"):
            candidate = Path(base) / service / latest / name
            if candidate.is_file():
                return candidate
    return None


@cache
def _by_signing_name() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for meta in _all_meta().values():
        index.setdefault(meta.signing_name, []).append(meta.service)
    return {key: tuple(value) for key, value in index.items()}


@cache
def _by_endpoint_prefix() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for meta in _all_meta().values():
        index.setdefault(meta.endpoint_prefix, []).append(meta.service)
    return {key: tuple(value) for key, value in index.items()}


@cache
def _by_target_prefix() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for meta in _all_meta().values():
        if meta.target_prefix:
            index.setdefault(meta.target_prefix, []).append(meta.service)
    return {key: tuple(value) for key, value in index.items()}


@cache
def _fast_signing_match(signing_name: str) -> bool:
    """True when ``signing_name`` is a service whose own model signs with that name.

    Lets the common case (s3, sqs, iam, ...) skip indexing every model: without a host, the
    service named like the signing name ranks first anyway, so the answer is the same.
    """
    if not has_service(signing_name):
        return False
    metadata = _read_metadata_quickly(signing_name)
    if metadata is None:
        return False
    own = metadata.get("signingName") or metadata.get("endpointPrefix") or signing_name
    return bool(own == signing_name)


def services_for_signing_name(signing_name: str, host: str | None = None) -> list[str]:
    """Every service signing with ``signing_name``, most likely first (host, then name equality)."""
    candidates = list(_by_signing_name().get(signing_name, ()))
    if not candidates and has_service(signing_name):
        candidates = [signing_name]
    return _rank(candidates, signing_name, host)


def service_for_signing_name(signing_name: str, host: str | None = None) -> str | None:
    """The botocore service a SigV4 credential scope's service part names (``monitoring`` -> ``cloudwatch``).

    Several services can share a signing name (``s3`` and ``s3control``, ``dynamodb`` and
    ``dynamodbstreams``); the host decides when it carries an endpoint prefix, else the service
    named like the signing name wins.
    """
    if host is None and _fast_signing_match(signing_name):
        return signing_name
    ranked = services_for_signing_name(signing_name, host)
    return ranked[0] if ranked else None


def services_for_target_prefix(prefix: str) -> list[str]:
    """Services whose JSON ``X-Amz-Target`` (or smithy RPC path) prefix is ``prefix``."""
    return list(_by_target_prefix().get(prefix, ()))


def services_for_endpoint_prefix(prefix: str) -> list[str]:
    return list(_by_endpoint_prefix().get(prefix, ()))


def _rank(candidates: Iterable[str], name: str, host: str | None) -> list[str]:
    host_labels = _host_label_string(host)

    def key(service: str) -> tuple[int, int, int, str]:
        meta = service_meta(service)
        prefix = meta.endpoint_prefix
        in_host = bool(host_labels) and f".{prefix}." in host_labels
        # A longer endpoint prefix found in the host is the more specific claim (streams.dynamodb).
        return (0 if in_host else 1, -len(prefix) if in_host else 0, 0 if service == name else 1, service)

    return sorted(candidates, key=key)


def _host_label_string(host: str | None) -> str:
    if not host:
        return ""
    hostname = host.rsplit("@", 1)[-1]
    if hostname.startswith("["):
        return ""
    hostname = hostname.split(":", 1)[0].lower()
    return f".{hostname}."


def is_read_only(service: str, operation: str) -> bool:
    """Whether ``operation`` only reads state: by its name, or by GET/HEAD in a REST protocol."""
    for prefix in _READ_ONLY_PREFIXES:
        if operation.startswith(prefix) and (
            len(operation) == len(prefix) or operation[len(prefix)].isupper()
        ):
            return True
    try:
        model = service_model(service)
        op_model = model.operation_model(operation)
    except Exception:
        return False
    protocols = tuple(model.metadata.get("protocols") or ()) or (model.protocol,)
    if any(protocol in _REST_PROTOCOLS for protocol in protocols):
        return op_model.http.get("method", "").upper() in ("GET", "HEAD")
    return False
