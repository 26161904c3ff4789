"""What every client driver shares: its settings, deterministic test data and the proxy settings.

A driver performs a fixed set of S3 operations with one real client library or tool, so that a
recording of it shows exactly how that client signs and frames requests. Data is derived from a
fixed seed, so two runs send the same bytes.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    endpoint: str
    bucket: str
    region: str
    access_key: str
    secret_key: str
    addressing: str  # "path" or "virtual"
    workdir: Path

    @property
    def host_port(self) -> str:
        return urlsplit(self.endpoint).netloc

    @property
    def secure(self) -> bool:
        return urlsplit(self.endpoint).scheme == "https"

    @property
    def hostname(self) -> str:
        return urlsplit(self.endpoint).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.endpoint)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def bucket_url(self) -> str:
        """The bucket's base URL in the chosen addressing style."""
        parts = urlsplit(self.endpoint)
        if self.addressing == "virtual":
            return f"{parts.scheme}://{self.bucket}.{parts.netloc}"
        return f"{parts.scheme}://{parts.netloc}/{self.bucket}"


def payload(size: int, seed: str) -> bytes:
    """``size`` bytes that depend only on ``seed``, so every run uploads the same content."""
    return random.Random(seed).randbytes(size)


def write_file(path: Path, size: int, seed: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload(size, seed))
    return path


def proxy_url(secure: bool) -> str | None:
    """The proxy the environment asks for (what ``compat-diff record`` sets), for clients that
    ignore the environment and need it passed explicitly."""
    names = ("HTTPS_PROXY", "https_proxy") if secure else ("HTTP_PROXY", "http_proxy")
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def ca_bundle() -> str | None:
    """The CA bundle the environment names (the recorder's CA when recording HTTPS)."""
    for name in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def check(condition: bool, message: str) -> None:
    """A driver verifies what it read back, so a silently broken client cannot pass as recorded."""
    if not condition:
        raise SystemExit(f"run_client: {message}")
