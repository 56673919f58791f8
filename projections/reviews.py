"""The reviews view: money that arrived but paid for no order, for operators.

- ``duplicate`` and ``mismatch``: extra charges on an engine payment, refunded
  automatically; the row follows its refund to ``succeeded`` or ``failed``;
- ``foreign``: a capture that matches no engine payment; nothing is refunded, a person
  decides (its ``refund_status`` stays empty);
- what reconciliation found (adr/0028): ``missed_capture``, ``missed_authorization`` and
  ``refund_only_at_provider`` were repaired automatically (``repaired``);
  ``amount_mismatch``, ``not_captured_at_provider`` and ``refund_only_here`` wait for a
  person (``open``) until resolved with a reason (``resolved``), as foreign captures do.

Served by GET /admin/reviews and counted on /metrics. Events are rare, so each is one
statement rather than a batched upsert. Named "reviews" (module, class, projection name);
its table is still ``capture_review_view``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from domain import ForeignCapture, Payment, RefundStatus
from projections import schema
from projections.follower import DomainEvent
from projections.projection import Projection

REVIEW_KINDS = (
    "foreign",
    "duplicate",
    "mismatch",
    "missed_capture",
    "missed_authorization",
    "amount_mismatch",
    "not_captured_at_provider",
    "refund_only_at_provider",
    "refund_only_here",
    "unknown_with_our_metadata",
    "extra_authorization",
)
OPEN, REPAIRED, RESOLVED, REFUNDING = "open", "repaired", "resolved", "refunding"


def review_id(provider: str, gateway_payment_id: str) -> str:
    return f"{provider}:{gateway_payment_id}"


class ReviewsView(Projection):
    name: ClassVar[str] = "reviews"

    def __init__(self, table: sa.Table = schema.capture_review_view) -> None:
        super().__init__(table)

    def followed(self) -> Iterable[type[Any]]:
        return (
            ForeignCapture.Recorded,
            ForeignCapture.Resolved,
            Payment.ExtraChargeRecorded,
            Payment.DiscrepancyFound,
            Payment.DiscrepancyResolved,
            Payment.RefundCompleted,
            Payment.RefundFailed,
        )

    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        for event in domain_events:
            if isinstance(event, ForeignCapture.Recorded):
                self._add(conn, event, kind="foreign", payment_id=None, order_id=None, status=OPEN)
            elif isinstance(event, Payment.DiscrepancyFound):
                self._discrepancy(conn, event)
            elif isinstance(event, Payment.DiscrepancyResolved | ForeignCapture.Resolved):
                self._resolved(conn, event)
            elif isinstance(event, Payment.ExtraChargeRecorded):
                self._add(
                    conn,
                    event,
                    kind=event.cause,
                    payment_id=event.originator_id,
                    order_id=event.order_id,
                    refund_id=event.refund_id,
                    refund_status=RefundStatus.PENDING.value,
                    status=REFUNDING,
                )
            elif isinstance(event, Payment.RefundCompleted | Payment.RefundFailed):
                self._refund_settled(conn, event)

    def _add(self, conn: Connection, event: Any, **values: Any) -> None:
        row = {
            "review_id": review_id(event.provider, event.gateway_payment_id),
            "provider": event.provider,
            "gateway_payment_id": event.gateway_payment_id,
            "gateway_order_id": getattr(event, "gateway_order_id", None),
            "amount": event.amount,
            "currency": event.currency,
            "detail": event.detail,
            "refund_id": None,
            "refund_status": None,
            "recorded_at": event.timestamp,
            "updated_at": event.timestamp,
        } | values
        conn.execute(insert(self.table).values(row).on_conflict_do_nothing())

    def _discrepancy(self, conn: Connection, event: Payment.DiscrepancyFound) -> None:
        row = {
            "review_id": review_id(event.provider, event.discrepancy_id),
            "kind": event.kind,
            "provider": event.provider,
            "gateway_payment_id": event.gateway_payment_id or "",
            "gateway_order_id": None,
            "amount": event.provider_amount or 0,
            "currency": event.provider_currency or "",
            "payment_id": event.originator_id,
            "order_id": event.order_id,
            "detail": event.detail,
            "refund_id": None,
            "refund_status": None,
            "recorded_at": event.timestamp,
            "updated_at": event.timestamp,
            "status": REPAIRED if event.repair else OPEN,
            "discrepancy_id": event.discrepancy_id,
            "repair": event.repair,
        }
        conn.execute(insert(self.table).values(row).on_conflict_do_nothing())

    def _resolved(
        self, conn: Connection, event: Payment.DiscrepancyResolved | ForeignCapture.Resolved
    ) -> None:
        c = self.table.c
        if isinstance(event, Payment.DiscrepancyResolved):
            which = sa.and_(
                c.payment_id == event.originator_id, c.discrepancy_id == event.discrepancy_id
            )
        else:
            which = c.review_id == review_id(event.provider, event.gateway_payment_id)
        conn.execute(
            sa.update(self.table)
            .where(which)
            .values(
                status=RESOLVED,
                resolved_by=event.actor,
                resolution=event.reason,
                resolved_at=event.timestamp,
                updated_at=event.timestamp,
            )
        )

    def _refund_settled(
        self, conn: Connection, event: Payment.RefundCompleted | Payment.RefundFailed
    ) -> None:
        status = RefundStatus.SUCCEEDED if isinstance(event, Payment.RefundCompleted) else None
        c = self.table.c
        conn.execute(
            sa.update(self.table)
            .where(c.payment_id == event.originator_id, c.refund_id == event.refund_id)
            .values(refund_status=(status or RefundStatus.FAILED).value, updated_at=event.timestamp)
        )
