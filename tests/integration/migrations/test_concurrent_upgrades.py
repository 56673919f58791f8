"""Processes starting at once all migrate: they take turns, and nothing runs twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infrastructure.database import DatabaseAddress
from projections.migrations import MIGRATION_LOCK_KEY, head_revision, migrate, upgrade_database
from tests.integration.migrations.rows import assert_rows_intact, write_rows_at_0001
from tests.integration.migrations.schema_shape import revision_in_database, shape_of
from tests.waiting import wait_until


def test_upgrading_twice_changes_nothing_the_second_time(db: Engine) -> None:
    assert migrate(db) == head_revision()
    written = write_rows_at_0001(db)
    shape = shape_of(db)

    assert migrate(db) == head_revision()
    assert upgrade_database(db) == head_revision()
    assert upgrade_database(db) == head_revision()

    assert shape_of(db) == shape
    assert revision_in_database(db) == [head_revision()]
    assert_rows_intact(db, written)


def test_two_threads_upgrading_at_once_take_turns(db: Engine, database_url: str) -> None:
    """Both are made to find the database empty and wait on the lock at the same time."""
    engines = [DatabaseAddress.parse(database_url).sqlalchemy_engine(pool_size=1) for _ in "ab"]
    results: list[str] = []
    errors: list[BaseException] = []

    def upgrade(target: Engine) -> Callable[[], None]:
        def run() -> None:
            try:
                results.append(migrate(target))
            except BaseException as exc:
                errors.append(exc)

        return run

    holder = db.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        holder.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
        threads = [threading.Thread(target=upgrade(target)) for target in engines]
        for thread in threads:
            thread.start()
        wait_until(lambda: waiting_for_the_lock(holder) == 2, timeout=30)
        holder.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
        for thread in threads:
            thread.join(timeout=60)
    finally:
        holder.close()
        for target in engines:
            target.dispose()

    assert errors == []
    assert results == [head_revision(), head_revision()]
    assert revision_in_database(db) == [head_revision()]


def waiting_for_the_lock(conn: sa.Connection) -> int:
    query = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return int(conn.execute(query).scalar_one())
