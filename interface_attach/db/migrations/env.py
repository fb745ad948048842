"""Alembic environment: run migrations on the connection db_sync hands in."""

from alembic import context

from interface_attach.db import tables

connection = context.config.attributes['connection']
context.configure(connection=connection, target_metadata=tables.metadata,
                  render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
