"""The payments view: one row per order's payment, polled by frontends through
GET /orders/{id}/payments, with the refunds GET /admin/orders/{id}/refunds lists. It also
handles Order.Created, for the customer id the ownership check needs (Payment events do
not carry it).

Named "payments" (module, class, projection name: `checkout-engine projections rebuild
payments`); its table is still ``payment_status_view``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from domain import Order, Payment, PaymentStatus, Provider
from projections import schema
from projections.documents import rfc3339
from projections.projection import BatchedView, Handler
from projections.refund_ledger import RefundLedger
from projections.rows import Row, RowStore

# The payment's refunds, in this view's own columns (the orders view keeps its own).
LEDGER = RefundLedger(
    pending="refunds_pending", refunded="refunded_amount", status="status", listing="refunds"
)


def _new_payment(rows: RowStore, event: Any, **values: Any) -> Row:
    return rows.add(status=PaymentStatus.PROCESSING.value, updated_at=event.timestamp, **values)


def _order_created(rows: RowStore, event: Order.Created) -> None:
    row = rows.get(event.originator_id)
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


def _payment_initiated(rows: RowStore, event: Payment.Initiated) -> None:
    values = {
        "order_id": event.order_id,
        "payment_id": event.originator_id,
        "provider": event.provider,
        "amount": event.amount,
        "currency": event.currency,
        "capture_method": event.capture,
    }
    row = rows.get(event.order_id)
    if row is None:
        _new_payment(rows, event, **values)
    else:
        rows.touch(row, event, **values)


def _set(rows: RowStore, event: Any, **values: Any) -> None:
    row = rows.find("payment_id", event.originator_id)
    if row is not None:
        rows.touch(row, event, **values)


def _provider_order_created(rows: RowStore, event: Payment.ProviderOrderCreated) -> None:
    row = rows.find("payment_id", event.originator_id)
    if row is None:
        return
    stripe = row["provider"] == Provider.STRIPE
    rows.touch(
        row,
        event,
        status=PaymentStatus.PENDING.value,
        gateway_order_id=event.gateway_order_id,
        gateway_payment_id=event.gateway_payment_id,
        client_secret=event.client_secret if stripe else None,
        razorpay_key_id=None if stripe else event.key_id,
    )


def _succeeded(rows: RowStore, event: Payment.Succeeded) -> None:
    _set(
        rows,
        event,
        status=PaymentStatus.SUCCEEDED.value,
        gateway_payment_id=event.gateway_payment_id,
        failure_reason=None,
        paid_amount=event.amount,  # None on events from before v3: the amount
    )


def _authorized(rows: RowStore, event: Payment.Authorized) -> None:
    _set(
        rows,
        event,
        status=PaymentStatus.AUTHORIZED.value,
        gateway_payment_id=event.gateway_payment_id,
        failure_reason=None,
    )


def _failed(rows: RowStore, event: Payment.AttemptFailed | Payment.CreationFailed) -> None:
    _set(rows, event, status=PaymentStatus.FAILED.value, failure_reason=event.reason)


def _canceled(rows: RowStore, event: Payment.Canceled) -> None:
    _set(rows, event, status=PaymentStatus.CANCELED.value, failure_reason=event.reason)


def _dispute(rows: RowStore, event: Payment.DisputeOpened | Payment.DisputeClosed) -> None:
    row = rows.find("payment_id", event.originator_id)
    if row is None:
        return
    disputes = dict(row["disputes"])
    if isinstance(event, Payment.DisputeOpened):
        disputes[event.dispute_id] = {
            "disputeId": event.dispute_id,
            "status": "open",
            "amount": event.amount,
            "currency": event.currency,
            "reason": event.reason,
            "openedAt": rfc3339(event.timestamp),
            "updatedAt": rfc3339(event.timestamp),
        }
    elif event.dispute_id in disputes:
        disputes[event.dispute_id] = disputes[event.dispute_id] | {
            "status": event.status,
            "updatedAt": rfc3339(event.timestamp),
        }
    rows.touch(row, event, disputes=disputes)


class PaymentsView(BatchedView):
    name: ClassVar[str] = "payments"
    found_by: ClassVar[tuple[str, ...]] = ("order_id", "payment_id")
    defaults: ClassVar[Mapping[str, Any]] = {
        "refunded_amount": 0,
        "refunds_pending": {},
        "refunds": {},
        "disputes": {},
        "capture_method": "automatic",
    }
    handlers: ClassVar[Mapping[type[Any], Handler]] = {
        Order.Created: _order_created,
        Payment.Initiated: _payment_initiated,
        Payment.ProviderOrderCreated: _provider_order_created,
        Payment.Succeeded: _succeeded,
        Payment.Authorized: _authorized,
        Payment.AttemptFailed: _failed,
        Payment.CreationFailed: _failed,
        Payment.Canceled: _canceled,
        Payment.DisputeOpened: _dispute,
        Payment.DisputeClosed: _dispute,
        **LEDGER.handlers,
    }

    def __init__(self, table: sa.Table = schema.payment_status_view) -> None:
        super().__init__(table)
