"""Ending unpaid orders: cancelled by their customer, or expired by the reaper.

Either way the order, and the release of every reservation it holds, are saved in
one transaction: stock is never both released and still held by a live order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.application import CheckoutApplication
from application.contention import with_retries
from application.errors import OrderNotFound
from domain import Order, Payment, PaymentStatus, Stock, actors

EXPIRED = "payment window expired"
# Manual capture: the engine voids a held authorization a day before the provider would
# let it lapse (application.manual_captures.HOLD_FOR).
HOLD_EXPIRED = "authorization not captured in time: voided before the provider lets it lapse"


@dataclass(frozen=True)
class Ended:
    order: Order
    position: int


class OrderLifecycle:
    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app

    def get(self, order_id: UUID, customer_id: str | None = None) -> Order:
        """The order, if it exists and (when a customer is given) belongs to them.

        Another customer's order is reported as not found, never as forbidden, so
        order ids can't be probed.
        """
        try:
            order = self.app.load(Order, order_id)
        except AggregateNotFoundError:
            raise OrderNotFound(order_id) from None
        if customer_id is not None and order.customer_id != customer_id:
            raise OrderNotFound(order_id)
        return order

    def cancel(
        self,
        order_id: UUID,
        reason: str,
        customer_id: str | None = None,
        actor: str = actors.UNKNOWN,
        fingerprint: str | None = None,
    ) -> Ended:
        """End the order; ``actor`` says who did (adr/0016); ``fingerprint``: the void
        request that ended it, for its replays (application.manual_captures)."""
        return with_retries(lambda: self._end(order_id, reason, customer_id, actor, fingerprint))

    def expire(self, order_id: UUID, now: datetime, actor: str = actors.REAPER) -> Ended | None:
        """Cancel the order if its payment window has passed; None if it hasn't (or is done)."""

        def attempt() -> Ended | None:
            order = self.get(order_id)
            if not order.is_expired(now):
                return None
            held = self.app.load(Payment, order.payment_id).status is PaymentStatus.AUTHORIZED
            return self._end(order_id, HOLD_EXPIRED if held else EXPIRED, None, actor)

        return with_retries(attempt)

    def _end(
        self,
        order_id: UUID,
        reason: str,
        customer_id: str | None,
        actor: str,
        fingerprint: str | None = None,
    ) -> Ended:
        order = self.get(order_id, customer_id)
        order.cancel(reason, actor)  # raises InvalidTransition unless PENDING_PAYMENT
        # The order's lines say what it holds; its state machine (above) lets it end once.
        quantities = order.quantities
        stocks = [self.app.load(Stock, Stock.id_for(sku)) for sku in quantities]
        for stock in stocks:
            stock.release(order.id, quantities[stock.sku], reason, actor)
        # The payment ends with its order, so a polling frontend sees a terminal status.
        payment = self.app.load(Payment, order.payment_id)
        payment.cancel(reason, actor, fingerprint)
        recordings = self.app.save(order, payment, *stocks)
        return Ended(order, recordings[-1].notification.id)
