"""Followers of the event log (projections.follower: the projections and the worker's
provider-task feed): which there are, their dead letters on /metrics and /readyz, and the
skip and retry that `checkout-engine followers` runs (entrypoints.cli.followers).

A follower stopped at an event it cannot apply waits for a person (projections.dead_letters):
``skip`` moves its position past the event, on record with who and why; ``retry`` lets it try
again after a fix. Both act through the database, so they work on a running engine.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
import sqlalchemy as sa
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from infrastructure.audit.chain import FOLLOWER_NAME as AUDIT_CHAIN
from infrastructure.readiness import Check
from infrastructure.worker.task_feed import ProviderTaskFeed
from projections import ALL_PROJECTIONS
from projections.dead_letters import RETRIED, SKIPPED, DeadLetters, NoDeadLetter
from projections.schema import projection_tracking
from projections.stock_movements import StockMovements
from projections.tracking import ensure_tracking_row

log = structlog.get_logger(__name__)

FOLLOWERS = (
    *(p.name for p in ALL_PROJECTIONS),
    ProviderTaskFeed.name,
    StockMovements.name,  # the audit's index of orders' stock events (adr/0015)
    AUDIT_CHAIN,  # the log's hash chain (adr/0015): it hashes bytes, so it never refuses one
)


class FollowerCollector(Collector):
    """``checkout_follower_dead_letters{follower}`` and ``checkout_follower_stalled{follower}``."""

    def __init__(self, db: Engine) -> None:
        self._letters = DeadLetters(db)

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


def check_followers(db: Engine) -> Check:
    """Not ready while any follower is stopped: what it serves no longer follows the log."""
    try:
        stopped = DeadLetters(db).unresolved()
    except Exception as exc:  # reported, never raised: /readyz answers for everything
        return Check("followers", False, type(exc).__name__)
    if not stopped:
        return Check("followers", True, "ok")
    detail = "; ".join(f"{d.follower} stopped at {d.position}" for d in stopped)
    return Check("followers", False, detail)


def skip(db: Engine, follower: str, position: int, by: str, reason: str) -> None:
    """Resolve the dead letter as skipped and move the follower's position past it, at once."""
    letters = DeadLetters(db)
    t = projection_tracking
    with db.begin() as conn:
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


def retry(db: Engine, follower: str, by: str, reason: str) -> list[int]:
    """Let the follower try its dead letters again; returns their positions."""
    letters = DeadLetters(db)
    positions = [d.position for d in letters.unresolved(follower)]
    if not positions:
        raise NoDeadLetter(follower)
    with db.begin() as conn:
        for position in positions:
            letters.resolve(conn, follower, position, RETRIED, by, reason)
    return positions
