"""Refunds: an admin asks, the provider pays back, its answer (or webhook) settles it.

Requesting only promises the money (``Payment.RefundRequested``); the worker follows the
log and calls the provider. The outcome arrives late and possibly twice (the provider's
synchronous answer and its webhook), so ``succeeded`` and ``failed`` are safe to repeat.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.contention import with_retries
from application.engine import CheckoutEngine
from application.errors import OrderNotFound
from application.payments import Outcome
from domain import InvalidTransition, Order, Payment, RefundExceedsCaptured
from domain.order import REFUNDABLE


@dataclass(frozen=True)
class RefundRequested:
    refund_id: str
    amount: int
    position: int
    reason: str


class Refunds:
    def __init__(self, app: CheckoutEngine) -> None:
        self.app = app

    def request(self, order_id: UUID, amount: int | None, reason: str) -> RefundRequested:
        """Promise ``amount`` (None: all still refundable) back to the customer.

        Raises OrderNotFound, InvalidTransition (the order was never paid, or is fully
        refunded) or RefundExceedsCaptured (more than captured minus refunded and pending).
        ``reason`` is for the caller's records: the domain event carries no reason yet.
        """
        refund_id = str(uuid.uuid4())
        return with_retries(lambda: self._request(order_id, amount, reason, refund_id))

    def _request(
        self, order_id: UUID, amount: int | None, reason: str, refund_id: str
    ) -> RefundRequested:
        try:
            order = self.app.load(Order, order_id)
        except AggregateNotFoundError:
            raise OrderNotFound(order_id) from None
        if order.status not in REFUNDABLE:
            raise InvalidTransition(f"order {order_id}", "refund", order.status.value)
        payment = self.app.load(Payment, order.payment_id)
        if amount is None:
            amount = payment.refundable
            if amount < 1:
                # Everything left is promised to refunds still pending at the provider.
                owed = payment.captured_amount - payment.refunded_amount
                raise RefundExceedsCaptured(owed, 0)
        payment.request_refund(refund_id, amount)
        recordings = self.app.save(payment)
        return RefundRequested(refund_id, amount, recordings[-1].notification.id, reason)

    def succeeded(self, payment_id: UUID, refund_id: str, gateway_refund_id: str) -> Outcome:
        """The provider paid the refund: the payment and its order record it together."""
        return with_retries(lambda: self._succeeded(payment_id, refund_id, gateway_refund_id))

    def _succeeded(self, payment_id: UUID, refund_id: str, gateway_refund_id: str) -> Outcome:
        payment = self.app.load(Payment, payment_id)
        if not payment.complete_refund(refund_id, gateway_refund_id):
            return Outcome(False, None)
        order = self.app.load(Order, payment.order_id)
        if order.status not in REFUNDABLE:
            # A refund of money that arrived after the order was cancelled (see
            # PaymentOutcomes): the order never counted it as paid, so nothing to mirror.
            recordings = self.app.save(payment)
        else:
            order.record_refund(payment.refunds[refund_id]["amount"])
            recordings = self.app.save(payment, order)
        return Outcome(True, recordings[-1].notification.id)

    def failed(self, payment_id: UUID, refund_id: str, reason: str) -> Outcome:
        """The provider refused or reversed the refund: the amount is refundable again."""

        def attempt() -> Outcome:
            payment = self.app.load(Payment, payment_id)
            if not payment.fail_refund(refund_id, reason):
                return Outcome(False, None)
            recordings = self.app.save(payment)
            return Outcome(True, recordings[-1].notification.id)

        return with_retries(attempt)
