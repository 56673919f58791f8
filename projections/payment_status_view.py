"""The payment status view: one row per order's payment, polled by frontends through
GET /orders/{id}/payments. It also handles Order.Created, for the customer id the
ownership check needs (Payment events do not carry it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from domain import Order, Payment, PaymentStatus, Provider
from projections import schema
from projections.projection import Handler, Projection, Row, ViewRows, later


def _new_payment(rows: ViewRows, event: Any, **values: Any) -> Row:
    return rows.add(status=PaymentStatus.PROCESSING.value, updated_at=event.timestamp, **values)


def _order_created(rows: ViewRows, event: Order.Created) -> None:
    row = rows.for_order(event.originator_id)
    if row is not None:  # the payment was saved before its order
        rows.change(row, customer_id=event.customer_id)
        return
    _new_payment(
        rows,
        event,
        order_id=event.originator_id,
        payment_id=event.payment_id,
        customer_id=event.customer_id,
        provider=event.provider,
        amount=sum(line["quantity"] * line["unit_amount"] for line in event.lines),
        currency=event.currency,
    )


def _payment_initiated(rows: ViewRows, event: Payment.Initiated) -> None:
    values = {
        "order_id": event.order_id,
        "payment_id": event.originator_id,
        "provider": event.provider,
        "amount": event.amount,
        "currency": event.currency,
    }
    row = rows.for_order(event.order_id)
    if row is None:
        _new_payment(rows, event, **values)
    else:
        rows.change(row, updated_at=later(row["updated_at"], event.timestamp), **values)


def _set(rows: ViewRows, event: Any, **values: Any) -> None:
    row = rows.for_payment(event.originator_id)
    if row is not None:
        rows.change(row, updated_at=later(row["updated_at"], event.timestamp), **values)


def _provider_order_created(rows: ViewRows, event: Payment.ProviderOrderCreated) -> None:
    row = rows.for_payment(event.originator_id)
    if row is None:
        return
    stripe = row["provider"] == Provider.STRIPE
    _set(
        rows,
        event,
        status=PaymentStatus.PENDING.value,
        gateway_order_id=event.gateway_order_id,
        gateway_payment_id=event.gateway_payment_id,
        client_secret=event.client_secret if stripe else None,
        razorpay_key_id=None if stripe else event.key_id,
    )


def _succeeded(rows: ViewRows, event: Payment.Succeeded) -> None:
    _set(
        rows,
        event,
        status=PaymentStatus.SUCCEEDED.value,
        gateway_payment_id=event.gateway_payment_id,
        failure_reason=None,
    )


def _failed(rows: ViewRows, event: Payment.AttemptFailed | Payment.CreationFailed) -> None:
    _set(rows, event, status=PaymentStatus.FAILED.value, failure_reason=event.reason)


def _refund_requested(rows: ViewRows, event: Payment.RefundRequested) -> None:
    row = rows.for_payment(event.originator_id)
    if row is not None:
        pending = row["refunds_pending"] | {event.refund_id: event.amount}
        rows.change(row, refunds_pending=pending)


def _refund_completed(rows: ViewRows, event: Payment.RefundCompleted) -> None:
    row = rows.for_payment(event.originator_id)
    if row is None or event.refund_id not in row["refunds_pending"]:
        return
    pending = dict(row["refunds_pending"])
    refunded = row["refunded_amount"] + pending.pop(event.refund_id)
    fully = refunded >= row["amount"]
    status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
    _set(rows, event, status=status.value, refunds_pending=pending, refunded_amount=refunded)


def _refund_failed(rows: ViewRows, event: Payment.RefundFailed) -> None:
    row = rows.for_payment(event.originator_id)
    if row is not None:
        pending = {k: v for k, v in row["refunds_pending"].items() if k != event.refund_id}
        rows.change(row, refunds_pending=pending)


class PaymentStatusView(Projection):
    name: ClassVar[str] = "payments"
    defaults: ClassVar[Mapping[str, Any]] = {"refunded_amount": 0, "refunds_pending": {}}
    handlers: ClassVar[Mapping[type[Any], Handler]] = {
        Order.Created: _order_created,
        Payment.Initiated: _payment_initiated,
        Payment.ProviderOrderCreated: _provider_order_created,
        Payment.Succeeded: _succeeded,
        Payment.AttemptFailed: _failed,
        Payment.CreationFailed: _failed,
        Payment.RefundRequested: _refund_requested,
        Payment.RefundCompleted: _refund_completed,
        Payment.RefundFailed: _refund_failed,
    }

    def __init__(self, table: sa.Table = schema.payment_status_view) -> None:
        super().__init__(table)
