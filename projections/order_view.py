"""The order view: one row per order, serving GET /orders/{id}, the admin listing and the
expiry reaper. Its payment status follows the payment's events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from domain import Order, OrderStatus, Payment, PaymentStatus
from domain.payment import OWN_CAPTURE_REFUNDS
from projections import schema
from projections.projection import Handler, Projection, ViewRows, later


def _contract_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "sku": line["sku"],
            "quantity": line["quantity"],
            "unitAmount": line["unit_amount"],
            "vendorId": line["vendor_id"],
        }
        for line in lines
    ]


def _order_created(rows: ViewRows, event: Order.Created) -> None:
    rows.add(
        order_id=event.originator_id,
        customer_id=event.customer_id,
        status=OrderStatus.PENDING_PAYMENT.value,
        amount=sum(line["quantity"] * line["unit_amount"] for line in event.lines),
        currency=event.currency,
        lines=_contract_lines(event.lines),
        payment_id=event.payment_id,
        provider=event.provider,
        # Payment.Initiated is saved with the order; its own handler confirms this.
        payment_status=PaymentStatus.PROCESSING.value,
        created_at=event.timestamp,
        updated_at=event.timestamp,
        expires_at=event.expires_at,
    )


def _set_order(rows: ViewRows, event: Any, **values: Any) -> None:
    row = rows.for_order(event.originator_id)
    if row is not None:
        rows.change(row, updated_at=later(row["updated_at"], event.timestamp), **values)


def _order_confirmed(rows: ViewRows, event: Order.Confirmed) -> None:
    _set_order(rows, event, status=OrderStatus.PAYMENT_CONFIRMED.value)


def _order_cancelled(rows: ViewRows, event: Order.Cancelled) -> None:
    _set_order(rows, event, status=OrderStatus.CANCELLED.value, cancel_reason=event.reason)


def _order_refunded(rows: ViewRows, event: Order.Refunded) -> None:
    row = rows.for_order(event.originator_id)
    if row is None:
        return
    fully = event.refunded_total >= row["amount"]
    status = OrderStatus.REFUNDED if fully else OrderStatus.PARTIALLY_REFUNDED
    _set_order(rows, event, status=status.value, refunded_amount=event.refunded_total)


def _set_payment(rows: ViewRows, row: dict[str, Any] | None, event: Any, **values: Any) -> None:
    if row is not None:
        rows.change(row, updated_at=later(row["updated_at"], event.timestamp), **values)


def _payment_initiated(rows: ViewRows, event: Payment.Initiated) -> None:
    # If the payment was saved before its order, Order.Created sets the same status.
    row = rows.for_order(event.order_id)
    _set_payment(rows, row, event, payment_status=PaymentStatus.PROCESSING.value)


def _payment_status(status: PaymentStatus) -> Handler:
    def handle(rows: ViewRows, event: Any) -> None:
        row = rows.for_payment(event.originator_id)
        _set_payment(rows, row, event, payment_status=status.value)

    return handle


def _refund_requested(rows: ViewRows, event: Payment.RefundRequested) -> None:
    row = rows.for_payment(event.originator_id)
    if row is not None and event.kind in OWN_CAPTURE_REFUNDS:
        pending = row["payment_refunds_pending"] | {event.refund_id: event.amount}
        rows.change(row, payment_refunds_pending=pending)


def _refund_completed(rows: ViewRows, event: Payment.RefundCompleted) -> None:
    row = rows.for_payment(event.originator_id)
    if row is None or event.refund_id not in row["payment_refunds_pending"]:
        return
    pending = dict(row["payment_refunds_pending"])
    amount = pending.pop(event.refund_id)
    rows.change(row, payment_refunds_pending=pending)
    _payment_refunded(rows, row, event, amount)


def _external_refund(rows: ViewRows, event: Payment.ExternalRefundRecorded) -> None:
    row = rows.for_payment(event.originator_id)
    if row is not None and event.own_capture:
        _payment_refunded(rows, row, event, event.amount)


def _payment_refunded(rows: ViewRows, row: dict[str, Any], event: Any, amount: int) -> None:
    refunded = row["payment_refunded_amount"] + amount
    fully = refunded >= row["amount"]
    status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
    _set_payment(
        rows,
        row,
        event,
        payment_status=status.value,
        payment_refunded_amount=refunded,
    )


def _refund_failed(rows: ViewRows, event: Payment.RefundFailed) -> None:
    row = rows.for_payment(event.originator_id)
    if row is not None:
        pending = {k: v for k, v in row["payment_refunds_pending"].items() if k != event.refund_id}
        rows.change(row, payment_refunds_pending=pending)


class OrderView(Projection):
    name: ClassVar[str] = "orders"
    defaults: ClassVar[Mapping[str, Any]] = {
        "refunded_amount": 0,
        "payment_refunds_pending": {},
        "payment_refunded_amount": 0,
    }
    handlers: ClassVar[Mapping[type[Any], Handler]] = {
        Order.Created: _order_created,
        Order.Confirmed: _order_confirmed,
        Order.Cancelled: _order_cancelled,
        Order.Refunded: _order_refunded,
        Payment.Initiated: _payment_initiated,
        Payment.ProviderOrderCreated: _payment_status(PaymentStatus.PENDING),
        Payment.Succeeded: _payment_status(PaymentStatus.SUCCEEDED),
        Payment.AttemptFailed: _payment_status(PaymentStatus.FAILED),
        Payment.CreationFailed: _payment_status(PaymentStatus.FAILED),
        Payment.RefundRequested: _refund_requested,
        Payment.RefundCompleted: _refund_completed,
        Payment.RefundFailed: _refund_failed,
        Payment.Canceled: _payment_status(PaymentStatus.CANCELED),
        Payment.ExternalRefundRecorded: _external_refund,
    }

    def __init__(self, table: sa.Table = schema.order_view) -> None:
        super().__init__(table)
