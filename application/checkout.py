"""Checkout: price the cart from the catalog, reserve stock, open the order and its payment.

Everything a checkout decides is saved in one transaction (order, payment and every
stock reservation), so a rejected or conflicting request leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.application import CheckoutApplication
from application.contention import MAX_ATTEMPTS, Turnstiles, with_retries
from application.errors import IdempotencyConflict
from application.ports import Clock
from domain import (
    CaptureMethod,
    DuplicateReservation,
    Order,
    OrderLine,
    Payment,
    Product,
    Stock,
    actors,
    bounds,
    price_cart,
    reserve_all,
    stable_id,
)


@dataclass(frozen=True)
class CartItem:
    sku: str
    quantity: int


@dataclass(frozen=True)
class CheckoutRequest:
    customer_id: str
    items: tuple[CartItem, ...]
    provider: str
    idempotency_key: str | None = None
    # "manual": an operator captures later; None: as configured (``CapturePolicy``).
    capture: str | None = None

    @property
    def actor(self) -> str:
        """The customer placing the order (adr/0016); their id is checked first, so a bad
        one is refused as ``customerId``, the field a client can fix."""
        bounds.text(self.customer_id, "customerId", bounds.MAX_CUSTOMER_ID)
        return actors.customer(self.customer_id)

    def fingerprint(self) -> str:
        """Identifies the request's meaning, whatever its JSON formatting."""
        meaning: dict[str, object] = {
            "items": [[item.sku, item.quantity] for item in self.items],
            "provider": self.provider,
        }
        if self.capture is not None:
            # Only when asked: requests from before manual capture keep their fingerprint.
            meaning["capture"] = self.capture
        canonical = json.dumps(meaning, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def wanted(self) -> dict[str, int]:
        """Units per sku; a sku listed twice is one line with the quantities added."""
        totals: dict[str, int] = {}
        for item in self.items:
            totals[item.sku] = totals.get(item.sku, 0) + item.quantity
        return totals

    def order_id(self) -> UUID:
        # Same customer + key -> same order id: concurrent duplicates collide on the
        # order's first event, so at most one of them can ever be recorded.
        if self.idempotency_key is None:
            return uuid.uuid4()
        return stable_id("order", f"{self.customer_id}\x1f{self.idempotency_key}")


@dataclass(frozen=True)
class CapturePolicy:
    """How a checkout that does not say is captured: manual when any of its lines is of a
    vendor or sku configured so (``MANUAL_CAPTURE_VENDORS``, ``MANUAL_CAPTURE_SKUS``),
    else automatic. A checkout that says ``capture`` has it its way."""

    manual_vendors: frozenset[str] = frozenset()
    manual_skus: frozenset[str] = frozenset()

    def method(self, asked: str | None, lines: Iterable[OrderLine]) -> str:
        if asked is not None:
            return asked
        manual = any(
            line.vendor_id in self.manual_vendors or line.sku in self.manual_skus for line in lines
        )
        return (CaptureMethod.MANUAL if manual else CaptureMethod.AUTOMATIC).value


AUTOMATIC = CapturePolicy()


@dataclass(frozen=True)
class Placed:
    """The order and payment as first recorded, and the log position to read them at."""

    order: Order
    payment: Payment
    position: int
    replayed: bool


def decide(
    request: CheckoutRequest,
    order_id: UUID,
    products: Mapping[str, Product],
    stocks: Mapping[str, Stock],
    expires_at: datetime,
    policy: CapturePolicy = AUTOMATIC,
) -> tuple[Order, Payment]:
    """One checkout decided on loaded aggregates: the new order and its payment, with the
    reservations triggered on ``stocks``.

    Every check that can refuse the request (pricing, the order's and the payment's own
    rules, stock) runs before the first stock event is triggered, so a refused request
    leaves nothing pending on aggregates a batch shares with other requests.
    """
    wanted = request.wanted()
    actor = request.actor
    cart = price_cart(products, wanted)
    order = Order.place(
        order_id=order_id,
        customer_id=request.customer_id,
        lines=cart.lines,
        currency=cart.currency,
        payment_id=Payment.id_for(order_id),
        provider=request.provider,
        expires_at=expires_at,
        request_fingerprint=request.fingerprint(),
        actor=actor,
    )
    capture = policy.method(request.capture, order.lines)
    payment = Payment.initiate(
        order_id, request.provider, order.amount, order.currency, actor, capture
    )
    reserve_all(stocks, wanted, order_id, actor)
    return order, payment


class Checkout:
    def __init__(
        self,
        app: CheckoutApplication,
        clock: Clock,
        payment_ttl: timedelta,
        attempts: int = MAX_ATTEMPTS,
        capture_policy: CapturePolicy = AUTOMATIC,
    ) -> None:
        self.app = app
        self.clock = clock
        self.payment_ttl = payment_ttl
        self.attempts = attempts
        self.capture_policy = capture_policy
        # A sku selling out draws every checkout of this process onto one Stock.
        self._skus = Turnstiles()

    def __call__(self, request: CheckoutRequest) -> Placed:
        order_id = request.order_id()
        skus = sorted(request.wanted())
        return with_retries(
            lambda: self._attempt(request, order_id),
            self.attempts,
            retry_holding=lambda: self._skus.passing(skus),
        )

    def _attempt(self, request: CheckoutRequest, order_id: UUID) -> Placed:
        if request.idempotency_key is not None:
            earlier = self._earlier(request, order_id)
            if earlier is not None:
                return earlier
        wanted = request.wanted()
        products, stocks = self._products(wanted), self._stocks(wanted)
        try:
            order, payment = decide(
                request, order_id, products, stocks, self._expiry(), self.capture_policy
            )
        except DuplicateReservation:
            # A concurrent request with the same key committed between our look-up
            # and our stock load: its order exists now, so answer as a replay.
            earlier = self._earlier(request, order_id)
            if earlier is None:
                raise
            return earlier
        recordings = self.app.save(order, payment, *stocks.values())
        return Placed(order, payment, recordings[-1].notification.id, replayed=False)

    def _expiry(self) -> datetime:
        return self.clock.now() + self.payment_ttl

    def _earlier(self, request: CheckoutRequest, order_id: UUID) -> Placed | None:
        """The first response for this key, or IdempotencyConflict if the body differs."""
        try:
            order = self.app.load(Order, order_id, version=1)
        except AggregateNotFoundError:
            return None
        if order.request_fingerprint != request.fingerprint():
            raise IdempotencyConflict(request.idempotency_key or "")
        payment = self.app.load(Payment, order.payment_id, version=1)
        return Placed(order, payment, self.app.head_position(), replayed=True)

    def _products(self, wanted: dict[str, int]) -> dict[str, Product]:
        products: dict[str, Product] = {}
        for sku in wanted:
            try:
                product = self.app.load(Product, Product.id_for(sku))
            except AggregateNotFoundError:
                continue
            products[sku] = product
        return products

    def _stocks(self, wanted: dict[str, int]) -> dict[str, Stock]:
        stocks: dict[str, Stock] = {}
        for sku in wanted:
            try:
                stock = self.app.load(Stock, Stock.id_for(sku))
            except AggregateNotFoundError:
                continue  # reserve_all counts a sku with no stock record as short
            stocks[sku] = stock
        return stocks
