"""Secrets at rest and tokens: endpoint credentials encrypted with the configuration's key,
provider tokens that are opaque, prefixed, stored as digests only, scoped and expiring."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets as _random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from compat_diff.errors import InputError

TOKEN_PREFIX = "cdp_"
TOKEN_DAYS = 90


def load_secret_key(configured: str | None, data: Path) -> Fernet:
    """The configuration's key, or one made once and kept (owner-only) under the data folder."""
    if configured:
        try:
            return Fernet(configured.encode())
        except ValueError:
            raise InputError(
                "secret_key must be 32 bytes in URL-safe base64 (make one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
            ) from None
    path = data / "secret.key"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        # Written to a file of this process's own, then linked into place: processes starting at
        # once on one data folder all end up with the one key that got there first, never a
        # half-written one.
        partial = data / f".secret.key.{os.getpid()}.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(Fernet.generate_key())
        try:
            os.link(partial, path)
        except FileExistsError:
            pass
        finally:
            partial.unlink(missing_ok=True)
    return Fernet(path.read_bytes().strip())


def seal(box: Fernet, values: dict[str, str]) -> bytes:
    return box.encrypt(json.dumps(values, sort_keys=True).encode())


def unseal(box: Fernet, sealed: bytes) -> dict[str, str]:
    try:
        return dict(json.loads(box.decrypt(sealed)))
    except InvalidToken:
        raise InputError(
            "stored credentials cannot be decrypted with this secret_key (was the key changed?)."
        ) from None


def new_token() -> str:
    return TOKEN_PREFIX + _random.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_expiry(now: datetime | None = None, days: int = TOKEN_DAYS) -> datetime:
    return (now or datetime.now(UTC)) + timedelta(days=days)


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
