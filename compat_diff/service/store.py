"""The service's records: suites, providers and their tokens, endpoints and their credentials.

``Service`` binds the configuration, the database and the secret key; every API handler and
worker goes through it, so the rules (immutable suites, sealed credentials, scoped tokens, the
outbound address policy) hold in one place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from compat_diff.errors import InputError
from compat_diff.replay.pacing import check_rate
from compat_diff.service import db
from compat_diff.service.config import ServiceConfig
from compat_diff.service.outbound import Resolver, check_url, system_resolver
from compat_diff.service.secrets import (
    load_secret_key,
    new_token,
    same_secret,
    seal,
    token_digest,
    token_expiry,
    unseal,
)
from compat_diff.service.suites import build_suite, install_suite, sha256_file

log = logging.getLogger("compat_diff.service")

Clock = Callable[[], datetime]
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
# The request rates an endpoint may ask for (requests per second): slower would hold a worker for
# hours on one shard, faster is no limit worth the name.
MIN_ENDPOINT_RATE = 0.1
MAX_ENDPOINT_RATE = 1000.0


def new_id(result: Any) -> int:
    """The primary key an INSERT made."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def utc_now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class NotFound(InputError):
    """A suite, provider, endpoint or run that does not exist (or is not the caller's)."""


class Forbidden(InputError):
    """The caller's token does not allow this."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the admin, one provider (by id), or anyone."""

    admin: bool = False
    provider_id: int | None = None

    def may_act_for(self, provider_id: int) -> bool:
        return self.admin or self.provider_id == provider_id


ANONYMOUS = Principal()


def endpoint_rate(value: object) -> float | None:
    """An endpoint's own ``max_rate`` (requests per second), checked; None when not given."""
    try:
        rate = check_rate(value, "max_rate")
    except ValueError as error:
        raise InputError(f"{error}.") from None
    if rate is not None and not MIN_ENDPOINT_RATE <= rate <= MAX_ENDPOINT_RATE:
        raise InputError(
            f"max_rate must be between {MIN_ENDPOINT_RATE:g} and {MAX_ENDPOINT_RATE:g} requests per second, "
            f"not {value!r}."
        )
    return rate


def _release_version(content_digest: str) -> str:
    """A shipped suite's version: the compat_diff release and its content's digest."""
    from compat_diff import __version__

    return f"{__version__}-{content_digest[:10]}"


def _newest_recording(files: list[Path]) -> str:
    """When the newest of the recordings was made (their headers' ``created``), for a manifest that
    does not depend on when it was built."""
    dates = []
    for path in files:
        with path.open("rb") as reader:
            try:
                header = json.loads(reader.readline() or b"{}")
            except ValueError:
                continue
        if isinstance(header, dict) and isinstance(header.get("created"), str):
            dates.append(header["created"])
    return max(dates, default="1970-01-01T00:00:00+00:00")


def check_name(kind: str, name: str) -> str:
    if not name or len(name) > 60 or not set(name) <= NAME_CHARS:
        raise InputError(f"a {kind} name is 1 to 60 lowercase letters, digits, '-' or '_', got {name!r}.")
    return name


class Service:
    def __init__(
        self,
        config: ServiceConfig,
        *,
        clock: Clock = utc_now,
        resolver: Resolver = system_resolver,
        engine: Engine | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.resolver = resolver
        config.data.mkdir(parents=True, exist_ok=True)
        self.engine = engine or db.make_engine(config.database)
        db.migrate(self.engine)
        self.box = load_secret_key(config.secret_key, config.data)

    # ---------------------------------------------------------------- suites

    @property
    def suite_store(self) -> Path:
        return self.config.data / "suites"

    def register_suite(self, folder: Path) -> dict[str, Any]:
        """Install and record a suite version; registering the same one again changes nothing.

        Processes starting at once on one database may all register the same suite: the unique
        (name, version) key lets one insert win, and the others read the winner's row instead."""
        manifest, installed = install_suite(folder, self.suite_store)
        try:
            inserted = self._insert_suite(manifest, installed)
        except IntegrityError:
            # Another process inserted it between our look and our insert: its row is the suite.
            inserted = False
            if self._registered_suite(manifest) is None:
                raise
            log.info(
                "suite %s@%s was registered meanwhile by another process",
                manifest["name"],
                manifest["suite_version"],
            )
        if inserted:
            log.info(
                "suite %s@%s registered (%s)", manifest["name"], manifest["suite_version"], manifest["digest"]
            )
        return manifest

    def _registered_suite(self, manifest: dict[str, Any]) -> Any:
        """The stored row of the manifest's suite version (None: not registered); refuses another digest."""
        with self.engine.connect() as conn:
            existing = conn.execute(
                select(db.suites).where(
                    db.suites.c.name == manifest["name"], db.suites.c.version == manifest["suite_version"]
                )
            ).first()
        if existing is not None and existing.digest != manifest["digest"]:
            raise InputError(
                f"suite {manifest['name']}@{manifest['suite_version']} is registered with another digest; "
                "suites are immutable, give the new one another version."
            )
        return existing

    def _insert_suite(self, manifest: dict[str, Any], installed: Path) -> bool:
        """Insert the suite and its capability states in one transaction; False when it was there."""
        if self._registered_suite(manifest) is not None:
            return False
        with self.engine.begin() as conn:
            inserted = conn.execute(
                insert(db.suites).values(
                    name=manifest["name"],
                    version=manifest["suite_version"],
                    digest=manifest["digest"],
                    path=str(installed.resolve()),
                    manifest=manifest,
                    created=self.clock(),
                )
            )
            suite_id = new_id(inserted)
            rows = [
                {"suite_id": suite_id, "service": service, "operation": operation, "state": state}
                for service, operations in manifest["capabilities"].items()
                for operation, state in operations.items()
            ]
            if rows:
                conn.execute(insert(db.capabilities), rows)
        return True

    def register_bundled_suite(self, recordings: Path, version: str | None = None) -> dict[str, Any] | None:
        """The recordings shipped with compat_diff, as the suite ``bundled``; its version names the
        compat_diff release and the recordings' content, so changed recordings make a new version."""
        if not recordings.is_dir():
            return None
        files = sorted(recordings.glob("*.jsonl"))
        if version is None:
            content = hashlib.sha256()
            for path in files:
                content.update(f"{path.name}:{sha256_file(path)}\n".encode())
            version = _release_version(content.hexdigest())

        def stage(staged: Path) -> list[Path]:
            for path in files:
                shutil.copy2(path, staged / path.name)
                blobs = path.with_name(path.name + ".blobs")
                if blobs.is_dir():
                    shutil.copytree(blobs, staged / blobs.name)
            return [staged / path.name for path in files]

        return self._register_shipped("bundled", version, stage)

    def register_generated_suite(self, archive: Path, version: str | None = None) -> dict[str, Any] | None:
        """The committed recording of the generated suite, as the suite ``generated``: one
        recording per service, versioned by the compat_diff release and the archive's content."""
        if not archive.is_file():
            log.warning("the generated suite %s is missing; the suite generated is not offered", archive)
            return None
        from compat_diff.service.suites import unpack_generated

        version = version or _release_version(sha256_file(archive))
        return self._register_shipped("generated", version, lambda staged: unpack_generated(archive, staged))

    def _register_shipped(
        self, name: str, version: str, stage: Callable[[Path], list[Path]]
    ) -> dict[str, Any] | None:
        """Register a suite shipped with compat_diff, whose version names its content.

        Every process of a deployment does this at start, possibly at the same moment: the manifest
        is built the same everywhere (its creation time is the recordings' own), in a staging folder
        of this call's own, and a version already registered is taken as it is."""
        with self.engine.connect() as conn:
            registered = conn.execute(
                select(db.suites.c.manifest).where(db.suites.c.name == name, db.suites.c.version == version)
            ).scalar()
        if registered is not None:
            return dict(registered)
        staging_root = self.config.data / "staging"
        staging_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{name}-", dir=staging_root) as staging:
            staged = Path(staging)
            files = stage(staged)
            build_suite(staged, name=name, version=version, created=_newest_recording(files))
            return self.register_suite(staged)

    def suites(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.suites).order_by(db.suites.c.name, db.suites.c.id)).all()
        return [
            {
                "name": row.name,
                "version": row.version,
                "digest": row.digest,
                "exchanges": sum(r["exchanges"] for r in row.manifest["recordings"]),
                "services": sorted(row.manifest["capabilities"]),
                "provenance": row.manifest["provenance"],
            }
            for row in rows
        ]

    def suite_row(self, spec: str) -> Any:
        name, _, version = spec.partition("@")
        query = select(db.suites).where(db.suites.c.name == name)
        if version:
            query = query.where(db.suites.c.version == version)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(db.suites.c.id.desc())).first()
        if row is None:
            raise NotFound(f"no suite {spec!r} is registered.")
        return row

    def capability_states(self, suite_id: int) -> dict[tuple[str, str], str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.capabilities).where(db.capabilities.c.suite_id == suite_id)).all()
        return {(row.service, row.operation): row.state for row in rows}

    def set_capability(self, suite_spec: str, service: str, operation: str, state: str) -> None:
        from compat_diff.service.suites import STATES

        if state not in STATES:
            raise InputError(f"a capability state is one of {', '.join(STATES)}, got {state!r}.")
        suite = self.suite_row(suite_spec)
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(db.capabilities)
                .where(
                    db.capabilities.c.suite_id == suite.id,
                    db.capabilities.c.service == service,
                    db.capabilities.c.operation == operation,
                )
                .values(state=state)
            ).rowcount
        if not changed:
            raise NotFound(f"suite {suite_spec} has no operation {service}.{operation}.")

    # ---------------------------------------------------------------- providers and tokens

    def create_provider(self, name: str) -> str:
        check_name("provider", name)
        token = new_token()
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                provider_id = new_id(conn.execute(insert(db.providers).values(name=name, created=now)))
                conn.execute(
                    insert(db.tokens).values(
                        provider_id=provider_id,
                        prefix=token[:8],
                        digest=token_digest(token),
                        expires=token_expiry(now),
                    )
                )
        except IntegrityError:
            raise InputError(f"a provider named {name!r} exists already.") from None
        log.info("provider %s created", name)
        return token

    def issue_token(self, provider: str, days: int = 90) -> str:
        row = self.provider_row(provider)
        token = new_token()
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.tokens).values(
                    provider_id=row.id,
                    prefix=token[:8],
                    digest=token_digest(token),
                    expires=token_expiry(self.clock(), days),
                )
            )
        return token

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer TOKEN`` header; anonymous without one."""
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Forbidden("the Authorization header must be 'Bearer TOKEN'.")
        admin = self.config.admin_token
        if admin and same_secret(token, admin):
            return Principal(admin=True)
        with self.engine.connect() as conn:
            row = conn.execute(select(db.tokens).where(db.tokens.c.digest == token_digest(token))).first()
        if row is None or row.revoked is not None:
            raise Forbidden("the token is not valid.")
        expires = aware(row.expires)
        if expires is not None and expires < self.clock():
            raise Forbidden("the token has expired; ask the operator for a new one.")
        return Principal(provider_id=row.provider_id)

    def provider_row(self, name: str) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.providers).where(db.providers.c.name == name)).first()
        if row is None:
            raise NotFound(f"no provider {name!r}.")
        return row

    def provider_for(self, principal: Principal, name: str) -> Any:
        """The provider ``name`` if ``principal`` may act for it; the same answer as a missing one
        otherwise, so a provider cannot probe for another's names."""
        try:
            row = self.provider_row(name)
        except NotFound:
            if principal.admin:
                raise
            raise Forbidden(f"this token may not act for provider {name!r}.") from None
        if not principal.may_act_for(row.id):
            raise Forbidden(f"this token may not act for provider {name!r}.")
        return row

    def set_declared(self, principal: Principal, provider: str, declared: Mapping[str, Any]) -> int:
        row = self.provider_for(principal, provider)
        with self.engine.begin() as conn:
            conn.execute(
                update(db.providers).where(db.providers.c.id == row.id).values(declared=dict(declared))
            )
        return sum(len(v) for v in declared.values() if isinstance(v, Mapping))

    # ---------------------------------------------------------------- endpoints

    def add_endpoint(self, principal: Principal, provider: str, body: Mapping[str, Any]) -> dict[str, Any]:
        row = self.provider_for(principal, provider)
        name = check_name("endpoint", str(body.get("name") or ""))
        url = str(body.get("endpoint") or "")
        per_service = {str(k): str(v) for k, v in dict(body.get("endpoints") or {}).items()}
        for candidate_url in [url, *per_service.values()]:
            check_url(candidate_url, self.config.allow_private_endpoints, self.resolver)
        access_key = str(body.get("access_key") or "")
        secret_key = str(body.get("secret_key") or "")
        if not access_key or not secret_key:
            raise InputError("an endpoint needs access_key and secret_key for the suite's calls.")
        max_rate = endpoint_rate(body.get("max_rate"))
        schedule = body.get("schedule")
        next_scheduled = None
        if schedule:
            from compat_diff.service.cron import next_time

            next_scheduled = next_time(str(schedule), self.clock())
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(db.endpoints).values(
                        provider_id=row.id,
                        name=name,
                        endpoint=url,
                        region=str(body.get("region") or "us-east-1"),
                        services=[str(s) for s in body.get("services") or []],
                        endpoints=per_service,
                        s3_addressing=str(body.get("s3_addressing") or "path"),
                        declared_version=body.get("declared_version"),
                        credentials=seal(self.box, {"access_key": access_key, "secret_key": secret_key}),
                        schedule=str(schedule) if schedule else None,
                        schedule_suite=str(body.get("suite") or "bundled"),
                        next_scheduled=next_scheduled,
                        created=self.clock(),
                        max_rate=max_rate,
                    )
                )
        except IntegrityError:
            raise InputError(f"provider {provider!r} has an endpoint named {name!r} already.") from None
        log.info("endpoint %s/%s registered at %s", provider, name, url)
        return {"name": name}

    def endpoint_row(self, provider_id: int, name: str) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(db.endpoints).where(
                    db.endpoints.c.provider_id == provider_id, db.endpoints.c.name == name
                )
            ).first()
        if row is None:
            raise NotFound(f"no endpoint {name!r} for this provider.")
        return row

    def endpoint_by_id(self, endpoint_id: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(db.endpoints).where(db.endpoints.c.id == endpoint_id)).one()

    def describe_endpoint(self, endpoint: Any) -> dict[str, Any]:
        """What an endpoint is, without its credentials: shown by the API and signed by attestations."""
        with self.engine.connect() as conn:
            provider = conn.execute(
                select(db.providers.c.name).where(db.providers.c.id == endpoint.provider_id)
            ).scalar_one()
        return {
            "provider": provider,
            "name": endpoint.name,
            "endpoint": endpoint.endpoint,
            "region": endpoint.region,
            "services": list(endpoint.services),
            "endpoints": dict(endpoint.endpoints),
            "s3_addressing": endpoint.s3_addressing,
            "declared_version": endpoint.declared_version,
            "schedule": endpoint.schedule,
            # The endpoint's own request-rate limit; null: the service's endpoint_max_rate.
            "max_rate": endpoint.max_rate,
        }

    def endpoints(self, principal: Principal, provider: str) -> list[dict[str, Any]]:
        row = self.provider_for(principal, provider)
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.endpoints).where(db.endpoints.c.provider_id == row.id)).all()
        return [self.describe_endpoint(r) for r in rows]

    def credentials(self, endpoint: Any) -> dict[str, str]:
        return unseal(self.box, endpoint.credentials)

    def count(self, table: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
