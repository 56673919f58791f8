"""`checkout-engine db upgrade|current`: the engine's tables and their revision (adr/0012).

Both use DATABASE_URL, or else the running engine's database, as `projections` does; with
neither they exit 2 (entrypoints.running_engine) and start no database of their own:
`run` migrates the embedded one itself. Configuration errors reach the main CLI, which
exits 2.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import NoReturn

import click
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from entrypoints.bootstrap import build_db
from entrypoints.running_engine import data_dir_option, database_url
from infrastructure.observability import configure_logging
from infrastructure.settings import load_settings
from projections.migrations import current_revision, head_revision, migrate


def _fail(message: str) -> NoReturn:
    click.echo(f"checkout-engine: error: {message}", err=True)
    sys.exit(1)


@contextmanager
def _db() -> Iterator[Engine]:
    url = database_url(load_settings())
    configure_logging("db", logging.WARNING)  # stdout says what happened
    with ExitStack() as stack:
        db = build_db(url, pool_size=1)
        stack.callback(db.dispose)
        try:
            yield db
        except sa.exc.OperationalError as exc:
            _fail(f"database: {str(exc.orig or exc).strip().splitlines()[0]}")


def describe(revision: str | None) -> str:
    """Like `alembic current`: "0004 (head)"; "none" before the first migration."""
    if revision is None:
        return "none"
    return f"{revision} (head)" if revision == head_revision() else revision


@click.group(
    "db", subcommand_metavar="COMMAND [ARGS]", short_help="Schema migrations: upgrade, current."
)
def db() -> None:
    """The engine's tables: apply the migrations, show the revision."""


@db.command("upgrade", short_help="Apply the migrations this database lacks.")
@data_dir_option
def upgrade_command() -> None:
    """Apply the migrations this database lacks (safe while other processes start)."""
    with _db() as db:
        with db.connect() as conn:
            before = current_revision(conn)
        after = migrate(db)
    if before == after:
        click.echo(f"database already at {describe(after)}")
    else:
        click.echo(f"database upgraded from {describe(before)} to {describe(after)}")


@db.command("current", short_help="Print the revision the database is at.")
@data_dir_option
def current_command() -> None:
    """Print the revision the database is at."""
    with _db() as db, db.connect() as conn:
        click.echo(describe(current_revision(conn)))
