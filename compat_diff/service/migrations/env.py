"""Alembic environment: the service passes its own connection (see ``db.migrate``)."""

from __future__ import annotations

from alembic import context

from compat_diff.service.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
