"""Relay metrics, and the outbox backlog as the database sees it.

The relay process updates its own gauges as it goes. Any other process (the API's
/metrics) can expose the same backlog from the database alone with
`RelayBacklogCollector`, whichever process is relaying, or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import psycopg
import sqlalchemy as sa
import structlog
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import PersistenceError
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from infrastructure.relay.messages import RELAYED_EVENT_TOPICS
from projections.schema import relay_position

DEFAULT_RELAY_NAME = "orders"

PUBLISH_LATENCY = Histogram(
    "checkout_relay_publish_latency_seconds",
    "From the domain event's timestamp (its transaction) to the broker's acknowledgement",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
PUBLISHED = Counter(
    "checkout_relay_published_total", "Records acknowledged by the broker", ["topic"]
)
FAILURES = Counter(
    "checkout_relay_failures_total", "Relay passes that failed and will be retried", ["reason"]
)
BACKLOG_EVENTS = Gauge(
    "checkout_relay_backlog_events", "Notifications this relay has not examined yet"
)
BACKLOG_SECONDS = Gauge(
    "checkout_relay_backlog_seconds", "Age of the oldest event this relay has not published"
)
ACTIVE = Gauge("checkout_relay_active", "1 while this process holds the relay lock")

log = structlog.get_logger(__name__)


def backlog_at(
    app: CheckoutApplication,
    position: int,
    head: int | None = None,
    event_topics: Sequence[str] = RELAYED_EVENT_TOPICS,
) -> tuple[int, float]:
    """(notifications after `position`, age in seconds of the oldest relayed one among them)."""
    head = app.head_position() if head is None else head
    if head <= position:
        return 0, 0.0
    oldest = app.recorder.select_notifications(
        start=position, limit=1, stop=head, topics=event_topics, inclusive_of_start=False
    )
    if not oldest:
        return head - position, 0.0
    event = app.mapper.to_domain_event(oldest[0])
    if not isinstance(event, DomainEvent):
        return head - position, 0.0
    age = (datetime.now(UTC) - event.timestamp).total_seconds()
    return head - position, max(age, 0.0)


def stored_position(db: Engine, name: str = DEFAULT_RELAY_NAME) -> int:
    """The saved relay position; 0 before any relay ran."""
    query = sa.select(relay_position.c.position).where(relay_position.c.name == name)
    with db.connect() as conn:
        if conn.execute(sa.select(sa.func.to_regclass(relay_position.name))).scalar() is None:
            return 0
        value = conn.execute(query).scalar()
    return int(value or 0)


def backlog(
    app: CheckoutApplication, db: Engine, name: str = DEFAULT_RELAY_NAME
) -> tuple[int, float]:
    """(events, seconds) not yet relayed, from the database: usable from any process.

    events: notifications after the saved relay position (head id - position);
    seconds: age of the oldest Order event among them that is due to be published.
    """
    return backlog_at(app, stored_position(db, name))


class RelayBacklogCollector(Collector):
    """Exposes `backlog()` on every scrape; register it once per registry."""

    def __init__(self, app: CheckoutApplication, db: Engine, name: str = DEFAULT_RELAY_NAME):
        self._app = app
        self._db = db
        self._name = name

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "checkout_outbox_backlog_events",
                "Committed notifications the outbox relay has not examined yet",
            ),
            GaugeMetricFamily(
                "checkout_outbox_backlog_seconds",
                "Age of the oldest committed order event not yet published to Kafka",
            ),
        )

    def describe(self) -> Iterable[Metric]:
        # Registering must not touch the database: describe without values.
        return self._families()

    def collect(self) -> Iterable[Metric]:
        try:
            events, seconds = backlog(self._app, self._db, self._name)
        except (sa.exc.SQLAlchemyError, psycopg.Error, PersistenceError) as exc:
            log.warning("outbox backlog unavailable", error=str(exc))
            return []
        events_family, seconds_family = self._families()
        events_family.add_metric([], events)
        seconds_family.add_metric([], seconds)
        return [events_family, seconds_family]
