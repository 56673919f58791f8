"""Alembic's environment, run by ``projections.migrations`` on the connection it hands over.

There is no alembic.ini and no URL here: the caller has opened a transaction and holds the
migration lock on that connection, so every revision and the version row commit together.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "run the migrations through projections.migrations.migrate "
            "or `checkout-engine db upgrade`"
        )
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations_online()
