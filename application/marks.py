"""An operator's marks on an order, each once per Idempotency-Key (adr/0029).

Every mark is an ``Order.Marked`` naming its kind, the admin and their reason. The kinds
that change something are commands with events of their own, saved with it:

- ``hold`` / ``release``: ``Order.Held`` / ``Order.HoldReleased``, published on
  ``orders.held`` so that fulfilment stops and resumes; nothing is captured while held;
- ``paid_out_of_band`` (with ``evidence``, such as a bank transfer's reference):
  ``Payment.PaidOutOfBand`` and ``Order.Confirmed``, the stock committed, in one
  transaction; ``OrderConfirmed`` is published as for any payment, and the worker closes
  the provider's objects (the Stripe intent, open sessions), so that money still paid
  there is a second charge, refunded.

``note`` and ``fulfilled_manually`` record the decision and change nothing else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from application.application import CheckoutApplication
from application.contention import with_retries
from application.errors import OrderNotFound
from application.manual_captures import command_id
from domain import InvalidTransition, MarkKind, Order, Payment, Stock
from domain.actors import Origin
from domain.errors import OutOfBounds


@dataclass(frozen=True)
class Marked:
    mark_id: str
    kind: MarkKind
    position: int
    replayed: bool = False


def _fingerprint(kind: str, reason: str, evidence: str | None) -> str:
    canonical = json.dumps(
        {"kind": kind, "reason": reason, "evidence": evidence}, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class OrderMarks:
    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app

    def mark(
        self,
        order_id: UUID,
        kind: MarkKind,
        reason: str,
        actor: str,
        idempotency_key: str,
        evidence: str | None = None,
    ) -> Marked:
        """Raises OrderNotFound, MarkConflict (the key with another request: 409),
        InvalidTransition (a hold on a held or ended order, a release of one not held, a
        payment out of band of an order not awaiting payment: 409) or OutOfBounds."""
        if kind is MarkKind.PAID_OUT_OF_BAND and not evidence:
            raise OutOfBounds("evidence", "is required to confirm a payment made out of band")
        mark_id = command_id("mark", order_id, idempotency_key)
        fingerprint = _fingerprint(kind.value, reason, evidence)

        def attempt() -> Marked:
            try:
                order = self.app.load(Order, order_id)
            except AggregateNotFoundError:
                raise OrderNotFound(order_id) from None
            if not order.mark(mark_id, kind, reason, actor, fingerprint, evidence):
                return Marked(mark_id, kind, self.app.head_position(), replayed=True)
            changed: list[Aggregate] = [order]
            if kind is MarkKind.HOLD:
                order.hold(reason, actor)
            elif kind is MarkKind.RELEASE:
                order.release(reason, actor)
            elif kind is MarkKind.PAID_OUT_OF_BAND:
                assert evidence is not None
                changed += self._paid_out_of_band(order, evidence, reason, actor)
            recordings = self.app.save(*changed)
            return Marked(mark_id, kind, recordings[-1].notification.id)

        return with_retries(attempt)

    def _paid_out_of_band(
        self, order: Order, evidence: str, reason: str, actor: str
    ) -> list[Aggregate]:
        if order.held:
            raise InvalidTransition(f"order {order.id}", "confirm payment", "on hold")
        payment = self.app.load(Payment, order.payment_id)
        payment.pay_out_of_band(evidence, reason, actor)
        assert payment.gateway_payment_id is not None
        order.confirm_payment(
            payment.id, payment.gateway_payment_id, order.provider.value, Origin(actor)
        )
        quantities = order.quantities
        stocks = [self.app.load(Stock, Stock.id_for(sku)) for sku in quantities]
        for stock in stocks:
            stock.commit(order.id, quantities[stock.sku], actor)
        return [payment, *stocks]
