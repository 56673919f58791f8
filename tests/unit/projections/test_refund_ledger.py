"""The orders view and the payments view follow a payment's refunds with one ledger, each in
its own columns: fed the same events, they agree on what was given back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from domain import Order, OrderLine, Payment
from projections.orders import OrdersView
from projections.payments import PaymentsView
from projections.projection import BatchedView
from projections.rows import Row, RowStore


def history() -> tuple[Order, list[Any]]:
    """A paid order: a refund that completes, one that fails, an extra charge refunded,
    and a refund made at the provider's dashboard."""
    order_id = uuid4()
    lines = [OrderLine("SKU-A", 2, 1500, "vendor-a"), OrderLine("SKU-B", 1, 1000, "vendor-b")]
    order = Order.place(
        order_id,
        "customer-1",
        lines,
        "USD",
        Payment.id_for(order_id),
        "stripe",
        datetime(2030, 1, 1, tzinfo=UTC),
        request_fingerprint="fp",
    )
    payment = Payment.initiate(order_id, "stripe", order.amount, "USD")
    events: list[Any] = [*order.collect_events(), *payment.collect_events()]

    def step(*aggregates: Order | Payment) -> None:
        for aggregate in aggregates:
            events.extend(aggregate.collect_events())

    payment.record_provider_order("pi_1", "pi_1", client_secret="pi_secret_1")
    payment.record_capture("pi_1", payment.amount, "USD", provider_event_id="evt_1")
    order.confirm_payment(payment.id, "pi_1", "stripe")
    step(payment, order)
    payment.request_refund("r1", 1500)
    payment.complete_refund("r1", "gw_r1")
    payment.request_refund("r2", 500)
    payment.fail_refund("r2", "insufficient_balance")
    payment.record_capture("pi_second", payment.amount, "USD", "evt_2")
    payment.complete_refund("duplicate:pi_second", "re_dup")
    payment.record_external_refund("re_dash", 500, "pi_1", "evt_r")
    step(payment)
    return order, events


def fold(view: BatchedView, events: list[Any], order: Order) -> Row:
    rows = RowStore(view.table, view.found_by, view.defaults)
    for event in events:
        handler = view.handlers.get(type(event))
        if handler is not None:
            handler(rows, event)
    row = rows.get(order.id)
    assert row is not None
    return row


def test_both_views_count_the_own_capture_given_back_and_nothing_else() -> None:
    order, events = history()
    orders = fold(OrdersView(), events, order)
    payments = fold(PaymentsView(), events, order)

    assert (orders["payment_status"], payments["status"]) == ("partially_refunded",) * 2
    assert (orders["payment_refunded_amount"], payments["refunded_amount"]) == (2000, 2000)
    assert orders["payment_refunds_pending"] == payments["refunds_pending"] == {}
    assert orders["updated_at"] == payments["updated_at"] == events[-1].timestamp


def test_a_requested_refund_is_pending_in_both_until_it_settles() -> None:
    order, events = history()
    requested = next(e for e in events if isinstance(e, Payment.RefundRequested))
    upto = events[: events.index(requested) + 1]

    assert fold(OrdersView(), upto, order)["payment_refunds_pending"] == {"r1": 1500}
    assert fold(PaymentsView(), upto, order)["refunds_pending"] == {"r1": 1500}


def test_only_the_payments_view_lists_each_refund() -> None:
    order, events = history()
    listed = fold(PaymentsView(), events, order)["refunds"]

    assert {refund_id: entry["status"] for refund_id, entry in listed.items()} == {
        "r1": "succeeded",
        "r2": "failed",
        "duplicate:pi_second": "succeeded",
        "external:re_dash": "succeeded",
    }
    assert listed["r2"]["failureReason"] == "insufficient_balance"
    assert "refunds" not in fold(OrdersView(), events, order)
