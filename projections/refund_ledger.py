"""The refund ledger as an order-keyed view keeps it (adr/0010), in the view's own columns.

Both the order view and the payments view follow a payment's refunds in their own columns,
so that each can be rebuilt on its own (adr/0006); this is the one place that says how:

- a refund of the order's own capture (``OWN_CAPTURE_REFUNDS``) is pending from its
  request until it completes (the refunded amount grows, the status becomes partially
  refunded or refunded) or fails (it is simply no longer pending);
- a refund of an extra charge never changes the order's payment;
- a refund made at the provider's dashboard counts at once if it gave back the own capture;
- where a view lists refunds (``listing``: refund id -> the refund as
  GET /admin/orders/{id}/refunds shows it), every refund is listed with its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import Payment, PaymentStatus, RefundKind, RefundStatus
from domain.payment import OWN_CAPTURE_REFUNDS
from projections.documents import rfc3339
from projections.projection import Handler
from projections.rows import Row, RowStore

# A refund made at the provider carries none of the engine's metadata.
EXTERNAL_REASON = "refunded at the provider"
EXTERNAL_ACTOR = "system"


def paid(row: Row) -> int:
    """What was captured for the row's order: less than its amount after a partial capture
    (``paid_amount``), the amount for rows of older events (None)."""
    captured = row.get("paid_amount")
    return int(row["amount"] if captured is None else captured)


def _listed(event: Any, **values: Any) -> dict[str, Any]:
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


class RefundLedger:
    """A payment's refunds in the columns one view names for them.

    ``pending`` (refund id -> amount of own-capture refunds not settled yet), ``refunded``
    (the own capture given back), ``status`` (the payment status the view shows) and,
    optionally, ``listing``. Rows are found by their ``payment_id`` column.
    """

    def __init__(
        self, *, pending: str, refunded: str, status: str, listing: str | None = None
    ) -> None:
        self.pending = pending
        self.refunded = refunded
        self.status = status
        self.listing = listing

    @property
    def handlers(self) -> Mapping[type[Any], Handler]:
        return {
            Payment.RefundRequested: self._requested,
            Payment.RefundCompleted: self._completed,
            Payment.RefundFailed: self._failed,
            Payment.ExternalRefundRecorded: self._external,
        }

    def _requested(self, rows: RowStore, event: Payment.RefundRequested) -> None:
        row = rows.find("payment_id", event.originator_id)
        if row is None:
            return
        if self.listing is not None:
            entry = _listed(
                event,
                currency=event.currency or row["currency"],
                gatewayPaymentId=event.charge or row["gateway_payment_id"],
            )
            rows.change(row, **{self.listing: row[self.listing] | {event.refund_id: entry}})
        if event.kind in OWN_CAPTURE_REFUNDS:
            pending = row[self.pending] | {event.refund_id: event.amount}
            rows.change(row, **{self.pending: pending})

    def _completed(self, rows: RowStore, event: Payment.RefundCompleted) -> None:
        row = rows.find("payment_id", event.originator_id)
        if row is None:
            return
        self._settle_listed(
            rows,
            row,
            event,
            status=RefundStatus.SUCCEEDED.value,
            gatewayRefundId=event.gateway_refund_id,
        )
        if event.refund_id not in row[self.pending]:
            return  # a refund of an extra charge: the order's payment is unchanged
        pending = dict(row[self.pending])
        amount = pending.pop(event.refund_id)
        rows.change(row, **{self.pending: pending})
        self._count(rows, row, event, amount)

    def _failed(self, rows: RowStore, event: Payment.RefundFailed) -> None:
        row = rows.find("payment_id", event.originator_id)
        if row is None:
            return
        self._settle_listed(
            rows, row, event, status=RefundStatus.FAILED.value, failureReason=event.reason
        )
        pending = {k: v for k, v in row[self.pending].items() if k != event.refund_id}
        rows.change(row, **{self.pending: pending})

    def _external(self, rows: RowStore, event: Payment.ExternalRefundRecorded) -> None:
        row = rows.find("payment_id", event.originator_id)
        if row is None:
            return
        if self.listing is not None:
            kind = RefundKind.EXTERNAL if event.own_capture else RefundKind.DUPLICATE
            entry = _listed(
                event,
                kind=kind.value,
                reason=EXTERNAL_REASON,
                actor=EXTERNAL_ACTOR,
                status=RefundStatus.SUCCEEDED.value,
                gatewayRefundId=event.gateway_refund_id,
                gatewayPaymentId=event.charge,
            )
            rows.change(row, **{self.listing: row[self.listing] | {event.refund_id: entry}})
        if event.own_capture:
            self._count(rows, row, event, event.amount)

    def _settle_listed(self, rows: RowStore, row: Row, event: Any, **values: Any) -> None:
        if self.listing is None:
            return
        refunds = dict(row[self.listing])
        entry = refunds.get(event.refund_id)
        if entry is not None:
            refunds[event.refund_id] = entry | values | {"updatedAt": rfc3339(event.timestamp)}
        rows.change(row, **{self.listing: refunds})

    def _count(self, rows: RowStore, row: Row, event: Any, amount: int) -> None:
        """The own capture given back grows by ``amount``."""
        refunded = row[self.refunded] + amount
        fully = refunded >= paid(row)
        status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
        rows.touch(row, event, **{self.status: status.value, self.refunded: refunded})
