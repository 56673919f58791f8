"""The expiry reaper: cancels unpaid orders whose payment window has passed.

It finds candidates in the order view (a query, not a replay) and lets the expire use
case decide on the aggregate itself, so a stale view row costs a load and nothing more.
Cancelling releases the stock in the same transaction, and the Order.Cancelled event
gives the provider worker its cancel task. Several reapers may run: two expiring the
same order conflict on the event store, and the loser finds the order already ended.
"""

from __future__ import annotations

import threading

import structlog

from application.errors import ApplicationError
from application.orders import OrderLifecycle
from application.ports import Clock
from domain import DomainError, actors
from infrastructure.worker.metrics import ORDERS_EXPIRED
from projections.queries import OrderQueries

log = structlog.get_logger(__name__)


class ExpiryReaper:
    def __init__(
        self,
        queries: OrderQueries,
        lifecycle: OrderLifecycle,
        clock: Clock,
        interval_seconds: float = 5.0,
        batch: int = 100,
    ) -> None:
        self.queries = queries
        self.lifecycle = lifecycle
        self.clock = clock
        self.interval_seconds = interval_seconds
        self.batch = batch

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                while self.reap_once() == self.batch and not stop.is_set():
                    pass  # a full batch expired: there may be more right now
            except Exception as exc:  # the database is away: next pass
                log.warning("expiry pass failed", error=str(exc))
            stop.wait(self.interval_seconds)

    def reap_once(self) -> int:
        """Expire what is due now; returns how many orders this pass cancelled."""
        now = self.clock.now()
        expired = 0
        for order_id in self.queries.expired_orders(now, self.batch):
            try:
                ended = self.lifecycle.expire(order_id, now, actors.REAPER)
            except (DomainError, ApplicationError) as exc:
                log.warning("could not expire order", order=str(order_id), error=str(exc))
                continue
            if ended is not None:
                expired += 1
                ORDERS_EXPIRED.inc()
                log.info("order expired", order=str(order_id))
        return expired
