"""The read side the API uses: CONTRACT-shaped documents straight from the views."""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from domain import OrderStatus
from projections.documents import rfc3339
from projections.schema import capture_review_view, order_view, payment_status_view, product_view

Document = dict[str, Any]
# Aliases, because inside OrderQueries the name `list` is the listing method.
Documents = list[Document]
OrderIds = list[UUID]
Rows = list[RowMapping]
Conditions = list[sa.ColumnElement[bool]]


class InvalidCursor(ValueError):
    def __init__(self) -> None:
        super().__init__("cursor is not one this API handed out")


@dataclass(frozen=True)
class OrderSearch:
    """What the admin listing narrows to; every criterion given must hold (AND).

    ``gateway_id`` is a provider's own id for the payment (its order or intent, or the
    captured payment) as the payments view holds it. ``created_from`` is inclusive,
    ``created_to`` exclusive, so consecutive ranges never list an order twice.
    """

    status: str | None = None
    provider: str | None = None
    order_id: UUID | None = None
    customer_id: str | None = None
    gateway_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def conditions(self) -> Conditions:
        c = order_view.c
        where: Conditions = []
        if self.order_id is not None:
            where.append(c.order_id == self.order_id)
        if self.customer_id is not None:
            where.append(c.customer_id == self.customer_id)
        if self.status is not None:
            where.append(c.status == self.status)
        if self.provider is not None:
            where.append(c.provider == self.provider)
        if self.created_from is not None:
            where.append(c.created_at >= self.created_from)
        if self.created_to is not None:
            where.append(c.created_at < self.created_to)
        if self.gateway_id is not None:
            p = payment_status_view.c
            paid_by = sa.select(p.order_id).where(
                sa.or_(
                    p.gateway_order_id == self.gateway_id, p.gateway_payment_id == self.gateway_id
                )
            )
            where.append(c.order_id.in_(paid_by))
        return where


@dataclass(frozen=True)
class OrderRecord:
    """An order document and, apart from it, its owner for the ownership check."""

    customer_id: str
    body: Document


@dataclass(frozen=True)
class PaymentRecord:
    customer_id: str | None  # None only until the order's own event is projected
    body: Document


def _as_uuid(value: UUID | str) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value)
    except ValueError:
        return None


def encode_cursor(created_at: datetime, order_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(order_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The page boundary a cursor from ``encode_cursor`` names; InvalidCursor for any other.

    A cursor comes from the client: anything that is not exactly the pair we encode (an
    aware timestamp and an order id, both strings) is refused, never half-used.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        if not isinstance(decoded, list) or len(decoded) != 2:
            raise InvalidCursor()
        created_at, order_id = decoded
        if not isinstance(created_at, str) or not isinstance(order_id, str):
            raise InvalidCursor()
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise InvalidCursor()
        # Within what PostgreSQL's timestamptz and Python both represent once in UTC.
        moment.astimezone(UTC)
        return moment, UUID(order_id)
    except (binascii.Error, ValueError, TypeError, OverflowError, RecursionError):
        raise InvalidCursor() from None


def order_document(row: RowMapping) -> Document:
    return {
        "orderId": str(row["order_id"]),
        "status": row["status"],
        "amount": row["amount"],
        "currency": row["currency"],
        "lines": row["lines"],
        "createdAt": rfc3339(row["created_at"]),
        "updatedAt": rfc3339(row["updated_at"]),
        "payment": {
            "paymentId": str(row["payment_id"]),
            "provider": row["provider"],
            "status": row["payment_status"],
        },
    }


class OrderQueries:
    def __init__(self, db: Engine) -> None:
        self.db = db

    def get(self, order_id: UUID | str) -> OrderRecord | None:
        key = _as_uuid(order_id)
        if key is None:
            return None
        query = sa.select(order_view).where(order_view.c.order_id == key)
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else OrderRecord(row["customer_id"], order_document(row))

    def list(
        self, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[Documents, str | None]:
        """Newest first, keyset-paginated: (items, cursor of the next page or None).

        Items are order documents plus ``customerId`` (the listing is for admins).
        """
        return self.search(OrderSearch(status=status), limit, cursor)

    def search(
        self, criteria: OrderSearch, limit: int = 50, cursor: str | None = None
    ) -> tuple[Documents, str | None]:
        """The orders ``criteria`` admits, newest first, keyset-paginated like ``list``.

        A cursor names a place in the one newest-first order of all orders, not a page of
        one search: the next page holds the matching orders after it, so a page boundary
        stays right however the filters narrow (and an order that starts matching behind
        the cursor is not listed twice).
        """
        rows, next_cursor = self._page(criteria.conditions(), limit, cursor)
        return [order_document(r) | {"customerId": r["customer_id"]} for r in rows], next_cursor

    def list_for_customer(
        self, customer_id: str, limit: int = 50, cursor: str | None = None
    ) -> tuple[Documents, str | None]:
        """One customer's orders, newest first, keyset-paginated like ``list``.

        Walks ix_order_view_customer_recent: a page costs the same however many orders the
        customer or the shop has. Items are order documents without ``customerId`` (the
        caller is that customer).
        """
        rows, next_cursor = self._page([order_view.c.customer_id == customer_id], limit, cursor)
        return [order_document(row) for row in rows], next_cursor

    def _page(self, where: Conditions, limit: int, cursor: str | None) -> tuple[Rows, str | None]:
        """One page of order rows, newest first, and the cursor of the next (or None)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        c = order_view.c
        query = sa.select(order_view).where(*where).order_by(c.created_at.desc(), c.order_id.desc())
        if cursor is not None:
            query = query.where(sa.tuple_(c.created_at, c.order_id) < decode_cursor(cursor))
        with self.db.connect() as conn:
            rows = list(conn.execute(query.limit(limit + 1)).mappings())
        page = rows[:limit]
        more = len(rows) > limit
        return page, encode_cursor(page[-1]["created_at"], page[-1]["order_id"]) if more else None

    def expired_orders(self, now: datetime, limit: int = 100) -> OrderIds:
        """Unpaid orders past their expiry, oldest expiry first (the reaper's work list)."""
        c = order_view.c
        query = (
            sa.select(c.order_id)
            .where(c.status == OrderStatus.PENDING_PAYMENT.value, c.expires_at <= now)
            .order_by(c.expires_at)
            .limit(limit)
        )
        with self.db.connect() as conn:
            return list(conn.execute(query).scalars())

    def captured_payments(
        self, provider: str, since: datetime, until: datetime
    ) -> builtins.list[UUID]:
        """Payments of a provider's orders placed in ``[since, until)`` that the engine
        counts as captured: what reconciliation checks the provider also lists."""
        c = order_view.c
        captured = ("succeeded", "partially_refunded", "refunded")
        query = sa.select(c.payment_id).where(
            c.provider == provider,
            c.created_at >= since,
            c.created_at < until,
            c.payment_status.in_(captured),
        )
        with self.db.connect() as conn:
            return list(conn.execute(query).scalars())


_CAPTURED = frozenset({"succeeded", "partially_refunded", "refunded"})


def _captured(row: RowMapping) -> int | None:
    """What the provider captured: less than the amount after a partial manual capture
    (``paid_amount``, NULL for payments captured before it was kept: the whole amount)."""
    if row["status"] not in _CAPTURED:
        return None
    paid: int | None = row["paid_amount"]
    return int(row["amount"]) if paid is None else paid


def payment_document(row: RowMapping) -> Document:
    return {
        "orderId": str(row["order_id"]),
        "paymentId": str(row["payment_id"]),
        "status": row["status"],
        "provider": row["provider"],
        "amount": row["amount"],
        "currency": row["currency"],
        "gatewayOrderId": row["gateway_order_id"],
        "gatewayPaymentId": row["gateway_payment_id"],
        "metadata": {"stripeClientSecret": row["client_secret"]},
        "razorpayKeyId": row["razorpay_key_id"],
        "refundedAmount": row["refunded_amount"],
        "capturedAmount": _captured(row),
        "failureReason": row["failure_reason"],
        "updatedAt": rfc3339(row["updated_at"]),
        "disputes": sorted(row["disputes"].values(), key=lambda d: str(d["openedAt"])),
    }


def _refunds(row: RowMapping) -> Documents:
    return sorted(row["refunds"].values(), key=lambda r: (str(r["requestedAt"]), r["refundId"]))


class PaymentQueries:
    def __init__(self, db: Engine) -> None:
        self.db = db

    def get(self, order_id: UUID | str) -> PaymentRecord | None:
        key = _as_uuid(order_id)
        if key is None:
            return None
        query = sa.select(payment_status_view).where(payment_status_view.c.order_id == key)
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else PaymentRecord(row["customer_id"], payment_document(row))

    def refunds(self, order_id: UUID) -> Documents | None:
        """Every refund of the order's payment, oldest first; None for an unknown order."""
        c = payment_status_view.c
        query = sa.select(c.refunds).where(c.order_id == order_id)
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _refunds(row)


class ProductQueries:
    """The public catalog: active products with the units still available."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def list_active(self) -> Documents:
        c = product_view.c
        query = (
            sa.select(product_view).where(c.active.is_(True), c.name.is_not(None)).order_by(c.sku)
        )
        with self.db.connect() as conn:
            return [_product_document(row) for row in conn.execute(query).mappings()]


def _product_document(row: RowMapping) -> Document:
    return {
        "sku": row["sku"],
        "name": row["name"],
        "vendorId": row["vendor_id"],
        "unitAmount": row["unit_amount"],
        "currency": row["currency"],
        "available": max(0, row["on_hand"] - row["reserved"]),
    }


def _review_document(row: RowMapping) -> Document:
    return {
        "reviewId": row["review_id"],
        "kind": row["kind"],
        "provider": row["provider"],
        "gatewayPaymentId": row["gateway_payment_id"],
        "gatewayOrderId": row["gateway_order_id"],
        "amount": row["amount"],
        "currency": row["currency"],
        "orderId": None if row["order_id"] is None else str(row["order_id"]),
        "paymentId": None if row["payment_id"] is None else str(row["payment_id"]),
        "detail": row["detail"],
        "refundId": row["refund_id"],
        "refundStatus": row["refund_status"],
        "recordedAt": rfc3339(row["recorded_at"]),
        "updatedAt": rfc3339(row["updated_at"]),
        "status": row["status"],
        "discrepancyId": row["discrepancy_id"],
        "repair": row["repair"],
        "resolvedBy": row["resolved_by"],
        "resolution": row["resolution"],
        "resolvedAt": None if row["resolved_at"] is None else rfc3339(row["resolved_at"]),
    }


class ReviewQueries:
    """Captures that paid for no order: newest first, optionally of one kind."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def list(self, kind: str | None, limit: int, status: str | None = None) -> Documents:
        c = capture_review_view.c
        query = sa.select(capture_review_view).order_by(c.recorded_at.desc(), c.review_id)
        if kind is not None:
            query = query.where(c.kind == kind)
        if status is not None:
            query = query.where(c.status == status)
        with self.db.connect() as conn:
            rows = conn.execute(query.limit(limit)).mappings()
            return [_review_document(row) for row in rows]

    def get(self, review_id: str) -> Document | None:
        c = capture_review_view.c
        with self.db.connect() as conn:
            row = (
                conn.execute(sa.select(capture_review_view).where(c.review_id == review_id))
                .mappings()
                .first()
            )
        return None if row is None else _review_document(row)

    def census(self) -> dict[tuple[str, str, str], int]:
        """Rows by (provider, kind, refund status or ``none``), for /metrics."""
        c = capture_review_view.c
        status = sa.func.coalesce(c.refund_status, "none")
        query = sa.select(c.provider, c.kind, status, sa.func.count()).group_by(
            c.provider, c.kind, status
        )
        with self.db.connect() as conn:
            return {(p, k, s): n for p, k, s, n in conn.execute(query)}
