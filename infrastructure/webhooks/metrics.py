"""Webhook metrics: refusals and outcomes (this process), the inbox (the database)."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from infrastructure.webhooks.inbox import WebhookInbox
from projections.queries import ReviewQueries

WEBHOOKS_REJECTED = Counter(
    "checkout_webhooks_rejected_total",
    "Webhook requests refused before anything was recorded, by provider and reason",
    ["provider", "reason"],
)
WEBHOOKS_RECEIVED = Counter(
    "checkout_webhooks_received_total",
    "Verified webhook deliveries: new events, duplicates, and types the engine ignores "
    "(answered without being stored)",
    ["provider", "delivery"],
)
WEBHOOKS_APPLIED = Counter(
    "checkout_webhooks_applied_total",
    "Attempts to apply inbox events, by provider and resulting status",
    ["provider", "status"],
)
WEBHOOKS_OPERATED = Counter(
    "checkout_webhooks_operated_total",
    "Inbox rows an operator replayed or dismissed (adr/0025), by provider and action",
    ["provider", "action"],
)
FOREIGN_CAPTURES = Counter(
    "checkout_foreign_captures_total",
    "Captures that matched no engine payment (recorded for review, nothing confirmed)",
    ["provider"],
)

log = structlog.get_logger(__name__)


class WebhookInboxCollector(Collector):
    """``checkout_webhook_inbox{provider,status}``: rows of the inbox, read at scrape time."""

    def __init__(self, db: Engine) -> None:
        self._inbox = WebhookInbox(db)

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "checkout_webhook_inbox",
            "Webhook inbox rows by provider and status "
            "(received, processed, ignored, failed, dismissed)",
            labels=["provider", "status"],
        )

    def describe(self) -> Iterable[Metric]:
        return [self._family()]  # without values: registering must not touch the database

    def collect(self) -> Iterable[Metric]:
        try:
            census = self._inbox.census()
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
            log.warning("webhook inbox metrics unavailable", error=str(exc))
            return []
        family = self._family()
        for (provider, status), count in sorted(census.items()):
            family.add_metric([provider, status.value], count)
        return [family]


class CaptureReviewCollector(Collector):
    """``checkout_capture_reviews{provider,kind,refund_status}``: money that paid for no order."""

    def __init__(self, db: Engine) -> None:
        self._reviews = ReviewQueries(db)

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "checkout_capture_reviews",
            "Captures that paid for no order, by provider, kind (foreign, duplicate, mismatch) "
            "and refund status (none: a person must decide)",
            labels=["provider", "kind", "refund_status"],
        )

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        try:
            census = self._reviews.census()
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
            log.warning("capture review metrics unavailable", error=str(exc))
            return []
        family = self._family()
        for (provider, kind, status), count in sorted(census.items()):
            family.add_metric([provider, kind, status], count)
        return [family]
