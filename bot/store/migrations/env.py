"""Alembic environment: runs on the connection handed over by ``bot.store.db.migrate``."""

from __future__ import annotations

from alembic import context

from bot.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through bot.store.db.migrate
    raise RuntimeError("run migrations through `rasad` (bot.store.db.migrate), which passes a connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
