"""Manual capture: an operator captures a held authorization, or voids it.

Capturing only promises the capture (``Payment.CaptureRequested``, naming the admin and
their reason); the worker follows the log and asks the provider, and the provider's
answer, or its webhook, records the capture through the same path as any other capture
(``PaymentOutcomes.succeeded``): the order is confirmed, its stock committed and
``OrderConfirmed`` published with the amount captured, in one transaction.

Voiding cancels the order as a customer's cancellation would: its stock is released, the
payment is ``canceled`` and the provider worker's cancel task makes the provider release
the authorization (a Stripe intent in ``requires_capture`` is cancelled; Razorpay has no
such call and refunds an uncaptured payment by itself after its capture window, adr/0027).

Both take an idempotency key: the same key and body answer the first answer again; the
same key with another body is an IdempotencyConflict.
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
from application.orders import OrderLifecycle
from domain import (
    InvalidTransition,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    stable_id,
)


@dataclass(frozen=True)
class CaptureAccepted:
    capture_id: str
    amount: int
    position: int
    replayed: bool = False


@dataclass(frozen=True)
class Voided:
    position: int
    replayed: bool = False


def command_id(kind: str, order_id: UUID, idempotency_key: str) -> str:
    """The same order and key name the same command, however often it is sent."""
    return str(stable_id(kind, f"{order_id}\x1f{idempotency_key}"))


def fingerprint(kind: str, idempotency_key: str, **body: object) -> str:
    canonical = json.dumps(
        {"kind": kind, "key": idempotency_key, **body}, separators=(",", ":"), sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class ManualCaptures:
    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app
        self.orders = OrderLifecycle(app)

    def _payment(self, order_id: UUID) -> tuple[Order, Payment]:
        try:
            order = self.app.load(Order, order_id)
        except AggregateNotFoundError:
            raise OrderNotFound(order_id) from None
        return order, self.app.load(Payment, order.payment_id)

    def capture(
        self, order_id: UUID, amount: int | None, reason: str, actor: str, idempotency_key: str
    ) -> CaptureAccepted:
        """Capture ``amount`` (None: all) of the order's authorization, once per key.

        Raises OrderNotFound, IdempotencyConflict, InvalidTransition (not authorized: never
        authorized, captured already, voided), CaptureConflict (another capture under way)
        or CaptureExceedsAuthorized.
        """
        capture_id = command_id("capture", order_id, idempotency_key)
        request = fingerprint("capture", idempotency_key, amount=amount, reason=reason)

        def attempt() -> CaptureAccepted:
            order, payment = self._payment(order_id)
            earlier = payment.captures.get(capture_id)
            if earlier is not None:
                if earlier["fingerprint"] != request:
                    raise IdempotencyConflict(idempotency_key)
                position = self.app.head_position()
                return CaptureAccepted(capture_id, earlier["amount"], position, replayed=True)
            if order.held:
                raise InvalidTransition(f"order {order_id}", "capture", "on hold")
            payment.request_capture(capture_id, amount, reason, actor, request)
            recordings = self.app.save(payment)
            entry = payment.captures[capture_id]
            return CaptureAccepted(capture_id, entry["amount"], recordings[-1].notification.id)

        return with_retries(attempt)

    def void(self, order_id: UUID, reason: str, actor: str, idempotency_key: str) -> Voided:
        """Release the order's authorization by cancelling the order, once per key.

        Raises OrderNotFound, IdempotencyConflict, InvalidTransition (no authorization to
        void: not authorized yet, captured, or a capture under way).
        """
        # "<key's hash>.<request's hash>": a void with another key is no replay of this one.
        key_hash = hashlib.sha256(idempotency_key.encode()).hexdigest()
        request = f"{key_hash}.{fingerprint('void', idempotency_key, reason=reason)}"
        order, payment = self._payment(order_id)
        earlier = payment.cancel_fingerprint
        if payment.status is PaymentStatus.CANCELED and earlier is not None:
            if earlier == request:
                return Voided(self.app.head_position(), replayed=True)
            if earlier.partition(".")[0] == key_hash:
                raise IdempotencyConflict(idempotency_key)
        if payment.status is not PaymentStatus.AUTHORIZED:
            raise InvalidTransition(f"payment {payment.id}", "void", payment.status.value)
        if order.status is not OrderStatus.PENDING_PAYMENT:
            raise InvalidTransition(f"order {order_id}", "void", order.status.value)
        ended = self.orders.cancel(order_id, reason, actor=actor, fingerprint=request)
        return Voided(ended.position)
