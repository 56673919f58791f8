"""Disputes (chargebacks): the customer asked their bank for the money back.

The provider decides them, not the engine; the engine records each step on the payment and
mirrors it on the order, whose ``Order.Disputed`` events the relay publishes on
``orders.disputed``. Steps arrive out of order: a close for a dispute never seen opened
records the opening first, from what the close says.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.application import CheckoutApplication
from application.contention import with_retries
from application.payments import Outcome
from domain import Order, Payment
from domain.actors import UNKNOWN_ORIGIN, Origin
from domain.payment_records import DISPUTE_OPEN


@dataclass(frozen=True)
class DisputeNotice:
    dispute_id: str
    status: str  # "open", or the provider's final word: "won", "lost", ...
    amount: int  # ISO 4217 minor units
    currency: str
    reason: str | None
    gateway_payment_id: str | None
    provider_event_id: str | None = None


class Disputes:
    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app

    def update(
        self, payment_id: UUID, notice: DisputeNotice, origin: Origin = UNKNOWN_ORIGIN
    ) -> Outcome:
        """``origin``: the provider's webhook and its body's digest (adr/0016)."""
        return with_retries(lambda: self._update(payment_id, notice, origin))

    def _update(self, payment_id: UUID, notice: DisputeNotice, origin: Origin) -> Outcome:
        payment = self.app.load(Payment, payment_id)
        changed = payment.open_dispute(
            notice.dispute_id,
            notice.amount,
            notice.currency,
            notice.reason,
            notice.gateway_payment_id,
            notice.provider_event_id,
            origin,
        )
        if notice.status != DISPUTE_OPEN:
            closed = payment.close_dispute(
                notice.dispute_id, notice.status, notice.provider_event_id, origin
            )
            changed = closed or changed
        if not changed:
            return Outcome(False, None)
        order = self.app.load(Order, payment.order_id)
        entry = payment.disputes[notice.dispute_id]
        order.record_dispute(
            notice.dispute_id,
            entry["status"],
            entry["amount"],
            entry["currency"],
            entry["reason"],
            origin,
        )
        recordings = self.app.save(payment, order)
        return Outcome(True, recordings[-1].notification.id)
