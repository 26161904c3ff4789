"""The service's Ed25519 signing keys: kept encrypted in its database, rotated on request, and
every public key (retired ones too, so old attestations still verify) published."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from compat_diff.service import db
from compat_diff.service.attest import SigningKey
from compat_diff.service.store import Service, aware


def current_key(service: Service) -> SigningKey:
    with service.engine.connect() as conn:
        row = conn.execute(
            select(db.signing_keys)
            .where(db.signing_keys.c.retired.is_(None))
            .order_by(db.signing_keys.c.serial.desc())
        ).first()
    if row is None:
        return rotate_key(service)
    return SigningKey.from_private_bytes(service.box.decrypt(row.private))


def rotate_key(service: Service) -> SigningKey:
    """Retire the current key (it stays published) and make a new one."""
    key = SigningKey.generate()
    now = service.clock()
    with service.engine.begin() as conn:
        serial = conn.execute(
            select(db.signing_keys.c.serial).order_by(db.signing_keys.c.serial.desc())
        ).scalar()
        conn.execute(update(db.signing_keys).where(db.signing_keys.c.retired.is_(None)).values(retired=now))
        conn.execute(
            insert(db.signing_keys).values(
                keyid=key.keyid,
                public=key.public_b64(),
                private=service.box.encrypt(key.private_bytes()),
                created=now,
                retired=None,
                serial=(serial or 0) + 1,
            )
        )
    return key


def public_keys(service: Service) -> dict[str, Any]:
    with service.engine.connect() as conn:
        rows = conn.execute(select(db.signing_keys).order_by(db.signing_keys.c.serial)).all()
    return {
        "service": service.config.service_id,
        "keys": [
            {
                "keyid": row.keyid,
                "algorithm": "ed25519",
                "public": row.public,
                "created": _iso(row.created),
                "retired": _iso(row.retired),
            }
            for row in rows
        ],
    }


def _iso(value: Any) -> str | None:
    moment = aware(value)
    return moment.isoformat() if moment is not None else None
