"""Followers of the event log (the projections and the provider-task feed): their dead
letters on /metrics and /readyz, and `checkout-engine followers status|skip|retry`.

A follower stopped at an event it cannot apply waits for a person (projections.dead_letters):
``skip`` moves its position past the event, on record with who and why; ``retry`` lets it try
again after a fix. Both act through the database, so they work on a running engine.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable

import click
import psycopg
import sqlalchemy as sa
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from infrastructure.database import DatabaseAddress
from infrastructure.readiness import Check
from infrastructure.running_engine import data_dir_option
from projections import ALL_PROJECTIONS
from projections.dead_letters import RETRIED, SKIPPED, DeadLetters, NoDeadLetter
from projections.schema import create_schema, projection_tracking
from projections.tracking import ensure_tracking_row, read_position

log = structlog.get_logger(__name__)

PROVIDER_TASKS = "provider_tasks"  # the worker's feed (infrastructure.worker.task_projection)
FOLLOWERS = (*(p.name for p in ALL_PROJECTIONS), PROVIDER_TASKS)


class FollowerCollector(Collector):
    """``checkout_follower_dead_letters{follower}`` and ``checkout_follower_stalled{follower}``."""

    def __init__(self, engine: Engine) -> None:
        self._letters = DeadLetters(engine)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        letters = GaugeMetricFamily(
            "checkout_follower_dead_letters",
            "Events a follower could not apply and no one has skipped or retried yet",
            labels=["follower"],
        )
        stalled = GaugeMetricFamily(
            "checkout_follower_stalled",
            "1 while a follower is stopped at a dead letter (it applies nothing after it)",
            labels=["follower"],
        )
        return letters, stalled

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        try:
            census = self._letters.census()
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
            log.warning("follower metrics unavailable", error=str(exc))
            return []
        letters, stalled = self._families()
        for follower in sorted(set(FOLLOWERS) | set(census)):
            count = census.get(follower, 0)
            letters.add_metric([follower], count)
            stalled.add_metric([follower], 1 if count else 0)
        return [letters, stalled]


def check_followers(engine: Engine) -> Check:
    """Not ready while any follower is stopped: what it serves no longer follows the log."""
    try:
        stopped = DeadLetters(engine).unresolved()
    except Exception as exc:  # reported, never raised: /readyz answers for everything
        return Check("followers", False, type(exc).__name__)
    if not stopped:
        return Check("followers", True, "ok")
    detail = "; ".join(f"{d.follower} stopped at {d.position}" for d in stopped)
    return Check("followers", False, detail)


def skip(engine: Engine, follower: str, position: int, by: str, reason: str) -> None:
    """Resolve the dead letter as skipped and move the follower's position past it, at once."""
    letters = DeadLetters(engine)
    t = projection_tracking
    with engine.begin() as conn:
        letters.resolve(conn, follower, position, SKIPPED, by, reason)
        ensure_tracking_row(conn, follower)
        conn.execute(
            sa.update(t)
            .where(t.c.name == follower, t.c.position < position)
            .values(position=position, updated_at=sa.func.now())
        )
    log.warning(
        "follower skipped an event", follower=follower, position=position, by=by, reason=reason
    )


def retry(engine: Engine, follower: str, by: str, reason: str) -> list[int]:
    """Let the follower try its dead letters again; returns their positions."""
    letters = DeadLetters(engine)
    positions = [d.position for d in letters.unresolved(follower)]
    if not positions:
        raise NoDeadLetter(follower)
    with engine.begin() as conn:
        for position in positions:
            letters.resolve(conn, follower, position, RETRIED, by, reason)
    return positions


# -- the CLI ---------------------------------------------------------------------------


def _engine(ctx: click.Context) -> Engine:
    # The main CLI's lookup: DATABASE_URL, else the running engine's database.
    lookup = ctx.obj["database_url"]
    url = str(lookup() if callable(lookup) else lookup)
    engine = DatabaseAddress.parse(url).sqlalchemy_engine(pool_size=2)
    ctx.call_on_close(engine.dispose)
    create_schema(engine)
    return engine


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
    engine = _engine(ctx)
    stopped = {d.follower: d for d in DeadLetters(engine).unresolved()}
    with engine.connect() as conn:
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
        skip(_engine(ctx), _known(follower), position, by or getpass.getuser(), reason)
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
        positions = retry(_engine(ctx), _known(follower), by or getpass.getuser(), reason)
    except NoDeadLetter as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"{follower} retries the event at {', '.join(map(str, positions))}")
