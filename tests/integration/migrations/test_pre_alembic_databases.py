"""Databases made by the create_all code, before Alembic: adopted, then upgraded."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from projections.migrations import head_revision, migrate
from projections.schema import metadata, relay_position
from tests.integration.migrations.rows import (
    assert_head_tables_take_rows,
    assert_rows_intact,
    write_rows_at_0001,
)
from tests.integration.migrations.schema_shape import (
    create_pre_alembic_tables,
    pre_alembic_ddl,
    revision_in_database,
    shape_of,
    upgrade_to,
)

RELAY_POSITION_DDL = (  # the relay's own statement before Alembic
    "CREATE TABLE relay_position (name text PRIMARY KEY, position bigint NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now())"
)


def test_revision_0001_is_the_schema_create_all_made(
    db: Engine, another_engine: Callable[[], Engine]
) -> None:
    upgrade_to(db, "0001")
    pre_alembic = another_engine()
    create_pre_alembic_tables(pre_alembic)

    assert shape_of(db) == shape_of(pre_alembic)


def test_the_revisions_make_the_tables_the_code_describes(
    db: Engine, another_engine: Callable[[], Engine]
) -> None:
    """A rebuild's shadow tables come from the factories: they must match the revisions.

    projections.schema describes every table the revisions make, and nothing else.
    """
    upgrade_to(db, "head")
    from_factories = another_engine()
    with from_factories.begin() as conn:
        metadata.create_all(conn)
    described = set(metadata.tables)

    assert shape_of(db).only(described) == shape_of(from_factories)
    assert shape_of(db).tables() == described


def test_a_create_all_database_is_stamped_at_0001_and_upgraded(
    db: Engine, another_engine: Callable[[], Engine], caplog: pytest.LogCaptureFixture
) -> None:
    create_pre_alembic_tables(db)
    written = write_rows_at_0001(db)

    with caplog.at_level(logging.INFO, logger="projections.migrations"):
        assert migrate(db) == head_revision()

    assert "stamping a database made before migrations at 0001" in caplog.messages
    assert revision_in_database(db) == [head_revision()]
    assert_rows_intact(db, written)
    assert_head_tables_take_rows(db, written)
    fresh = another_engine()
    upgrade_to(fresh, "head")
    assert shape_of(db) == shape_of(fresh)


def test_a_create_all_database_missing_some_tables_gets_the_rest(
    db: Engine, another_engine: Callable[[], Engine]
) -> None:
    """Each role created its own tables: a database may lack those of a role never run."""
    create_pre_alembic_tables(db)
    with db.begin() as conn:
        conn.execute(sa.text("DROP TABLE relay_position, webhook_inbox"))

    assert migrate(db) == head_revision()

    fresh = another_engine()
    upgrade_to(fresh, "head")
    assert shape_of(db) == shape_of(fresh)


def test_a_database_made_by_the_create_all_code_of_0002_is_upgraded(
    db: Engine, another_engine: Callable[[], Engine]
) -> None:
    """The create_all code that ran before 0002 existed had already made 0002's changes."""
    with db.begin() as conn:
        # Neither the relay's own table nor the tables of the revisions after 0002; and
        # product_view and webhook_inbox as they were before 0005 and 0006 changed them.
        changed = ("product_view", "webhook_inbox")
        later = {"audit_chain", "order_stock_movements", "evidence", *changed}
        others = [
            table
            for table in metadata.sorted_tables
            if table is not relay_position and table.name not in later
        ]
        metadata.create_all(conn, tables=others)
        conn.execute(sa.text(RELAY_POSITION_DDL))
        for statement in [s for table in changed for s in pre_alembic_ddl(table)]:
            conn.execute(sa.text(statement))

    assert migrate(db) == head_revision()

    fresh = another_engine()
    upgrade_to(fresh, "head")
    assert shape_of(db) == shape_of(fresh)
