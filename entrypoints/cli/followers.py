"""`checkout-engine followers status|skip|retry` (registered by the main CLI).

A follower stopped at an event it cannot apply waits for a person (projections.dead_letters):
``skip`` moves its position past the event, on record with who and why; ``retry`` lets it try
again after a fix. Both act through the database, so they work on a running engine.
"""

from __future__ import annotations

import getpass

import click
from sqlalchemy.engine import Engine

from entrypoints.bootstrap import build_db
from entrypoints.running_engine import data_dir_option
from infrastructure.followers import FOLLOWERS, retry, skip
from projections.dead_letters import DeadLetters, NoDeadLetter
from projections.migrations import upgrade_database
from projections.tracking import read_position


def _db(ctx: click.Context) -> Engine:
    # The main CLI's lookup: DATABASE_URL, else the running engine's database.
    lookup = ctx.obj["database_url"]
    url = str(lookup() if callable(lookup) else lookup)
    db = build_db(url, pool_size=2)
    ctx.call_on_close(db.dispose)
    upgrade_database(db)  # the views, positions and dead letters (adr/0012)
    return db


def _known(follower: str) -> str:
    if follower not in FOLLOWERS:
        raise click.BadParameter(f"no follower {follower!r} (known: {', '.join(FOLLOWERS)})")
    return follower


@click.group(
    subcommand_metavar="COMMAND [ARGS]", short_help="The log's followers: status, skip, retry."
)
def followers() -> None:
    """The followers of the event log and the events they stopped at."""


@followers.command("status", short_help="Each follower's position and where it stopped.")
@data_dir_option
@click.pass_context
def followers_status(ctx: click.Context) -> None:
    """Each follower's position, and the dead letter it is stopped at, if any."""
    db = _db(ctx)
    stopped = {d.follower: d for d in DeadLetters(db).unresolved()}
    with db.connect() as conn:
        positions = {name: read_position(conn, name) for name in FOLLOWERS}
    for name in FOLLOWERS:
        letter = stopped.get(name)
        state = (
            f"STOPPED at {letter.position} ({letter.topic}, {letter.attempts} tries): "
            f"{letter.error}"
            if letter
            else "following"
        )
        click.echo(f"{name:<16} position {positions[name]:<10} {state}")


@followers.command("skip", short_help="Move a stopped follower past the event it stopped at.")
@click.argument("follower")
@click.argument("position", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why the event may be skipped (kept on record).")
@click.option("--by", default=None, help="Who decided (default: the login name).")
@data_dir_option
@click.pass_context
def followers_skip(
    ctx: click.Context, follower: str, position: int, reason: str, by: str | None
) -> None:
    """Move FOLLOWER past the event at POSITION it could not apply; the event is not applied."""
    if not reason.strip():
        raise click.BadParameter("must not be empty", param_hint="--reason")
    try:
        skip(_db(ctx), _known(follower), position, by or getpass.getuser(), reason)
    except NoDeadLetter as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"{follower} skips the event at {position}")


@followers.command("retry", short_help="Let a stopped follower try its event again.")
@click.argument("follower")
@click.option("--reason", default="retried after a fix", help="Kept on record.")
@click.option("--by", default=None, help="Who decided (default: the login name).")
@data_dir_option
@click.pass_context
def followers_retry(ctx: click.Context, follower: str, reason: str, by: str | None) -> None:
    """Let FOLLOWER try the event it stopped at again (after a fix)."""
    try:
        positions = retry(_db(ctx), _known(follower), by or getpass.getuser(), reason)
    except NoDeadLetter as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"{follower} retries the event at {', '.join(map(str, positions))}")
