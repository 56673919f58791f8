"""A database at revision 0001, with rows in it, upgraded to head."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from projections.migrations import head_revision, migrate, upgrade_database
from tests.integration.migrations.rows import (
    assert_head_tables_take_rows,
    assert_rows_intact,
    write_rows_at_0001,
)
from tests.integration.migrations.schema_shape import (
    downgrade_to,
    revision_in_database,
    shape_of,
    upgrade_to,
)


def test_rows_written_at_0001_survive_and_the_new_tables_take_rows(db: Engine) -> None:
    upgrade_to(db, "0001")
    written = write_rows_at_0001(db)

    assert upgrade_database(db) == head_revision()

    assert revision_in_database(db) == [head_revision()]
    assert {"capture_review_view", "follower_dead_letters"} <= shape_of(db).tables()
    assert_rows_intact(db, written)
    assert_head_tables_take_rows(db, written)


def test_each_revision_downgrades_to_what_it_upgraded_from(db: Engine) -> None:
    upgrade_to(db, "0001")
    at_0001 = shape_of(db)
    upgrade_to(db, "head")

    downgrade_to(db, "0001")
    assert shape_of(db) == at_0001
    downgrade_to(db, "base")
    assert shape_of(db).tables() == set()


def test_a_database_newer_than_this_code_is_left_as_it_is(
    db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A rolling deploy: newer code has migrated further; older processes still start."""
    upgrade_to(db, "head")
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))

    assert migrate(db) == "9999"

    assert revision_in_database(db) == ["9999"]
    assert f"database schema 9999 is newer than this code's {head_revision()}" in caplog.messages
