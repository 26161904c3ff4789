"""The service's configuration: one TOML file, then environment variables, then defaults.

Everything a deployment chooses lives here so the rest of the service takes a ``ServiceConfig``
and never reads the environment itself.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from compat_diff.errors import InputError

DEFAULT_DATA = Path(".work/service")
DEFAULT_LISTEN = "127.0.0.1:8400"
ENGINES = ("dbos", "table")

# Environment variables and the setting each one overrides.
ENVIRONMENT = {
    "COMPAT_DIFF_DATABASE_URL": "database_url",
    "COMPAT_DIFF_ADMIN_TOKEN": "admin_token",
    "COMPAT_DIFF_SECRET_KEY": "secret_key",
    "COMPAT_DIFF_ALLOW_PRIVATE_ENDPOINTS": "allow_private_endpoints",
    "COMPAT_DIFF_SERVICE_ID": "service_id",
    "COMPAT_DIFF_WORKERS": "workers",
    "COMPAT_DIFF_ENGINE": "engine",
    "COMPAT_DIFF_ENDPOINT_MAX_RATE": "endpoint_max_rate",
}


@dataclass(frozen=True)
class ServiceConfig:
    data: Path = DEFAULT_DATA
    listen: str = DEFAULT_LISTEN
    # SQLite under ``data`` unless a URL is given (postgresql+psycopg://... to scale out).
    database_url: str | None = None
    admin_token: str | None = None
    # Fernet key (urlsafe base64, 32 bytes) that encrypts endpoint credentials at rest.
    secret_key: str | None = None
    allow_private_endpoints: bool = False
    service_id: str = "compat-diff-service"
    # The engine that runs the work: "dbos" (DBOS's durable queue carrying units of work; the
    # lease table still decides who writes) or "table" (the service's own lease table alone).
    engine: str = "dbos"
    # Worker threads in this process (``serve`` and ``worker``); 0 serves the API only.
    workers: int = 2
    # Seconds a claimed shard stays a worker's without a heartbeat before another may take it.
    lease_seconds: float = 60.0
    # Seconds between a worker's looks for work when it found none.
    poll_seconds: float = 1.0
    # Hours the dbos engine keeps the record of a finished unit of work in DBOS's database.
    dbos_keep_hours: float = 24.0
    # Shards of one endpoint replayed at once, across all workers (never flood a provider).
    endpoint_concurrency: int = 1
    # Requests per second toward one endpoint, over all its shards, workers and processes, unless
    # the endpoint was registered with its own max_rate; 0: no limit.
    endpoint_max_rate: float = 20.0
    # Days an attestation is valid.
    attestation_days: int = 30
    # Requests per minute per client address on the API, and the largest request body.
    rate_limit_per_minute: int = 600
    max_upload_bytes: int = 1024 * 1024
    # Suite folders registered at start (built by ``compat-diff suite build``); the bundled
    # recordings are always offered as the suite ``bundled``.
    suites: tuple[Path, ...] = ()
    # Also offer the model-generated suite shipped with compat_diff (suites/generated/) as the
    # suite ``generated``; off by default, since unpacking and describing it takes a while once.
    generated_suite: bool = False
    # Replay settings handed to the pipeline.
    replay_timeout: float = 30.0
    replay_concurrency: int = 4
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data / 'service.db').resolve()}"

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        try:
            return host or "127.0.0.1", int(port)
        except ValueError:
            raise InputError(f"--listen must be HOST:PORT, got {self.listen!r}.") from None


_TYPES: dict[str, type] = {
    "data": Path,
    "listen": str,
    "database_url": str,
    "admin_token": str,
    "secret_key": str,
    "allow_private_endpoints": bool,
    "generated_suite": bool,
    "service_id": str,
    "workers": int,
    "engine": str,
    "lease_seconds": float,
    "poll_seconds": float,
    "dbos_keep_hours": float,
    "endpoint_concurrency": int,
    "endpoint_max_rate": float,
    "attestation_days": int,
    "rate_limit_per_minute": int,
    "max_upload_bytes": int,
    "replay_timeout": float,
    "replay_concurrency": int,
}


def _coerce(name: str, value: Any, where: str) -> Any:
    kind = _TYPES[name]
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise InputError(f"{where}: {name} must be true or false, got {value!r}.")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {name} must be a {kind.__name__}, got {value!r}.") from None


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> ServiceConfig:
    """The file's ``[service]`` table (or its top level), then the environment, then ``overrides``
    (command-line options) that are not None."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    if path is not None:
        try:
            document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"the configuration file {path} does not exist.") from None
        except tomllib.TOMLDecodeError as error:
            raise InputError(f"the configuration file {path} is not valid TOML: {error}.") from None
        table = document.get("service", document)
        for name, value in table.items():
            if name == "suites":
                values["suites"] = tuple(Path(item) for item in value)
            elif name in _TYPES:
                values[name] = _coerce(name, value, str(path))
            else:
                known = ", ".join(sorted([*_TYPES, "suites"]))
                raise InputError(f"{path}: unknown setting {name!r} (known: {known}).")
    for variable, name in ENVIRONMENT.items():
        if env.get(variable) not in (None, ""):
            values[name] = _coerce(name, env[variable], variable)
    for name, value in overrides.items():
        if value is not None:
            values[name] = _coerce(name, value, f"--{name}") if name in _TYPES else value
    config = replace(ServiceConfig(), **values)
    if config.engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {config.engine!r}.")
    if config.workers < 0 or config.endpoint_concurrency < 1 or config.lease_seconds <= 0:
        raise InputError("workers must be 0 or more, endpoint_concurrency 1 or more, lease_seconds positive.")
    if not math.isfinite(config.dbos_keep_hours) or config.dbos_keep_hours < 0:
        raise InputError(f"dbos_keep_hours must be 0 or more hours, got {config.dbos_keep_hours!r}.")
    if not math.isfinite(config.endpoint_max_rate) or config.endpoint_max_rate < 0:
        raise InputError(
            "endpoint_max_rate must be a number of requests per second, or 0 for no limit, "
            f"got {config.endpoint_max_rate!r}."
        )
    return config
