"""The service's own tables (SQLAlchemy 2 Core) and the engine that holds them.

The schema is created and upgraded by Alembic migrations (``service/migrations``); the tables
here are the Python side of the same schema. SQLite runs in WAL mode with a busy timeout so API
threads and workers share the file; PostgreSQL is the same code with another URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine

metadata = MetaData()

suites = Table(
    "suites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("version", String(50), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("path", Text, nullable=False),
    Column("manifest", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    UniqueConstraint("name", "version", name="uq_suite_version"),
)

# Per-operation capability states of a suite version, as data: changing them re-scores old runs
# from their stored results without replaying anything.
capabilities = Table(
    "capabilities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("suite_id", Integer, ForeignKey("suites.id"), nullable=False),
    Column("service", String(100), nullable=False),
    Column("operation", String(200), nullable=False),
    Column("state", String(20), nullable=False),
    UniqueConstraint("suite_id", "service", "operation", name="uq_capability"),
)

providers = Table(
    "providers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created", DateTime(timezone=True), nullable=False),
    # The provider's own declared support table ({service: {operation: state}}), for declared vs observed.
    Column("declared", JSON, nullable=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("provider_id", Integer, ForeignKey("providers.id"), nullable=False),
    Column("prefix", String(20), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("expires", DateTime(timezone=True), nullable=False),
    Column("revoked", DateTime(timezone=True), nullable=True),
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("provider_id", Integer, ForeignKey("providers.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("region", String(50), nullable=False),
    Column("services", JSON, nullable=False),
    Column("endpoints", JSON, nullable=False),
    Column("s3_addressing", String(10), nullable=False),
    Column("declared_version", String(100), nullable=True),
    # access key and secret key, encrypted together with the configuration's secret key.
    Column("credentials", LargeBinary, nullable=False),
    Column("schedule", String(100), nullable=True),
    Column("schedule_suite", String(150), nullable=True),
    Column("next_scheduled", DateTime(timezone=True), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    # Requests per second toward the endpoint, over all its shards (None: the service's default).
    Column("max_rate", Float, nullable=True),
    UniqueConstraint("provider_id", "name", name="uq_endpoint_name"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("endpoint_id", Integer, ForeignKey("endpoints.id"), nullable=False),
    Column("suite_id", Integer, ForeignKey("suites.id"), nullable=False),
    Column("state", String(20), nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("started", DateTime(timezone=True), nullable=True),
    Column("finished", DateTime(timezone=True), nullable=True),
    Column("shards_total", Integer, nullable=False),
    Column("score", Float, nullable=True),
    Column("summary", JSON, nullable=True),
    Column("error", Text, nullable=True),
    # Who finalizes: the same claim-with-attempt protocol as shards, so two workers never both do.
    Column("finalize_attempt", Integer, nullable=False, default=0),
    Column("finalize_lease", DateTime(timezone=True), nullable=True),
)

# The leaderboard asks for each endpoint's newest ended run of a suite.
Index("ix_runs_endpoint_state", runs.c.endpoint_id, runs.c.state, runs.c.suite_id)

shards = Table(
    "shards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("key", String(300), nullable=False),
    Column("recording", Text, nullable=False),
    Column("session", String(200), nullable=False),
    Column("exchanges", Integer, nullable=False),
    Column("endpoint_id", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("worker", String(100), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    UniqueConstraint("run_id", "key", name="uq_shard_key"),
)

# Written once per shard: the unique key refuses a second write, whatever attempt it comes from.
shard_results = Table(
    "shard_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("key", String(300), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(100), nullable=False),
    Column("written", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", "key", name="uq_shard_result"),
)

# One row per shard and operation: what the score and every later re-scoring are computed from.
operation_results = Table(
    "operation_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("shard_key", String(300), nullable=False),
    Column("service", String(100), nullable=False),
    Column("operation", String(200), nullable=False),
    Column("exchanges", Integer, nullable=False),
    Column("compared", Integer, nullable=False),
    Column("matching", Integer, nullable=False),
    Column("verdict", String(30), nullable=False),
    Column("detail", JSON, nullable=False),
    UniqueConstraint("run_id", "shard_key", "service", "operation", name="uq_operation_result"),
)

attestations = Table(
    "attestations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, unique=True),
    Column("endpoint_id", Integer, nullable=False),
    Column("digest", String(80), nullable=False),
    # The digest of the endpoint's previous attestation ("genesis" for its first): unique per
    # endpoint, so two runs finalizing at once cannot both extend the chain from the same link.
    Column("previous", String(80), nullable=False),
    Column("envelope", JSON, nullable=False),
    Column("bundle", LargeBinary, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    UniqueConstraint("endpoint_id", "previous", name="uq_attestation_chain"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("keyid", String(80), nullable=False, unique=True),
    Column("public", Text, nullable=False),
    # The private key, encrypted with the configuration's secret key.
    Column("private", LargeBinary, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("retired", DateTime(timezone=True), nullable=True),
    Column("serial", BigInteger, nullable=False),
)


# An operator's revocation of a provider's mark for a suite ("*": every suite), with its reason;
# lifting one keeps the row, so the public list shows what was revoked and when it was lifted.
revocations = Table(
    "revocations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("provider_id", Integer, ForeignKey("providers.id"), nullable=False),
    Column("suite", String(150), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("lifted", DateTime(timezone=True), nullable=True),
)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # Transactions are begun below, as IMMEDIATE: a claim reads then writes, and two
            # processes must not both read the same free shard before either writes.
            connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (creating it on a fresh database)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Processes starting together on one database migrate one after the other.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(72431)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def inserted_id(result: Any) -> int:
    """The primary key of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table here has an integer key
        raise RuntimeError("the insert returned no primary key")
    return int(key[0])
