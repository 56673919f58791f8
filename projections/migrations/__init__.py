"""The engine's own tables, created and changed by hand-written Alembic revisions (adr/0012).

Every table the engine owns comes from ``versions/``: the read models, projection_tracking,
provider_tasks, webhook_inbox, relay_position, capture_review_view, follower_dead_letters
(``projections.schema`` describes them to the code). The eventsourcing library's tables
(checkout_events, snapshots) are the library's: it creates them itself.

``upgrade_database(db)`` is the one creator: every process runs it as it starts, never
inside a request. It costs nothing once this process has seen the database at head, and
one query while the database is at head. Otherwise it migrates in one transaction holding
an advisory lock, so processes starting at once take turns, and the last ones find nothing
to do.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# The standard library's logging, as Alembic's own: a command that has not configured
# logging (`projections status`) keeps its stdout to itself.
log = logging.getLogger(__name__)

SCRIPT_LOCATION = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"
PRE_ALEMBIC_REVISION = "0001"  # the schema the create_all code made before Alembic

# Its own key: a session that holds another schema lock (infrastructure.database) and then
# migrates on a second connection must not wait for itself.
MIGRATION_LOCK_KEY = 0x63652D6D69677261  # "ce-migra"

_migrated: dict[str, str] = {}  # URL -> the revision this process found or left it at


def alembic_config(connection: Connection | None = None) -> Config:
    """A programmatic Alembic configuration; ``connection`` is what env.py migrates."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError(f"no revisions under {SCRIPT_LOCATION / 'versions'}")
    return head


def _known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None when no migration has ever run on it."""
    # pg_tables, not to_regclass(): right after the advisory lock is granted, to_regclass
    # can still miss a version table another process has just committed (its catalog
    # cache lags), and this process would stamp and migrate a second time.
    exists = conn.execute(
        sa.text(
            "SELECT count(*) FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = :table"
        ),
        {"table": VERSION_TABLE},
    ).scalar_one()
    if not exists:
        return None
    version = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    return None if version is None else str(version)


def upgrade_database(db: Engine) -> str:
    """``migrate``, skipped when this process has already seen this database at head."""
    url = db.url.render_as_string(hide_password=False)
    if url not in _migrated:
        _migrated[url] = migrate(db)
    return _migrated[url]


def migrate(db: Engine) -> str:
    """Apply the revisions the database lacks; safe when several processes start at once.

    Returns the revision the database is at afterwards.
    """
    head = head_revision()
    with db.connect() as conn:
        current = current_revision(conn)
        conn.rollback()
        if current == head:
            return head
        if current is not None and current not in _known_revisions():
            # Newer code migrated this database (a rolling deploy): its revisions only
            # add what older code can ignore (adr/0012), so this process runs on.
            log.warning("database schema %s is newer than this code's %s", current, head)
            return current
        with conn.begin():
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            _upgrade(conn)
    return head


def _upgrade(conn: Connection) -> None:
    from alembic import command

    config = alembic_config(conn)
    # Read again under the lock: another process may have migrated meanwhile.
    before = current_revision(conn)
    if before is None and _made_before_alembic(conn):
        log.info("stamping a database made before migrations at %s", PRE_ALEMBIC_REVISION)
        command.stamp(config, PRE_ALEMBIC_REVISION)
        before = PRE_ALEMBIC_REVISION
    command.upgrade(config, "head")
    after = current_revision(conn)
    if after != before:
        log.info("database migrated from %s to %s", before or "nothing", after)


def _made_before_alembic(conn: Connection) -> bool:
    """No version table, and every table revision 0001 creates is there already."""
    tables: tuple[str, ...] = _scripts().get_revision(PRE_ALEMBIC_REVISION).module.TABLES
    found = conn.execute(
        sa.text(
            "SELECT count(*) FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = ANY(:tables)"
        ),
        {"tables": list(tables)},
    ).scalar_one()
    return bool(found == len(tables))
