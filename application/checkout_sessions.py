"""Hosted checkout pages: at most one open session per payment (adr/0011).

Every session is a way to pay, so every extra one is a way to pay twice. A payment records
the sessions opened for it; asking again while one is open answers that one. A new session
is opened only once the last has expired or been closed, and the provider is asked with an
idempotency key derived from the payment and the session's number, so two requests racing
for the next session get the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.application import CheckoutApplication
from application.contention import with_retries
from application.errors import WrongProvider
from application.orders import OrderLifecycle
from application.ports import (
    CheckoutSession,
    CheckoutSessionLine,
    CheckoutSessionRequest,
    CheckoutSessions,
    Clock,
    ProviderNotConfigured,
)
from domain import (
    InvalidTransition,
    Order,
    OrderStatus,
    Payment,
    Product,
    Provider,
    actors,
)

# Stripe accepts expires_at between 30 minutes and 24 hours from creation.
SHORTEST = timedelta(minutes=31)
LONGEST = timedelta(hours=23, minutes=59)


@dataclass(frozen=True)
class OpenedSession:
    session: CheckoutSession
    created: bool  # False: the payment's open session, answered again


@dataclass(frozen=True)
class ReturnUrls:
    success: str
    cancel: str


class HostedCheckout:
    def __init__(
        self, app: CheckoutApplication, sessions: CheckoutSessions | None, clock: Clock
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.clock = clock
        self.orders = OrderLifecycle(app)

    def open(self, order_id: UUID, customer_id: str, urls: ReturnUrls) -> OpenedSession:
        """The payment's open session, or a new one. Raises OrderNotFound, WrongProvider
        (not a Stripe order), InvalidTransition (not payable), ProviderNotConfigured,
        TransientProviderError and PermanentProviderError (Stripe's answer)."""
        order = self.orders.get(order_id, customer_id)
        if order.provider is not Provider.STRIPE:
            raise WrongProvider(order.id, order.provider, Provider.STRIPE)
        if order.status is not OrderStatus.PENDING_PAYMENT:
            raise InvalidTransition(f"order {order_id}", "open a checkout session", order.status)
        if self.sessions is None:
            raise ProviderNotConfigured(Provider.STRIPE.value)
        payment = self.app.load(Payment, order.payment_id)
        now = self.clock.now()
        found = payment.open_session(int(now.timestamp()))
        if found is not None:
            session_id, entry = found
            return OpenedSession(
                CheckoutSession(entry["url"], session_id, entry["expires_at"]), False
            )
        expires_at = min(max(order.expires_at, now + SHORTEST), now + LONGEST)
        request = CheckoutSessionRequest(
            payment_id=payment.id,
            order_id=order.id,
            currency=order.currency,
            lines=self._lines(order),
            success_url=urls.success,
            cancel_url=urls.cancel,
            expires_at=int(expires_at.timestamp()),
            attempt=len(payment.sessions),
            customer_id=order.customer_id,
            capture=payment.capture_method.value,
        )
        session = self.sessions.create(request)
        self._record(payment.id, session, actors.customer(customer_id))
        return OpenedSession(session, True)

    def _record(self, payment_id: UUID, session: CheckoutSession, actor: str) -> None:
        def attempt() -> None:
            payment = self.app.load(Payment, payment_id)
            if payment.record_session(session.session_id, session.url, session.expires_at, actor):
                self.app.save(payment)

        with_retries(attempt)

    def _lines(self, order: Order) -> tuple[CheckoutSessionLine, ...]:
        return tuple(
            CheckoutSessionLine(self._name(line.sku), line.quantity, line.unit_amount)
            for line in order.lines
        )

    def _name(self, sku: str) -> str:
        try:
            product = self.app.load(Product, Product.id_for(sku))
        except AggregateNotFoundError:
            return sku
        return f"{product.name} ({sku})"
