"""The payment status view: one row per order's payment, polled by frontends through
GET /orders/{id}/payments. It also handles Order.Created, for the customer id the
ownership check needs (Payment events do not carry it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from domain import Order, Payment, PaymentStatus, Provider, RefundKind, RefundStatus
from domain.payment import OWN_CAPTURE_REFUNDS
from projections import schema
from projections.projection import Handler, Projection, Row, ViewRows, later, rfc3339


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


def _canceled(rows: ViewRows, event: Payment.Canceled) -> None:
    _set(rows, event, status=PaymentStatus.CANCELED.value, failure_reason=event.reason)


def _refund_entry(event: Any, **values: Any) -> dict[str, Any]:
    """A refund as listed; ``values`` give what the event itself does not say."""
    return {
        "refundId": event.refund_id,
        "amount": event.amount,
        "currency": getattr(event, "currency", None),
        "kind": getattr(event, "kind", None),
        "reason": getattr(event, "reason", None),
        "actor": getattr(event, "actor", None),
        "status": RefundStatus.PENDING.value,
        "failureReason": None,
        "gatewayRefundId": None,
        "gatewayPaymentId": getattr(event, "charge", None),
        "requestedAt": rfc3339(event.timestamp),
        "updatedAt": rfc3339(event.timestamp),
    } | values


def _change_refund(rows: ViewRows, row: Row, event: Any, **values: Any) -> dict[str, Any]:
    refunds = dict(row["refunds"])
    entry = refunds.get(event.refund_id)
    if entry is not None:
        refunds[event.refund_id] = entry | values | {"updatedAt": rfc3339(event.timestamp)}
    rows.change(row, refunds=refunds)
    return refunds


def _refund_requested(rows: ViewRows, event: Payment.RefundRequested) -> None:
    row = rows.for_payment(event.originator_id)
    if row is None:
        return
    entry = _refund_entry(
        event,
        currency=event.currency or row["currency"],
        gatewayPaymentId=event.charge or row["gateway_payment_id"],
    )
    values: dict[str, Any] = {"refunds": row["refunds"] | {event.refund_id: entry}}
    if event.kind in OWN_CAPTURE_REFUNDS:
        values["refunds_pending"] = row["refunds_pending"] | {event.refund_id: event.amount}
    rows.change(row, **values)


def _count_refunded(rows: ViewRows, row: Row, event: Any, amount: int) -> None:
    refunded = row["refunded_amount"] + amount
    fully = refunded >= row["amount"]
    status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
    _set(rows, event, status=status.value, refunded_amount=refunded)


def _refund_completed(rows: ViewRows, event: Payment.RefundCompleted) -> None:
    row = rows.for_payment(event.originator_id)
    if row is None:
        return
    _change_refund(
        rows,
        row,
        event,
        status=RefundStatus.SUCCEEDED.value,
        gatewayRefundId=event.gateway_refund_id,
    )
    if event.refund_id not in row["refunds_pending"]:
        return  # a refund of an extra charge: the order's payment is unchanged
    pending = dict(row["refunds_pending"])
    amount = pending.pop(event.refund_id)
    rows.change(row, refunds_pending=pending)
    _count_refunded(rows, row, event, amount)


def _refund_failed(rows: ViewRows, event: Payment.RefundFailed) -> None:
    row = rows.for_payment(event.originator_id)
    if row is not None:
        _change_refund(
            rows, row, event, status=RefundStatus.FAILED.value, failureReason=event.reason
        )
        pending = {k: v for k, v in row["refunds_pending"].items() if k != event.refund_id}
        rows.change(row, refunds_pending=pending)


def _external_refund(rows: ViewRows, event: Payment.ExternalRefundRecorded) -> None:
    row = rows.for_payment(event.originator_id)
    if row is None:
        return
    kind = RefundKind.EXTERNAL if event.own_capture else RefundKind.DUPLICATE
    entry = _refund_entry(
        event,
        kind=kind.value,
        reason="refunded at the provider",
        actor="system",
        status=RefundStatus.SUCCEEDED.value,
        gatewayRefundId=event.gateway_refund_id,
        gatewayPaymentId=event.charge,
    )
    rows.change(row, refunds=row["refunds"] | {event.refund_id: entry})
    if event.own_capture:
        _count_refunded(rows, row, event, event.amount)


def _dispute(rows: ViewRows, event: Payment.DisputeOpened | Payment.DisputeClosed) -> None:
    row = rows.for_payment(event.originator_id)
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
    _set(rows, event, disputes=disputes)


class PaymentStatusView(Projection):
    name: ClassVar[str] = "payments"
    defaults: ClassVar[Mapping[str, Any]] = {
        "refunded_amount": 0,
        "refunds_pending": {},
        "refunds": {},
        "disputes": {},
    }
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
        Payment.Canceled: _canceled,
        Payment.ExternalRefundRecorded: _external_refund,
        Payment.DisputeOpened: _dispute,
        Payment.DisputeClosed: _dispute,
    }

    def __init__(self, table: sa.Table = schema.payment_status_view) -> None:
        super().__init__(table)
