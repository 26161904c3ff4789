"""Candidate targets: ``--target NAME=URL`` and the TOML targets file (spec section 2).

A target resolves, once and up front, everything a replay needs to address and sign requests:
the default endpoint, per-service endpoints (with path prefixes), the region, the default
credentials and the principals map. Every mistake in a targets file is a :class:`TargetError`
naming the key and the problem, so the command line can say it in one sentence.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compat_diff.aws.cliconfig import CliConfiguration, read_cli_configuration
from compat_diff.aws.services import canonical_service, closest_services
from compat_diff.aws.signing import SigningCredentials, credentials_from_chain
from compat_diff.errors import TargetError
from compat_diff.recording.runformat import check_target_name
from compat_diff.replay.endpoints import AWS_HOST_SUFFIXES, canonical_endpoint, endpoint_host, is_aws_host
from compat_diff.replay.pacing import check_rate

__all__ = ["AWS_HOST_SUFFIXES", "Target", "is_aws_host", "load_targets", "validate_target_name"]

S3_ADDRESSING = ("path", "virtual")
SIGV2_MODES = ("keep", "v4")
NAME_MODES = ("run-scoped", "as-recorded")
_TARGET_KEYS = {
    "endpoint",
    "endpoints",
    "region",
    "access_key",
    "secret_key",
    "secret_key_env",
    "session_token",
    "session_token_env",
    "profile",
    "s3_addressing",
    "sigv2",
    "principals",
    "tls_verify",
    "services",
    "sse_customer_key",
    "sse_customer_key_env",
    "timeshift",
    "names",
    "max_rate",
}
_CREDENTIAL_KEYS = {
    "access_key",
    "secret_key",
    "secret_key_env",
    "session_token",
    "session_token_env",
    "profile",
}
# An entry of [target.NAME.endpoints] written as a table instead of a URL.
_ENDPOINT_KEYS = {"url", "recorded_prefix"} | _CREDENTIAL_KEYS

PLACEHOLDER_CREDENTIALS = SigningCredentials("compat-diff-placeholder", "compat-diff-placeholder")

ChainLookup = Callable[[str | None], SigningCredentials | None]
CliLookup = Callable[[str | None, Mapping[str, str]], CliConfiguration]


@dataclass(frozen=True)
class Target:
    """One candidate cloud, resolved: where each service lives and whose keys sign for it."""

    name: str
    endpoint: str
    endpoints: Mapping[str, str] = field(default_factory=dict)
    region: str | None = None
    credentials: SigningCredentials | None = None
    principals: Mapping[str, SigningCredentials] = field(default_factory=dict)
    s3_addressing: str = "path"
    sigv2: str = "keep"
    # False accepts a self-signed certificate (a local emulator started with TLS).
    tls_verify: bool = True
    # Where the default credentials came from, for run.json (never the secret itself).
    credentials_source: str = "none"
    # The services this target serves; calls of any other service are skipped, not sent. None: all.
    services: frozenset[str] | None = None
    # Keys of one service endpoint (deployments that give each service its own keys).
    service_credentials: Mapping[str, SigningCredentials] = field(default_factory=dict)
    # The path prefix a service was recorded behind, removed before this target's prefix is added.
    recorded_prefixes: Mapping[str, str] = field(default_factory=dict)
    # SSE-C customer keys (base64, as the header carries them) to put back where the recording
    # redacted one; each recorded use is matched by the key's MD5, which is recorded in clear.
    sse_customer_keys: tuple[str, ...] = ()
    # Absolute times in requests move with the replay (docs/replay.md, "Time-shifted replay").
    timeshift: bool = True
    # "run-scoped": names the recording created carry the run id; "as-recorded": sent unchanged.
    names: str = "run-scoped"
    # Requests per second sent to this target at most, over all its services (None: no limit).
    max_rate: float | None = None

    def sse_customer_key(self, recorded_md5: str | None) -> str | None:
        """The target's SSE-C key whose MD5 is ``recorded_md5`` (the only key when none was sent)."""
        if recorded_md5 is None:
            return self.sse_customer_keys[0] if len(self.sse_customer_keys) == 1 else None
        return next((key for key in self.sse_customer_keys if key_md5(key) == recorded_md5.strip()), None)

    def serves(self, service: str | None) -> bool:
        return self.services is None or (service is not None and service in self.services)

    def endpoint_for(self, service: str | None) -> str:
        if service and service in self.endpoints:
            return self.endpoints[service]
        return self.endpoint

    def credentials_for(
        self, recorded_access_key: str | None, service: str | None = None
    ) -> SigningCredentials | None:
        """The target's principal for a recorded access key id; unmapped keys get the keys of the
        service's endpoint when it has its own, else the default."""
        if recorded_access_key and recorded_access_key in self.principals:
            return self.principals[recorded_access_key]
        if service and service in self.service_credentials:
            return self.service_credentials[service]
        return self.credentials

    def recorded_prefix_for(self, service: str | None) -> str:
        return self.recorded_prefixes.get(service, "") if service else ""

    def describe(self) -> dict[str, Any]:
        """The target as run.json records it: no secrets."""
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "region": self.region,
            "endpoints": dict(self.endpoints),
            "s3_addressing": self.s3_addressing,
            "sigv2": self.sigv2,
            "tls_verify": self.tls_verify,
            "services": sorted(self.services) if self.services is not None else None,
            "credentials": self.credentials_source,
            "access_key": self.credentials.access_key if self.credentials else None,
            "principals": {recorded: creds.access_key for recorded, creds in self.principals.items()},
            "service_credentials": {
                service: creds.access_key for service, creds in self.service_credentials.items()
            },
            "recorded_prefixes": dict(self.recorded_prefixes),
            # The MD5 of an SSE-C key is sent in clear with every use; the key never is written.
            "sse_customer_key_md5s": [key_md5(key) for key in self.sse_customer_keys],
            "timeshift": self.timeshift,
            "names": self.names,
            "max_rate": self.max_rate,
        }


def key_md5(key: str) -> str:
    """The ``...-customer-key-MD5`` header value for an SSE-C key given in base64."""
    return base64.b64encode(hashlib.md5(base64.b64decode(key)).digest()).decode()


def load_targets(
    specs: list[str],
    targets_file: Path | None,
    *,
    allow_aws: bool = False,
    env: Mapping[str, str] | None = None,
    chain: ChainLookup = credentials_from_chain,
    profile: str | None = None,
    region: str | None = None,
    cli_config: CliLookup = read_cli_configuration,
) -> list[Target]:
    """Every target named on the command line and in the targets file, checked and resolved.

    ``profile`` and ``region`` apply to the ``--target`` targets, as the AWS CLI's options do.
    """
    env = os.environ if env is None else env
    targets: list[Target] = []
    for spec in specs:
        targets.append(_short_target(spec, chain, profile, region, env, cli_config))
    if targets_file is not None:
        targets.extend(_file_targets(targets_file, env, chain))
    if not targets:
        raise TargetError("no target given: use --target NAME=URL or --targets FILE.toml")
    seen: set[str] = set()
    for target in targets:
        validate_target_name(target.name)
        if target.name in seen:
            raise TargetError(f"target {target.name!r} is defined twice")
        seen.add(target.name)
        if not allow_aws:
            for url in (target.endpoint, *target.endpoints.values()):
                # Every URL here is canonical (endpoints.py): the host judged is the host resolved.
                host = endpoint_host(url)
                if is_aws_host(host):
                    raise TargetError(
                        f"target {target.name!r} points at the AWS endpoint {host}; "
                        "pass --allow-aws to replay against AWS itself"
                    )
    return targets


def validate_target_name(name: str) -> None:
    """Refuse a name that cannot be a folder of the run directory (``../evil``, ``a/b``, ``.x``)."""
    try:
        check_target_name(name)
    except ValueError as error:
        raise TargetError(str(error)) from None


def _short_target(
    spec: str,
    chain: ChainLookup,
    profile: str | None,
    region: str | None,
    env: Mapping[str, str],
    cli_config: CliLookup,
) -> Target:
    name, sep, url = spec.partition("=")
    name, url = name.strip(), url.strip()
    if not name or (sep and not url):
        raise TargetError(
            f"--target {spec!r} must look like NAME=URL, e.g. swift=http://127.0.0.1:8080, "
            "or NAME alone to use the AWS CLI's configured endpoints"
        )
    where = f"--target {name}"
    configured = CliConfiguration(profile=None)
    if profile or not sep:
        # As the AWS CLI does: the profile's region (or AWS_REGION) unless --region says otherwise.
        try:
            configured = cli_config(profile, env)
        except LookupError as error:
            raise TargetError(f"{where}: {error}") from None
    endpoints: dict[str, str] = {}
    if not sep:
        # NAME alone: the endpoints the AWS CLI itself would use with this profile.
        if configured.endpoint is None and not configured.endpoints:
            raise TargetError(
                f"{where} has no URL and the AWS CLI configuration names no endpoint "
                "(AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, or endpoint_url/services in the profile)"
            )
        for service, service_url in configured.endpoints.items():
            endpoints[service] = _check_url(service_url, f"{where}: the endpoint of {service}")
        url = configured.endpoint or next(iter(endpoints.values()))
    url = _check_url(url, where)
    credentials, source = _chain_credentials(chain, profile or configured.profile, where)
    return Target(
        name=name,
        endpoint=url,
        endpoints=endpoints,
        region=region or configured.region,
        credentials=credentials,
        credentials_source=source,
    )


def _file_targets(path: Path, env: Mapping[str, str], chain: ChainLookup) -> list[Target]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError(f"targets file {path} does not exist") from None
    except OSError as error:
        raise TargetError(f"cannot read targets file {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise TargetError(f"targets file {path} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise TargetError(f"targets file {path} is not UTF-8 text") from None
    section = document.get("target")
    if not isinstance(section, dict) or not section:
        raise TargetError(f"targets file {path} defines no [target.NAME] table")
    return [_file_target(path, name, table, env, chain) for name, table in section.items()]


def _file_target(path: Path, name: str, table: Any, env: Mapping[str, str], chain: ChainLookup) -> Target:
    where = f"{path}: target.{name}"
    if not isinstance(table, dict):
        raise TargetError(f"{where} must be a table")
    unknown = sorted(set(table) - _TARGET_KEYS)
    if unknown:
        raise TargetError(
            f"{where}.{unknown[0]} is not a known key (known: {', '.join(sorted(_TARGET_KEYS))})"
        )
    endpoint = table.get("endpoint")
    if endpoint is None:
        raise TargetError(f"{where}.endpoint is missing (the URL every service is sent to by default)")
    endpoint = _check_url(_string(endpoint, f"{where}.endpoint"), f"{where}.endpoint")

    endpoints: dict[str, str] = {}
    raw_endpoints = table.get("endpoints", {})
    if not isinstance(raw_endpoints, dict):
        raise TargetError(f"{where}.endpoints must be a table of service = URL")
    service_credentials: dict[str, SigningCredentials] = {}
    recorded_prefixes: dict[str, str] = {}
    for written, entry in raw_endpoints.items():
        service = _service_name(str(written), f"{where}.endpoints.{written}")
        if service in endpoints:
            raise TargetError(f"{where}.endpoints names {service} twice (as {written!r} and another alias)")
        url, keys, prefix = _endpoint_entry(entry, f"{where}.endpoints.{written}", env, chain)
        endpoints[service] = url
        if keys is not None:
            service_credentials[service] = keys
        if prefix:
            recorded_prefixes[service] = prefix

    region = table.get("region")
    if region is not None:
        region = _string(region, f"{where}.region")
    addressing = table.get("s3_addressing", "path")
    if addressing not in S3_ADDRESSING:
        raise TargetError(f'{where}.s3_addressing must be "path" or "virtual", not {addressing!r}')
    sigv2 = table.get("sigv2", "keep")
    if sigv2 not in SIGV2_MODES:
        raise TargetError(f'{where}.sigv2 must be "keep" or "v4", not {sigv2!r}')

    tls_verify = table.get("tls_verify", True)
    if not isinstance(tls_verify, bool):
        raise TargetError(f"{where}.tls_verify must be true or false, not {tls_verify!r}")
    timeshift = table.get("timeshift", True)
    if not isinstance(timeshift, bool):
        raise TargetError(f"{where}.timeshift must be true or false, not {timeshift!r}")
    names = table.get("names", "run-scoped")
    if names not in NAME_MODES:
        raise TargetError(f'{where}.names must be "run-scoped" or "as-recorded", not {names!r}')
    try:
        max_rate = check_rate(table.get("max_rate"), f"{where}.max_rate")
    except ValueError as error:
        raise TargetError(str(error)) from None
    services: frozenset[str] | None = None
    if "services" in table:
        raw_services = table["services"]
        if not isinstance(raw_services, list) or not all(isinstance(x, str) for x in raw_services):
            raise TargetError(f'{where}.services must be a list of service names, like ["s3", "sqs"]')
        services = frozenset(_service_name(x, f"{where}.services") for x in raw_services)
    credentials, source = _credentials(table, where, env, chain)
    sse_keys = _sse_customer_keys(table, where, env)

    principals: dict[str, SigningCredentials] = {}
    raw_principals = table.get("principals", {})
    if not isinstance(raw_principals, dict):
        raise TargetError(f"{where}.principals must be a table of recorded access key id = {{ credentials }}")
    for recorded_key, principal in raw_principals.items():
        key_where = f"{where}.principals.{recorded_key}"
        if not isinstance(principal, dict):
            raise TargetError(
                f"{key_where} must be a table like {{ access_key = ..., secret_key_env = ... }}"
            )
        extra = sorted(set(principal) - _CREDENTIAL_KEYS)
        if extra:
            raise TargetError(f"{key_where}.{extra[0]} is not a known key")
        resolved, _ = _credentials(principal, key_where, env, chain)
        if resolved is None:
            raise TargetError(f"{key_where} resolves to no credentials")
        principals[str(recorded_key)] = resolved

    return Target(
        name=name,
        endpoint=endpoint,
        endpoints=endpoints,
        region=region,
        credentials=credentials,
        principals=principals,
        s3_addressing=addressing,
        sigv2=sigv2,
        tls_verify=tls_verify,
        credentials_source=source,
        services=services,
        service_credentials=service_credentials,
        recorded_prefixes=recorded_prefixes,
        sse_customer_keys=sse_keys,
        timeshift=timeshift,
        names=names,
        max_rate=max_rate,
    )


def _sse_customer_keys(table: dict[str, Any], where: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """``sse_customer_key`` (a base64 key or a list of them, inline) and ``sse_customer_key_env``
    (the names of environment variables holding them), checked to be base64."""
    keys: list[tuple[str, str]] = []
    for written in _one_or_list(table.get("sse_customer_key"), f"{where}.sse_customer_key"):
        keys.append((written, f"{where}.sse_customer_key"))
    for variable in _one_or_list(table.get("sse_customer_key_env"), f"{where}.sse_customer_key_env"):
        if variable not in env:
            raise TargetError(
                f"{where}.sse_customer_key_env names the environment variable {variable}, which is not set"
            )
        keys.append((env[variable].strip(), f"{where}.sse_customer_key_env ({variable})"))
    for key, origin in keys:
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise TargetError(
                f"{origin} is not a base64 key (give the SSE-C key as the "
                "x-amz-server-side-encryption-customer-key header carries it)"
            ) from None
    return tuple(key for key, _ in keys)


def _one_or_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise TargetError(f"{where} must be a string or a list of strings")


def _credentials(
    table: dict[str, Any], where: str, env: Mapping[str, str], chain: ChainLookup
) -> tuple[SigningCredentials | None, str]:
    access_key = table.get("access_key")
    has_secret = "secret_key" in table or "secret_key_env" in table
    if "profile" in table:
        if access_key is not None or has_secret:
            raise TargetError(f"{where}.profile cannot be combined with access_key/secret_key")
        profile = _string(table["profile"], f"{where}.profile")
        return _chain_credentials(chain, profile, f"{where}.profile")
    if access_key is None:
        if has_secret:
            raise TargetError(f"{where}.access_key is missing (a secret key was given without it)")
        return _chain_credentials(chain, None, where)
    access_key = _string(access_key, f"{where}.access_key")
    secret = _inline_or_env(table, "secret_key", where, env)
    if secret is None:
        raise TargetError(f"{where}.secret_key_env (or secret_key) is missing for access_key {access_key!r}")
    token = _inline_or_env(table, "session_token", where, env)
    return SigningCredentials(access_key, secret, token), "file"


def _inline_or_env(table: dict[str, Any], key: str, where: str, env: Mapping[str, str]) -> str | None:
    """``key`` written inline, or read from the variable ``key_env`` names; None when neither is given."""
    if key in table:
        return _string(table[key], f"{where}.{key}")
    if f"{key}_env" in table:
        variable = _string(table[f"{key}_env"], f"{where}.{key}_env")
        if variable not in env:
            raise TargetError(
                f"{where}.{key}_env names the environment variable {variable}, which is not set"
            )
        return env[variable]
    return None


def _chain_credentials(
    chain: ChainLookup, profile: str | None, where: str
) -> tuple[SigningCredentials | None, str]:
    try:
        found = chain(profile)
    except LookupError as error:
        raise TargetError(f"{where}: {error}") from None
    if found is None:
        # Local emulators route on the credential scope but rarely check the key, so a recorded
        # signed call is still sent signed; run.json and the console say these keys were placeholders.
        return PLACEHOLDER_CREDENTIALS, "placeholder"
    return found, f"profile {profile}" if profile else "default chain"


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TargetError(f"{where} must be a non-empty string, not {value!r}")
    return value.strip()


def _check_url(url: str, where: str) -> str:
    """The canonical form of ``url`` (the one the HTTP client will use); every caller keeps it."""
    return canonical_endpoint(url, where)


# --------------------------------------------------------------------------------------------
# Service names and per-service endpoint entries.


def _service_name(written: str, where: str) -> str:
    """The botocore service ``written`` names (botocore name or a known alias such as ``Euare``)."""
    service = canonical_service(written)
    if service is not None:
        return service
    closest = closest_services(written)
    hint = (
        f"; did you mean {' or '.join(closest)}?"
        if closest
        else " (use a botocore service name such as ec2, s3 or iam, or an alias such as compute or Euare)"
    )
    raise TargetError(f"{where}: {written!r} is not an AWS service name nor a known alias{hint}")


def _endpoint_entry(
    entry: Any, where: str, env: Mapping[str, str], chain: ChainLookup
) -> tuple[str, SigningCredentials | None, str]:
    """URL, own credentials (None: the target's) and recorded prefix of one per-service endpoint.

    An entry is a URL, or a table ``{ url = ..., recorded_prefix = ..., access_key = ...,
    secret_key_env = ... }`` (or ``profile = ...``) for a service with its own keys.
    """
    if isinstance(entry, str):
        return _check_url(_string(entry, where), where), None, ""
    if not isinstance(entry, dict):
        raise TargetError(f'{where} must be a URL or a table like {{ url = "http://...", access_key = ... }}')
    extra = sorted(set(entry) - _ENDPOINT_KEYS)
    if extra:
        raise TargetError(
            f"{where}.{extra[0]} is not a known key (known: {', '.join(sorted(_ENDPOINT_KEYS))})"
        )
    if "url" not in entry:
        raise TargetError(f"{where}.url is missing")
    url = _check_url(_string(entry["url"], f"{where}.url"), f"{where}.url")
    prefix = ""
    if "recorded_prefix" in entry:
        prefix = _string(entry["recorded_prefix"], f"{where}.recorded_prefix")
        if not prefix.startswith("/") or "?" in prefix or "#" in prefix:
            raise TargetError(f"{where}.recorded_prefix must be a path starting with /, not {prefix!r}")
        prefix = prefix.rstrip("/")
    credentials = None
    if set(entry) & _CREDENTIAL_KEYS:
        credentials, _ = _credentials(entry, where, env, chain)
    return url, credentials, prefix
