"""Refunds: an admin asks, the provider pays back, its answer (or webhook) settles it.

Requesting only promises the money (``Payment.RefundRequested``); the worker follows the
log and calls the provider. The outcome arrives late and possibly twice (the provider's
synchronous answer and its webhook), so ``succeeded`` and ``failed`` are safe to repeat.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.application import CheckoutApplication
from application.contention import with_retries
from application.errors import IdempotencyConflict, OrderNotFound
from application.payments import Outcome
from domain import InvalidTransition, Order, Payment, RefundExceedsCaptured, stable_id
from domain.actors import UNKNOWN_ORIGIN, Origin
from domain.order import REFUNDABLE
from domain.payment import OWN_CAPTURE_REFUNDS


@dataclass(frozen=True)
class RefundRequested:
    refund_id: str
    amount: int
    position: int
    reason: str
    replayed: bool = False


def refund_id_for(order_id: UUID, idempotency_key: str) -> str:
    """The same order and key name the same refund, however often the request is sent."""
    return str(stable_id("refund", f"{order_id}\x1f{idempotency_key}"))


def refund_fingerprint(amount: int | None, reason: str) -> str:
    canonical = json.dumps({"amount": amount, "reason": reason}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Refunds:
    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app

    def request(
        self,
        order_id: UUID,
        amount: int | None,
        reason: str,
        actor: str,
        idempotency_key: str,
    ) -> RefundRequested:
        """Promise ``amount`` (None: all still refundable) back to the customer, once per key.

        The refund id comes from the order and the key, so a retried request (after a
        timeout, or a save whose commit landed but whose answer was lost) finds the refund
        it made and answers it again. Raises OrderNotFound, IdempotencyConflict (same key,
        other amount or reason), InvalidTransition (the order was never paid, or is fully
        refunded) or RefundExceedsCaptured.
        """
        refund_id = refund_id_for(order_id, idempotency_key)
        fingerprint = refund_fingerprint(amount, reason)
        return with_retries(
            lambda: self._request(
                order_id, amount, reason, actor, refund_id, fingerprint, idempotency_key
            )
        )

    def _request(
        self,
        order_id: UUID,
        amount: int | None,
        reason: str,
        actor: str,
        refund_id: str,
        fingerprint: str,
        idempotency_key: str,
    ) -> RefundRequested:
        try:
            order = self.app.load(Order, order_id)
        except AggregateNotFoundError:
            raise OrderNotFound(order_id) from None
        payment = self.app.load(Payment, order.payment_id)
        earlier = payment.refunds.get(refund_id)
        if earlier is not None:
            if earlier["fingerprint"] != fingerprint:
                raise IdempotencyConflict(idempotency_key)
            position = self.app.head_position()
            return RefundRequested(refund_id, earlier["amount"], position, reason, replayed=True)
        if order.status not in REFUNDABLE:
            raise InvalidTransition(f"order {order_id}", "refund", order.status.value)
        if amount is None:
            amount = payment.refundable
            if amount < 1:
                # Everything left is promised to refunds still pending at the provider.
                owed = payment.captured_amount - payment.refunded_amount
                raise RefundExceedsCaptured(owed, 0)
        payment.request_refund(
            refund_id, amount, reason=reason, actor=actor, fingerprint=fingerprint
        )
        recordings = self.app.save(payment)
        return RefundRequested(refund_id, amount, recordings[-1].notification.id, reason)

    def succeeded(
        self,
        payment_id: UUID,
        refund_id: str,
        gateway_refund_id: str,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> Outcome:
        """The provider paid the refund: the payment and its order record it together.

        ``origin``: the worker with the call's evidence, or the webhook (adr/0016).
        """
        return with_retries(
            lambda: self._succeeded(payment_id, refund_id, gateway_refund_id, origin)
        )

    def _succeeded(
        self, payment_id: UUID, refund_id: str, gateway_refund_id: str, origin: Origin
    ) -> Outcome:
        payment = self.app.load(Payment, payment_id)
        if not payment.complete_refund(refund_id, gateway_refund_id, origin):
            return Outcome(False, None)
        entry = payment.refunds[refund_id]
        own = entry["kind"] in OWN_CAPTURE_REFUNDS
        return self._mirror(payment, entry["amount"], own, origin)

    def _mirror(self, payment: Payment, amount: int, own_capture: bool, origin: Origin) -> Outcome:
        """Save the payment, and the order too when the refund gave back what it paid."""
        order = self.app.load(Order, payment.order_id)
        if not own_capture or order.status not in REFUNDABLE:
            # A refund of an extra charge, or of money that arrived after the order was
            # cancelled (see PaymentOutcomes): the order never counted it as paid.
            recordings = self.app.save(payment)
        else:
            order.record_refund(amount, origin)
            recordings = self.app.save(payment, order)
        return Outcome(True, recordings[-1].notification.id)

    def external(
        self,
        payment_id: UUID,
        gateway_refund_id: str,
        amount: int,
        charge: str,
        provider_event_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> Outcome:
        """A refund made at the provider (its dashboard): recorded, and mirrored by the order."""

        def attempt() -> Outcome:
            payment = self.app.load(Payment, payment_id)
            if not payment.record_external_refund(
                gateway_refund_id, amount, charge, provider_event_id, origin
            ):
                return Outcome(False, None)
            own = charge == payment.gateway_payment_id
            return self._mirror(payment, amount, own, origin)

        return with_retries(attempt)

    def failed(
        self, payment_id: UUID, refund_id: str, reason: str, origin: Origin = UNKNOWN_ORIGIN
    ) -> Outcome:
        """The provider refused or reversed the refund: the amount is refundable again."""

        def attempt() -> Outcome:
            payment = self.app.load(Payment, payment_id)
            if not payment.fail_refund(refund_id, reason, origin):
                return Outcome(False, None)
            recordings = self.app.save(payment)
            return Outcome(True, recordings[-1].notification.id)

        return with_retries(attempt)
