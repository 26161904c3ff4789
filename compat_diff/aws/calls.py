"""Making our own API calls to a target (the cleanup after a run, the preflight checks).

These are not replayed calls: they are built by a botocore client for the target's endpoint,
region and keys, with no retries and short timeouts, and every one is reported to ``on_call`` as
plain data (operation, parameters, status, error code) so the caller can record it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.config
import botocore.exceptions
import botocore.parsers
import botocore.session

from compat_diff.aws.signing import SigningCredentials


@cache
def _client_session() -> botocore.session.Session:
    """A botocore session of its own for our clients, apart from the one whose models identify and
    rebuild requests: a botocore S3 client rewrites the operation models it loads (its requestUri
    loses ``/{Bucket}``), which must never reach identification in the same process."""
    return botocore.session.get_session()


@dataclass(frozen=True)
class CallResult:
    service: str
    operation: str
    params: dict[str, Any]
    status: int | None
    error_code: str | None = None
    message: str | None = None
    output: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 300 and self.error_code is None

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "service": self.service,
            "operation": self.operation,
            "params": {
                key: value
                for key, value in self.params.items()
                if isinstance(value, str | int)
                or (isinstance(value, list) and all(isinstance(item, str) for item in value))
            },
            "status": self.status,
        }
        if self.error_code:
            line["error"] = self.error_code
        if self.message:
            line["message"] = self.message
        return line


class ApiCaller:
    """One botocore client per service for one target; ``call`` never raises for an API error."""

    def __init__(
        self,
        endpoints: Callable[[str], str],
        region: str,
        credentials: Callable[[str], SigningCredentials | None],
        s3_addressing: str = "path",
        verify: bool = True,
        timeout: float = 10.0,
        pace: Callable[[], None] | None = None,
    ) -> None:
        self._endpoints = endpoints
        # Called before each call (a target's request-rate limit), when given.
        self._pace = pace
        self._region = region
        self._credentials = credentials
        self._config = botocore.config.Config(
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=timeout,
            read_timeout=timeout,
            s3={"addressing_style": s3_addressing},
        )
        self._verify = verify
        self._clients: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            keys = self._credentials(service)
            self._clients[service] = _client_session().create_client(
                service,
                endpoint_url=self._endpoints(service),
                region_name=self._region,
                aws_access_key_id=keys.access_key if keys else "compat-diff-placeholder",
                aws_secret_access_key=keys.secret_key if keys else "compat-diff-placeholder",
                aws_session_token=keys.token if keys else None,
                config=self._config,
                verify=self._verify,
            )
        return self._clients[service]

    def call(self, service: str, operation: str, params: dict[str, Any]) -> CallResult:
        if self._pace is not None:
            self._pace()
        try:
            client = self._client(service)
            method = getattr(client, botocore_method_name(client, operation))
            output = method(**params)
        except botocore.exceptions.ClientError as error:
            response = error.response
            return CallResult(
                service,
                operation,
                params,
                response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                str(response.get("Error", {}).get("Code") or "error"),
                str(response.get("Error", {}).get("Message") or "")[:300] or None,
            )
        except botocore.parsers.ResponseParserError:
            # Its message quotes the whole answer, which may hold a secret: say what, not the bytes.
            message = "the answer is not what the API model describes (it could not be parsed)"
            return CallResult(service, operation, params, None, "ResponseParserError", message)
        except (botocore.exceptions.BotoCoreError, ValueError, OSError) as error:
            return CallResult(service, operation, params, None, type(error).__name__, str(error)[:300])
        status = output.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return CallResult(service, operation, params, status, output=output)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def botocore_method_name(client: Any, operation: str) -> str:
    for method, name in client.meta.method_to_api_mapping.items():
        if name == operation:
            return str(method)
    raise ValueError(f"{operation} is not an operation of {client.meta.service_model.service_name}")
