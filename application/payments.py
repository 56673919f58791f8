"""What provider outcomes do to a payment and its order.

A success confirms the order and commits its stock in the same transaction that
records the payment, so the relay sees `Order.Confirmed` only once all of it has
committed. Outcomes arrive late, twice or out of order; each use case is safe to
repeat and a late failure never undoes a success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.application import CheckoutApplication
from application.contention import with_retries
from application.orders import OrderLifecycle
from application.ports import Clock, SystemClock
from domain import (
    Authorization,
    Capture,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Provider,
    RefundKind,
    Stock,
    bounds,
)
from domain.actors import UNKNOWN_ORIGIN, Origin
from domain.payment import SYSTEM_ACTOR

LATE_SUCCESS_REFUND = "late-success"
# How long an authorization is held before the engine voids it: a day before the provider
# would let it lapse (Stripe cancels an uncaptured intent after 7 days; Razorpay refunds an
# uncaptured payment 5 days after it was made).
HOLD_FOR = {Provider.STRIPE: timedelta(days=6), Provider.RAZORPAY: timedelta(days=4)}


@dataclass(frozen=True)
class Outcome:
    """What a provider notice changed; `position` is None when it changed nothing."""

    changed: bool
    position: int | None
    refund_requested: str | None = None
    extra: str | None = None  # why the capture did not pay for the order


class PaymentOutcomes:
    def __init__(self, app: CheckoutApplication, clock: Clock | None = None) -> None:
        self.app = app
        self.clock = clock or SystemClock()

    def provider_order_created(
        self,
        payment_id: UUID,
        gateway_order_id: str,
        gateway_payment_id: str | None = None,
        client_secret: str | None = None,
        key_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> Outcome:
        def attempt() -> Outcome:
            payment = self.app.load(Payment, payment_id)
            if payment.gateway_order_id == gateway_order_id:
                return Outcome(False, None)
            payment.record_provider_order(
                gateway_order_id, gateway_payment_id, client_secret, key_id, origin
            )
            return self._save(payment)

        return with_retries(attempt)

    def succeeded(
        self,
        payment_id: UUID,
        gateway_payment_id: str,
        amount: int,
        currency: str,
        provider_event_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> Outcome:
        """Money the provider captured for this payment, in ISO 4217 minor units.

        The payment decides whether it pays for the order (amount and currency match, no
        other charge paid first); a charge that does not is recorded and refunded.
        ``origin``: the webhook that said so, and its body's digest (adr/0016).
        """
        return with_retries(
            lambda: self._succeed(
                payment_id, gateway_payment_id, amount, currency, provider_event_id, origin
            )
        )

    def _succeed(
        self,
        payment_id: UUID,
        gateway_payment_id: str,
        amount: int,
        currency: str,
        provider_event_id: str | None,
        origin: Origin,
    ) -> Outcome:
        payment = self.app.load(Payment, payment_id)
        capture = payment.record_capture(
            gateway_payment_id, amount, currency, provider_event_id, origin
        )
        if capture is Capture.ALREADY_RECORDED:
            return Outcome(False, None)
        if capture is Capture.EXTRA:
            extra = payment.extra_charges[gateway_payment_id]
            outcome = self._save(payment)
            return Outcome(
                True, outcome.position, refund_requested=extra["refund_id"], extra=extra["detail"]
            )
        order = self.app.load(Order, payment.order_id)
        if order.status is OrderStatus.PENDING_PAYMENT:
            order.confirm_payment(
                payment.id,
                gateway_payment_id,
                payment.provider.value,
                origin,
                amount=payment.captured_amount,
            )
            # The order's lines say what it holds; confirm_payment (above) allows one sale.
            quantities = order.quantities
            stocks = [self.app.load(Stock, Stock.id_for(sku)) for sku in quantities]
            for stock in stocks:
                stock.commit(order.id, quantities[stock.sku], origin.actor)
            return self._save(payment, order, *stocks)
        # The money arrived after the order was cancelled or expired: the stock is
        # gone, so the customer gets their money back, automatically and on record.
        refund_id = f"{LATE_SUCCESS_REFUND}:{gateway_payment_id}"
        payment.request_refund(
            refund_id,
            payment.captured_amount,
            reason=f"paid after the order was {order.status.value.lower()}",
            actor=SYSTEM_ACTOR,
            kind=RefundKind.LATE,
        )
        outcome = self._save(payment)
        return Outcome(True, outcome.position, refund_requested=refund_id)

    def authorized(
        self,
        payment_id: UUID,
        gateway_payment_id: str,
        amount: int,
        currency: str,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> Outcome:
        """The provider holds the money of a manual-capture payment: the order waits for an
        operator's capture until a day before the provider would let the authorization
        lapse (``HOLD_FOR``), when the reaper voids it.

        An authorization of another amount or currency raises AuthorizationMismatch and
        records nothing: its notice is parked for a person (the webhook inbox keeps it as
        failed, adr/0027). ``Outcome.extra`` says why a notice changed nothing.
        """

        def attempt() -> Outcome:
            payment = self.app.load(Payment, payment_id)
            recorded = payment.record_authorization(gateway_payment_id, amount, currency, origin)
            if recorded is Authorization.LAPSES:
                # Held money that is never captured: on record, for the review queue.
                extra = f"authorization {gateway_payment_id} is never captured"
                noted = payment.note_discrepancy(
                    f"extra_authorization:{gateway_payment_id}",
                    "extra_authorization",
                    f"{extra}: the payment is {payment.status.value}; "
                    f"{amount} {currency.upper()} held",
                    origin.provider_event_id or "webhook",
                    gateway_payment_id=gateway_payment_id,
                    provider_amount=amount,
                    provider_currency=currency.upper(),
                    repair="left uncaptured: the provider releases it",
                    actor=origin.actor,
                )
                if noted:
                    self.app.save(payment)
                return Outcome(False, None, extra=extra)
            if recorded is not Authorization.RECORDED:
                return Outcome(False, None)
            order = self.app.load(Order, payment.order_id)
            hold = self.clock.now() + HOLD_FOR[payment.provider]
            order.hold_for_capture(gateway_payment_id, hold, origin)
            return self._save(payment, order)

        return with_retries(attempt)

    def authorization_lapsed(self, payment_id: UUID, reason: str, origin: Origin) -> Outcome:
        """The provider let a held authorization lapse (Stripe cancels an uncaptured intent
        after 7 days) before the engine voided it: the order ends as a void would end it,
        its stock released. Nothing changes unless the payment is still authorized."""
        payment = self.app.load(Payment, payment_id)
        if payment.status is not PaymentStatus.AUTHORIZED or payment.capture_pending:
            return Outcome(False, None)
        storable = bounds.storable(reason, bounds.MAX_REASON)  # the provider's words
        ended = OrderLifecycle(self.app).cancel(payment.order_id, storable, actor=origin.actor)
        return Outcome(True, ended.position)

    def capture_failed(
        self, payment_id: UUID, capture_id: str, reason: str, origin: Origin = UNKNOWN_ORIGIN
    ) -> Outcome:
        """The provider refused an operator's capture: recorded, the authorization stays."""

        def attempt() -> Outcome:
            payment = self.app.load(Payment, payment_id)
            if not payment.fail_capture(capture_id, reason, origin):
                return Outcome(False, None)
            return self._save(payment)

        return with_retries(attempt)

    def attempt_failed(
        self,
        payment_id: UUID,
        reason: str,
        gateway_payment_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> Outcome:
        def attempt() -> Outcome:
            payment = self.app.load(Payment, payment_id)
            if not payment.fail_attempt(reason, gateway_payment_id, origin):
                return Outcome(False, None)
            return self._save(payment)

        return with_retries(attempt)

    def session_closed(
        self, payment_id: UUID, session_id: str, status: str, origin: Origin = UNKNOWN_ORIGIN
    ) -> Outcome:
        """A hosted session expired or completed; nothing changes for one closed already."""

        def attempt() -> Outcome:
            payment = self.app.load(Payment, payment_id)
            if not payment.close_session(session_id, status, origin):
                return Outcome(False, None)
            return self._save(payment)

        return with_retries(attempt)

    def _save(self, *aggregates: Aggregate) -> Outcome:
        recordings = self.app.save(*aggregates)
        return Outcome(True, recordings[-1].notification.id)
