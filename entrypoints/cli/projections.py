"""`checkout-engine projections status|rebuild NAME` (registered by the main CLI).

The main CLI puts a lookup of the database URL in ``ctx.obj["database_url"]`` (DATABASE_URL,
else the running engine's); the work is done by ``show_status`` and ``run_rebuild``, which
take the URL, so tests call them directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from entrypoints.bootstrap import build_application, build_db
from entrypoints.running_engine import data_dir_option
from projections import PROJECTIONS_BY_NAME, projection_named
from projections.migrations import upgrade_database
from projections.rebuild import Progress, RebuildInProgress, RebuildResult, rebuild
from projections.runner import ProjectionStatus, status


@contextmanager
def connected(database_url: str) -> Iterator[tuple[CheckoutApplication, Engine]]:
    app = build_application(database_url, pool_size=2)
    db = build_db(database_url, pool_size=2)
    try:
        upgrade_database(db)  # the views, positions and dead letters (adr/0012)
        yield app, db
    finally:
        db.dispose()
        app.close()


def format_status(rows: list[ProjectionStatus]) -> str:
    header = ("name", "position", "head", "lag events", "lag seconds")
    lines = [header] + [
        (r.name, str(r.position), str(r.head), str(r.lag_events), f"{r.lag_seconds:.1f}")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def show_status(database_url: str) -> list[ProjectionStatus]:
    with connected(database_url) as (app, db):
        rows = status(app, db)
    click.echo(format_status(rows))
    return rows


def decile_progress(name: str) -> Progress:
    """A stderr line each time another tenth of the log is done."""
    shown = -1

    def report(done: int, total: int) -> None:
        nonlocal shown
        decile = 10 if total <= 0 else min(10, done * 10 // total)
        if decile > shown:
            shown = decile
            click.echo(f"rebuilding {name}: {decile * 10}% ({done}/{total})", err=True)

    return report


def run_rebuild(database_url: str, name: str) -> RebuildResult:
    projection = projection_named(name)
    with connected(database_url) as (app, db):
        result = rebuild(app, db, projection, decile_progress(name))
    click.echo(
        f"rebuilt {name}: {result.events} events in {result.seconds:.2f} s "
        f"({result.events_per_s:.0f} events/s), {result.applied} of them of its topics",
        err=True,
    )
    return result


def _database_url() -> str:
    obj = click.get_current_context().obj
    lookup = obj.get("database_url") if isinstance(obj, dict) else None
    url = lookup() if callable(lookup) else lookup
    if not url:
        raise click.UsageError("no database URL configured (DATABASE_URL)")
    return str(url)


@click.group(
    "projections",
    subcommand_metavar="COMMAND [ARGS]",
    short_help="Read models: their lag, and rebuilding one.",
)
def projections() -> None:
    """Read models: where they stand, and rebuilding them from the log."""


@projections.command("status", short_help="Position, head and lag of every projection.")
@data_dir_option
def status_command() -> None:
    """Position, head and lag of every projection."""
    show_status(_database_url())


@projections.command("rebuild", short_help="Rebuild a view from the first event.")
@click.argument("name", type=click.Choice(sorted(PROJECTIONS_BY_NAME)))
@data_dir_option
def rebuild_command(name: str) -> None:
    """Replay the whole log into NAME's tables while the API keeps serving the old ones."""
    try:
        run_rebuild(_database_url(), name)
    except RebuildInProgress as exc:
        raise click.ClickException(str(exc)) from None
