"""Stock, Order and Payment driven together through random command sequences.

The machine plays the application's policies (payment succeeded -> confirm order and commit
stock; cancel -> release stock; late success on a cancelled order -> refund in full) and
checks after every step the invariants that money and stock depend on.
"""

from __future__ import annotations

from uuid import UUID

import pytest
from eventsourcing.application import Application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from domain import (
    Capture,
    InsufficientStock,
    InvalidTransition,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    RefundConflict,
    RefundExceedsCaptured,
    Stock,
    reserve_all,
)
from domain.payment import OWN_CAPTURE_REFUNDS
from tests.unit.domain.builders import EXPIRES

PRICES = {"A": 300, "B": 150, "C": 1000}
SKUS = st.sampled_from(sorted(PRICES))

# The order status each payment status allows, while the order is not cancelled.
CONSISTENT = {
    OrderStatus.PENDING_PAYMENT: {
        PaymentStatus.PROCESSING,
        PaymentStatus.PENDING,
        PaymentStatus.FAILED,
    },
    OrderStatus.PAYMENT_CONFIRMED: {PaymentStatus.SUCCEEDED},
    OrderStatus.PARTIALLY_REFUNDED: {PaymentStatus.PARTIALLY_REFUNDED},
    OrderStatus.REFUNDED: {PaymentStatus.REFUNDED},
    # Cancelled: its payment canceled with it, or paid late and refunded in full.
    OrderStatus.CANCELLED: {PaymentStatus.CANCELED, PaymentStatus.REFUNDED},
}


class CheckoutMachine(RuleBasedStateMachine):
    order_ids = Bundle("order_ids")

    def __init__(self) -> None:
        super().__init__()
        self.stocks: dict[str, Stock] = {}
        self.expected_on_hand: dict[str, int] = {}
        self.orders: dict[UUID, Order] = {}
        self.payments: dict[UUID, Payment] = {}
        self.ever_succeeded: set[UUID] = set()
        self.next_id = 1

    @initialize(on_hand=st.lists(st.integers(0, 6), min_size=3, max_size=3))
    def load_stock(self, on_hand: list[int]) -> None:
        for sku, count in zip(sorted(PRICES), on_hand, strict=True):
            self.stocks[sku] = Stock.create(sku, count)
            self.expected_on_hand[sku] = count

    # Stock administration

    @rule(sku=SKUS, quantity=st.integers(1, 5))
    def restock(self, sku: str, quantity: int) -> None:
        self.stocks[sku].restock(quantity)
        self.expected_on_hand[sku] += quantity

    @rule(sku=SKUS, available=st.integers(0, 12))
    def set_available(self, sku: str, available: int) -> None:
        stock = self.stocks[sku]
        stock.set_available(available)
        self.expected_on_hand[sku] = stock.reserved + available
        assert stock.available == available

    # Checkout

    @rule(
        target=order_ids,
        wanted=st.dictionaries(SKUS, st.integers(1, 4), min_size=1),
        provider=st.sampled_from(["stripe", "razorpay"]),
    )
    def checkout(self, wanted: dict[str, int], provider: str) -> MultipleResults[UUID]:
        order_id = UUID(int=self.next_id)
        self.next_id += 1
        expected_short = sorted(s for s, q in wanted.items() if q > self.stocks[s].available)
        if expected_short:
            versions = {sku: s.version for sku, s in self.stocks.items()}
            with pytest.raises(InsufficientStock) as short:
                reserve_all(self.stocks, wanted, order_id)
            assert short.value.skus == expected_short
            assert versions == {sku: s.version for sku, s in self.stocks.items()}
            return multiple()
        reserve_all(self.stocks, wanted, order_id)
        lines = [OrderLine(sku, q, PRICES[sku], "vendor") for sku, q in wanted.items()]
        payment_id = Payment.id_for(order_id)
        order = Order.place(order_id, "c", lines, "USD", payment_id, provider, EXPIRES)
        self.orders[order_id] = order
        self.payments[order_id] = Payment.initiate(order_id, provider, order.amount, "USD")
        return multiple(order_id)

    # Provider side

    @rule(order_id=order_ids)
    def provider_order_created(self, order_id: UUID) -> None:
        payment = self.payments[order_id]
        if payment.status is PaymentStatus.PROCESSING:
            payment.record_provider_order(f"gw-{order_id}", client_secret="secret")
        else:
            with pytest.raises(InvalidTransition):
                payment.record_provider_order(f"gw-{order_id}")

    @rule(order_id=order_ids)
    def provider_order_refused(self, order_id: UUID) -> None:
        payment = self.payments[order_id]
        if payment.status is PaymentStatus.PROCESSING:
            payment.fail_creation("account not activated")
        else:
            with pytest.raises(InvalidTransition):
                payment.fail_creation("account not activated")

    @rule(order_id=order_ids, charge=st.sampled_from(["ch_1", "ch_2"]))
    def payment_succeeds(self, order_id: UUID, charge: str) -> None:
        order, payment = self.orders[order_id], self.payments[order_id]
        was_captured, first_charge = payment.is_captured, payment.gateway_payment_id
        recorded = payment.record_capture(charge, payment.amount, payment.currency)
        if recorded is Capture.EXTRA:
            # A second charge: recorded and refunded, the order's own capture unchanged.
            assert was_captured
            assert payment.gateway_payment_id == first_charge != charge
            assert payment.refunds[payment.extra_charges[charge]["refund_id"]]["amount"] == (
                payment.amount
            )
            return
        if recorded is Capture.ALREADY_RECORDED:
            assert payment.owns_charge(charge)
            return
        self.ever_succeeded.add(order_id)
        if order.status is OrderStatus.PENDING_PAYMENT:
            order.confirm_payment(payment.id, charge, payment.provider)
            for sku in order.quantities:
                self.stocks[sku].commit(order_id, order.quantities[sku])
                self.expected_on_hand[sku] -= order.quantities[sku]
        else:
            assert order.status is OrderStatus.CANCELLED
            refund_id = f"late-success-{order_id}"
            payment.request_refund(refund_id, payment.refundable)
            payment.complete_refund(refund_id, f"re-{refund_id}")

    @rule(
        order_id=order_ids,
        delta=st.sampled_from([-1, 1, 499]),
        charge=st.sampled_from(["m1", "m2"]),
    )
    def payment_of_the_wrong_amount(self, order_id: UUID, delta: int, charge: str) -> None:
        payment = self.payments[order_id]
        before = (payment.status, payment.captured_amount, self.orders[order_id].status)
        known = payment.owns_charge(charge)
        amount = max(1, payment.amount + delta)
        recorded = payment.record_capture(charge, amount, payment.currency)
        assert recorded is (Capture.ALREADY_RECORDED if known else Capture.EXTRA)
        # Never a confirmation: the order and its payment stand where they stood.
        assert (payment.status, payment.captured_amount, self.orders[order_id].status) == before

    @rule(order_id=order_ids)
    def payment_declined(self, order_id: UUID) -> None:
        payment = self.payments[order_id]
        ended = payment.is_captured or payment.status is PaymentStatus.CANCELED
        assert payment.fail_attempt("card_declined") is not ended

    # Customer and reaper

    @rule(order_id=order_ids, reason=st.sampled_from(["customer", "expired"]))
    def cancel(self, order_id: UUID, reason: str) -> None:
        order = self.orders[order_id]
        if order.status is not OrderStatus.PENDING_PAYMENT:
            with pytest.raises(InvalidTransition):
                order.cancel(reason)
            return
        order.cancel(reason)
        assert self.payments[order_id].cancel(reason) is True
        for sku in order.quantities:
            self.stocks[sku].release(order_id, order.quantities[sku], reason)

    # Refunds (admin request, then provider outcome)

    @rule(order_id=order_ids, amount=st.integers(1, 5000), number=st.integers(0, 3))
    def request_refund(self, order_id: UUID, amount: int, number: int) -> None:
        payment = self.payments[order_id]
        if self.orders[order_id].status is OrderStatus.CANCELLED:
            return  # the application refuses refunds on cancelled orders
        refund_id = f"{order_id}-{number}"
        existing = payment.refunds.get(refund_id)
        refundable = payment.refundable
        if existing is not None and existing["amount"] != amount:
            with pytest.raises(RefundConflict):
                payment.request_refund(refund_id, amount)
        elif existing is not None:
            assert payment.request_refund(refund_id, amount) is False
        elif payment.status not in {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED}:
            with pytest.raises(InvalidTransition):
                payment.request_refund(refund_id, amount)
        elif amount > refundable:
            with pytest.raises(RefundExceedsCaptured):
                payment.request_refund(refund_id, amount)
        else:
            assert payment.request_refund(refund_id, amount) is True

    def _pending_refund(self, order_id: UUID) -> str | None:
        refunds = self.payments[order_id].refunds
        return next((r for r in sorted(refunds) if refunds[r]["status"] == "pending"), None)

    @rule(order_id=order_ids)
    def refund_succeeds(self, order_id: UUID) -> None:
        payment, order = self.payments[order_id], self.orders[order_id]
        refund_id = self._pending_refund(order_id)
        if refund_id is None:
            return
        assert payment.complete_refund(refund_id, f"re-{refund_id}") is True
        if payment.refunds[refund_id]["kind"] in OWN_CAPTURE_REFUNDS:
            order.record_refund(payment.refunds[refund_id]["amount"])
        assert payment.complete_refund(refund_id, f"re-{refund_id}") is False

    @rule(order_id=order_ids)
    def refund_fails(self, order_id: UUID) -> None:
        refund_id = self._pending_refund(order_id)
        if refund_id is not None:
            assert self.payments[order_id].fail_refund(refund_id, "declined") is True

    # Invariants

    @invariant()
    def stock_is_never_negative_and_reservations_add_up(self) -> None:
        for sku, stock in self.stocks.items():
            assert stock.on_hand == self.expected_on_hand[sku]
            assert stock.on_hand >= 0
            assert stock.available >= 0
            assert 0 <= stock.reserved <= stock.on_hand
            assert stock.legacy_reservations == {}, "only v2 events remember orders"

    @invariant()
    def only_unpaid_orders_hold_stock(self) -> None:
        open_orders = [o for o in self.orders.values() if o.status is OrderStatus.PENDING_PAYMENT]
        for sku, stock in self.stocks.items():
            assert stock.reserved == sum(o.quantities.get(sku, 0) for o in open_orders)

    @invariant()
    def refunds_never_exceed_captured(self) -> None:
        for payment in self.payments.values():
            succeeded = sum(
                r["amount"]
                for r in payment.refunds.values()
                if r["status"] == "succeeded" and r["kind"] in OWN_CAPTURE_REFUNDS
            )
            assert payment.refunded_amount == succeeded
            assert payment.captured_amount in (0, payment.amount)
            assert (
                0
                <= payment.refunded_amount + payment.refund_pending_amount
                <= payment.captured_amount
            )
            assert payment.refundable >= 0

    @invariant()
    def order_status_matches_payment_status(self) -> None:
        for order_id, order in self.orders.items():
            payment = self.payments[order_id]
            assert payment.status in CONSISTENT[order.status]
            if order.status is not OrderStatus.CANCELLED:
                assert order.refunded_total == payment.refunded_amount

    @invariant()
    def a_success_is_never_undone(self) -> None:
        for order_id in self.ever_succeeded:
            assert self.payments[order_id].is_captured

    def teardown(self) -> None:
        # Everything decided above must survive storage and replay unchanged.
        app = Application[UUID]()
        aggregates = [*self.stocks.values(), *self.orders.values(), *self.payments.values()]
        app.save(*aggregates)
        for aggregate in aggregates:
            assert app.repository.get(aggregate.id) == aggregate
        app.close()


CheckoutMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCheckoutMachine = CheckoutMachine.TestCase
