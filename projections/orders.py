"""The orders view: one row per order, serving GET /orders/{id}, the admin listing and the
expiry reaper. Its payment status follows the payment's events and its refund ledger.

Named "orders" (module, class, projection name); its table is still ``order_view``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from domain import Order, OrderStatus, Payment, PaymentStatus, bounds
from projections import schema
from projections.documents import contract_lines
from projections.projection import BatchedView, Handler
from projections.refund_ledger import RefundLedger, paid
from projections.rows import RowStore

# The payment's refunds, in this view's own columns (the payments view keeps its own).
LEDGER = RefundLedger(
    pending="payment_refunds_pending",
    refunded="payment_refunded_amount",
    status="payment_status",
)


def _order_created(rows: RowStore, event: Order.Created) -> None:
    rows.add(
        order_id=event.originator_id,
        customer_id=event.customer_id,
        status=OrderStatus.PENDING_PAYMENT.value,
        amount=sum(line["quantity"] * line["unit_amount"] for line in event.lines),
        currency=event.currency,
        lines=contract_lines(event.lines),
        payment_id=event.payment_id,
        provider=event.provider,
        # Payment.Initiated is saved with the order; its own handler confirms this.
        payment_status=PaymentStatus.PROCESSING.value,
        created_at=event.timestamp,
        updated_at=event.timestamp,
        expires_at=event.expires_at,
    )


def _set_order(rows: RowStore, event: Any, **values: Any) -> None:
    row = rows.get(event.originator_id)
    if row is not None:
        rows.touch(row, event, **values)


def _order_confirmed(rows: RowStore, event: Order.Confirmed) -> None:
    # v3 events say what was paid (a partial manual capture pays less than the order).
    _set_order(rows, event, status=OrderStatus.PAYMENT_CONFIRMED.value, paid_amount=event.amount)


def _order_held(rows: RowStore, event: Order.PaymentAuthorized) -> None:
    # The reaper now voids the authorization at hold_until instead of the payment window.
    _set_order(rows, event, expires_at=event.hold_until)


def _order_cancelled(rows: RowStore, event: Order.Cancelled) -> None:
    # Events recorded before Order.cancel checked its reason may hold a NUL.
    reason = bounds.storable(event.reason, bounds.MAX_REASON)
    _set_order(rows, event, status=OrderStatus.CANCELLED.value, cancel_reason=reason)


def _order_refunded(rows: RowStore, event: Order.Refunded) -> None:
    row = rows.get(event.originator_id)
    if row is None:
        return
    fully = event.refunded_total >= paid(row)
    status = OrderStatus.REFUNDED if fully else OrderStatus.PARTIALLY_REFUNDED
    rows.touch(row, event, status=status.value, refunded_amount=event.refunded_total)


def _payment_initiated(rows: RowStore, event: Payment.Initiated) -> None:
    # If the payment was saved before its order, Order.Created sets the same status.
    row = rows.get(event.order_id)
    if row is not None:
        rows.touch(row, event, payment_status=PaymentStatus.PROCESSING.value)


def _payment_status(status: PaymentStatus) -> Handler:
    def handle(rows: RowStore, event: Any) -> None:
        row = rows.find("payment_id", event.originator_id)
        if row is not None:
            rows.touch(row, event, payment_status=status.value)

    return handle


class OrdersView(BatchedView):
    name: ClassVar[str] = "orders"
    found_by: ClassVar[tuple[str, ...]] = ("order_id", "payment_id")
    defaults: ClassVar[Mapping[str, Any]] = {
        "refunded_amount": 0,
        "payment_refunds_pending": {},
        "payment_refunded_amount": 0,
    }
    handlers: ClassVar[Mapping[type[Any], Handler]] = {
        Order.Created: _order_created,
        Order.Confirmed: _order_confirmed,
        Order.PaymentAuthorized: _order_held,
        Payment.Authorized: _payment_status(PaymentStatus.AUTHORIZED),
        Order.Cancelled: _order_cancelled,
        Order.Refunded: _order_refunded,
        Payment.Initiated: _payment_initiated,
        Payment.ProviderOrderCreated: _payment_status(PaymentStatus.PENDING),
        Payment.Succeeded: _payment_status(PaymentStatus.SUCCEEDED),
        Payment.AttemptFailed: _payment_status(PaymentStatus.FAILED),
        Payment.CreationFailed: _payment_status(PaymentStatus.FAILED),
        Payment.Canceled: _payment_status(PaymentStatus.CANCELED),
        **LEDGER.handlers,
    }

    def __init__(self, table: sa.Table = schema.order_view) -> None:
        super().__init__(table)
