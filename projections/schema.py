"""Every table the engine creates, described to the code (SQLAlchemy Core).

The read models and their tracking table, the follower dead letters, and the working sets
of the adapters below them all: the provider task queue, the webhook inbox, the relay
position. The database gets them from the Alembic revisions in ``projections.migrations``
(adr/0012), whose ``upgrade_database`` is the one creator: each process runs it as it
starts, never inside a request. The tables here describe the same tables to the code, and a
change to one comes with a revision that makes it (tests/integration/migrations compares
the two). The eventsourcing library's own tables are the library's.

View tables are built by factories that take the table name, so a rebuild can create a
shadow copy (``<table>__rebuild``) whose indexes and constraints carry the shadow's name and
do not collide with the live ones; the swap renames them back (see ``projections.rebuild``).
The queues and the relay position are never rebuilt: they are plain tables.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

# Names derived from the table name, so a shadow table's constraints are distinct.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

SHADOW_SUFFIX = "__rebuild"

TableFactory = Callable[[sa.MetaData, str], sa.Table]


def new_metadata() -> sa.MetaData:
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


def _timestamp(name: str, nullable: bool = False, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kwargs)


def order_view_table(metadata: sa.MetaData, name: str = "order_view") -> sa.Table:
    table = sa.Table(
        name,
        metadata,
        sa.Column("order_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False, index=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        sa.Column("payment_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("payment_status", sa.Text),
        sa.Column("cancel_reason", sa.Text),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("expires_at"),
        # The payment's refund ledger, kept here so payment_status can follow refunds
        # without reading another view (each view is rebuilt on its own).
        sa.Column("payment_refunds_pending", JSONB, nullable=False),
        sa.Column("payment_refunded_amount", sa.BigInteger, nullable=False),
        # What was captured, when a manual capture took less than the order (revision 0007).
        sa.Column("paid_amount", sa.BigInteger),
    )
    c = table.c
    sa.Index(f"ix_{name}_listing", c.status, c.created_at, c.order_id)
    # The unfiltered admin listing walks this one instead of sorting the whole table.
    sa.Index(f"ix_{name}_recent", c.created_at, c.order_id)
    # A customer's own orders, newest first (GET /orders), without sorting them all.
    sa.Index(f"ix_{name}_customer_recent", c.customer_id, c.created_at, c.order_id)
    sa.Index(
        f"ix_{name}_expiry",
        c.expires_at,
        postgresql_where=c.status == "PENDING_PAYMENT",
    )
    return table


def payment_status_view_table(metadata: sa.MetaData, name: str = "payment_status_view") -> sa.Table:
    table = sa.Table(
        name,
        metadata,
        sa.Column("order_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("payment_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("customer_id", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("gateway_order_id", sa.Text),
        sa.Column("gateway_payment_id", sa.Text),
        sa.Column("client_secret", sa.Text),
        sa.Column("razorpay_key_id", sa.Text),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False),
        sa.Column("failure_reason", sa.Text),
        _timestamp("updated_at"),
        # refund id -> amount for refunds requested but not completed or failed yet.
        sa.Column("refunds_pending", JSONB, nullable=False),
        # refund id -> the refund as GET /admin/orders/{id}/refunds lists it.
        sa.Column("refunds", JSONB, nullable=False, server_default="{}"),
        # dispute id -> its amount, reason and status.
        sa.Column("disputes", JSONB, nullable=False, server_default="{}"),
        # Revision 0007 (manual capture): how it is captured, and what was.
        sa.Column("capture_method", sa.Text, nullable=False, server_default="automatic"),
        sa.Column("paid_amount", sa.BigInteger),
    )
    # The admin search by a provider's id (GET /admin/orders?gatewayRef=): what support is
    # handed from a provider's dashboard. Revision 0009 added them.
    sa.Index(f"ix_{name}_gateway_order", table.c.gateway_order_id)
    sa.Index(f"ix_{name}_gateway_payment", table.c.gateway_payment_id)
    return table


def product_view_table(metadata: sa.MetaData, name: str = "product_view") -> sa.Table:
    table = sa.Table(
        name,
        metadata,
        sa.Column("sku", sa.Text, primary_key=True),
        sa.Column("product_id", UUID(as_uuid=True), unique=True),
        sa.Column("stock_id", UUID(as_uuid=True), unique=True),
        sa.Column("name", sa.Text),
        sa.Column("vendor_id", sa.Text),
        sa.Column("unit_amount", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("on_hand", sa.BigInteger, nullable=False),
        # order id -> units, only for orders reserved by v2 events and not ended yet: their
        # v2 Released/Committed name no quantity. New reservations never enter it (adr/0021).
        sa.Column("legacy_reservations", JSONB, nullable=False, server_default="{}"),
        _timestamp("updated_at", nullable=True),
        # Units held by open orders, legacy ones included: a count, however many orders.
        # Last because revision 0005 added it there.
        sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),
    )
    sa.Index(f"ix_{name}_active", table.c.active, table.c.sku)
    return table


def capture_review_table(metadata: sa.MetaData, name: str = "capture_review_view") -> sa.Table:
    """Money that did not pay for an order: extra charges (refunded) and foreign captures."""
    table = sa.Table(
        name,
        metadata,
        sa.Column("review_id", sa.Text, primary_key=True),  # "<provider>:<gateway payment id>"
        sa.Column("kind", sa.Text, nullable=False),  # foreign | duplicate | mismatch
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("gateway_payment_id", sa.Text, nullable=False),
        sa.Column("gateway_order_id", sa.Text),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("payment_id", UUID(as_uuid=True)),
        sa.Column("order_id", UUID(as_uuid=True)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("refund_id", sa.Text),
        sa.Column("refund_status", sa.Text),  # None for a foreign capture: a person decides
        _timestamp("recorded_at"),
        _timestamp("updated_at"),
        # Revision 0008 (reconciliation): discrepancies, and a person's resolution.
        # status: "open" (for a person), "repaired" (done automatically), "resolved", or
        # "refunding" (an extra charge refunded automatically).
        sa.Column("status", sa.Text, nullable=False, server_default="refunding"),
        sa.Column("discrepancy_id", sa.Text),
        sa.Column("repair", sa.Text),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolution", sa.Text),
        _timestamp("resolved_at", nullable=True),
    )
    sa.Index(f"ix_{name}_refund", table.c.payment_id, table.c.refund_id)
    sa.Index(f"ix_{name}_recent", table.c.recorded_at, table.c.review_id)
    return table


def reconciliation_runs_table(metadata: sa.MetaData, name: str = "reconciliation_runs") -> sa.Table:
    """One row per reconciliation run and provider (infrastructure.reconciliation)."""
    table = sa.Table(
        name,
        metadata,
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("provider", sa.Text, nullable=False),
        _timestamp("window_start"),
        _timestamp("window_end"),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # running | completed | partial
        sa.Column("compared", sa.Integer, nullable=False, server_default="0"),
        sa.Column("discrepancies", JSONB, nullable=False, server_default="{}"),  # kind -> n
        sa.Column("repairs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        _timestamp("started_at"),
        _timestamp("finished_at", nullable=True),
    )
    sa.Index(f"ix_{name}_recent", table.c.started_at, table.c.run_id)
    return table


def follower_dead_letters_table(
    metadata: sa.MetaData, name: str = "follower_dead_letters"
) -> sa.Table:
    """Events a follower could not apply: it stops there until an operator skips or retries."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("follower", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),  # the event's notification id
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("originator_id", UUID(as_uuid=True)),
        sa.Column("originator_version", sa.BigInteger),
        sa.Column("error", sa.Text, nullable=False),
        _timestamp("failed_at"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        # Set when an operator acts: "skipped" (the position moves past it) or "retried".
        sa.Column("resolution", sa.Text),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolution_reason", sa.Text),
        _timestamp("resolved_at", nullable=True),
        sa.UniqueConstraint("follower", "position"),
    )


def projection_tracking_table(metadata: sa.MetaData, name: str = "projection_tracking") -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        _timestamp("updated_at"),
    )


metadata = new_metadata()
order_view = order_view_table(metadata)
payment_status_view = payment_status_view_table(metadata)
product_view = product_view_table(metadata)
capture_review_view = capture_review_table(metadata)
follower_dead_letters = follower_dead_letters_table(metadata)
reconciliation_runs = reconciliation_runs_table(metadata)
projection_tracking = projection_tracking_table(metadata)

TABLE_FACTORIES: dict[str, TableFactory] = {
    order_view.name: order_view_table,
    payment_status_view.name: payment_status_view_table,
    product_view.name: product_view_table,
    capture_review_view.name: capture_review_table,
}


def shadow_of(table: sa.Table, shadow_metadata: sa.MetaData) -> sa.Table:
    """The rebuild copy of a live view table, with the same columns and indexes."""
    return TABLE_FACTORIES[table.name](shadow_metadata, table.name + SHADOW_SUFFIX)


class TaskKind(StrEnum):
    """The provider call a ``provider_tasks`` row asks for."""

    CREATE_ORDER = "create_order"
    CANCEL = "cancel"
    REFUND = "refund"
    CLOSE_OPEN = "close_open"  # paid: close the payment's other ways to pay
    CAPTURE = "capture"  # an operator's capture of an authorization (refund_id: its id)


class TaskStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


# The worker's queue of provider calls (infrastructure.worker.tasks).
provider_tasks = sa.Table(
    "provider_tasks",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("payment_id", UUID(as_uuid=True), nullable=False),
    sa.Column("order_id", UUID(as_uuid=True)),
    sa.Column("refund_id", sa.Text),
    sa.Column("amount", sa.BigInteger),
    sa.Column("status", sa.Text, nullable=False, server_default=TaskStatus.PENDING.value),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _timestamp("next_attempt_at", server_default=sa.func.now()),
    _timestamp("lease_until", nullable=True),
    sa.Column("last_error", sa.Text),
    _timestamp("created_at", server_default=sa.func.now()),
    _timestamp("updated_at", server_default=sa.func.now()),
    sa.CheckConstraint(
        sa.column("kind").in_([k.value for k in TaskKind]), name="ck_provider_tasks_kind"
    ),
    sa.CheckConstraint(
        sa.column("status").in_([s.value for s in TaskStatus]), name="ck_provider_tasks_status"
    ),
)
_tasks = provider_tasks.c
# One task per call, whatever replays the log: the projection inserts ON CONFLICT DO NOTHING.
sa.Index(
    "uq_provider_tasks_call",
    _tasks.kind,
    _tasks.payment_id,
    sa.func.coalesce(_tasks.refund_id, ""),
    unique=True,
)
sa.Index("ix_provider_tasks_pending", _tasks.id, postgresql_where=_tasks.status == "pending")
# One index per lane of claims (infrastructure.worker.tasks, revision 0010): the executor's
# claim is then an ordered scan of the lane's own index that stops at its LIMIT. With the
# one above it was a BitmapAnd with uq_provider_tasks_call (every create task ever) and a
# sort, and a bitmap scan never marks the entries of settled tasks dead, so every claim
# walked all the tasks settled since the last vacuum: 2.4 ms after 8,000, 9 ms after 48,000.
_PENDING_CREATE = sa.and_(_tasks.status == "pending", _tasks.kind == TaskKind.CREATE_ORDER.value)
_PENDING_OTHER = sa.and_(_tasks.status == "pending", _tasks.kind != TaskKind.CREATE_ORDER.value)
sa.Index("ix_provider_tasks_pending_creates", _tasks.id, postgresql_where=_PENDING_CREATE)
sa.Index("ix_provider_tasks_pending_others", _tasks.id, postgresql_where=_PENDING_OTHER)
sa.Index("ix_provider_tasks_payment", _tasks.payment_id)


class InboxStatus(StrEnum):
    RECEIVED = "received"  # not applied yet
    PROCESSED = "processed"  # a use case took it
    IGNORED = "ignored"  # nothing for the engine to do
    FAILED = "failed"  # the last try raised
    DISMISSED = "dismissed"  # a person decided it is never to be applied (adr/0025)


# Every verified provider event, kept raw (infrastructure.webhooks.inbox).
webhook_inbox = sa.Table(
    "webhook_inbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("headers", JSONB, nullable=False),
    _timestamp("received_at", server_default=sa.func.now()),
    sa.Column("status", sa.Text, nullable=False, server_default=InboxStatus.RECEIVED.value),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _timestamp("next_attempt_at", nullable=True),
    _timestamp("lease_until", nullable=True),
    sa.Column("last_error", sa.Text),
    sa.Column("outcome", sa.Text),
    _timestamp("processed_at", nullable=True),
    # What operators did to the row (revision 0006, adr/0025): who, why, when, and the
    # Idempotency-Key of the request, so a retried request answers what the first did.
    sa.Column("dismissed_by", sa.Text),
    sa.Column("dismissed_reason", sa.Text),
    _timestamp("dismissed_at", nullable=True),
    sa.Column("dismiss_key", sa.Text),
    sa.Column("replayed_by", sa.Text),
    sa.Column("replayed_reason", sa.Text),
    _timestamp("replayed_at", nullable=True),
    sa.Column("replay_key", sa.Text),
    sa.UniqueConstraint("provider", "event_id"),
    sa.CheckConstraint(
        sa.column("status").in_([s.value for s in InboxStatus]), name="ck_webhook_inbox_status"
    ),
    sa.CheckConstraint(
        sa.or_(
            sa.column("status") != InboxStatus.DISMISSED.value,
            sa.and_(
                sa.column("dismissed_by").is_not(None),
                sa.column("dismissed_reason").is_not(None),
                sa.column("dismissed_at").is_not(None),
            ),
        ),
        name="ck_webhook_inbox_dismissal",
    ),
)
_inbox = webhook_inbox.c
sa.Index(
    "ix_webhook_inbox_due",
    _inbox.next_attempt_at,
    postgresql_where=_inbox.status.in_([InboxStatus.RECEIVED.value, InboxStatus.FAILED.value]),
)

# How far the outbox relay has published (infrastructure.relay.lease writes it). Its key
# keeps the name PostgreSQL gave it when the relay created the table by hand.
relay_position = sa.Table(
    "relay_position",
    metadata,
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    _timestamp("updated_at", server_default=sa.func.now()),
    sa.PrimaryKeyConstraint("name", name="relay_position_pkey"),
)

# -- the audit trail (adr/0015) -----------------------------------------------------------

# The hash chain over the whole event log, in log order, computed after commit by a
# follower (infrastructure.audit): each link is SHA-256(previous link ‖ notification id ‖
# originator id ‖ version ‖ topic ‖ stored state). ``audit verify`` recomputes it.
audit_chain = sa.Table(
    "audit_chain",
    metadata,
    sa.Column("notification_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("originator_id", UUID(as_uuid=True), nullable=False),
    sa.Column("originator_version", sa.BigInteger, nullable=False),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=False),  # 64 hex digits
    _timestamp("chained_at", server_default=sa.func.now()),
)

# Which stock events an order caused, so an order's history never scans the log.
order_stock_movements = sa.Table(
    "order_stock_movements",
    metadata,
    sa.Column("order_id", UUID(as_uuid=True), nullable=False),
    sa.Column("notification_id", sa.BigInteger, nullable=False),
    sa.Column("stock_id", UUID(as_uuid=True), nullable=False),
    sa.Column("originator_version", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("order_id", "notification_id"),
)

# What the providers said: raw webhook bodies and provider calls (request and response),
# keyed by the SHA-256 of the stored text. Events carry the digest; this keeps the bytes
# for EVIDENCE_RETENTION_DAYS, independently of the inbox's short retention.
evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("digest", sa.Text, primary_key=True),  # 64 hex digits of SHA-256(body)
    sa.Column("kind", sa.Text, nullable=False),  # "webhook" or "provider_call"
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("object_id", sa.Text),  # the provider's id of what it is about
    sa.Column("body", sa.Text, nullable=False),
    _timestamp("recorded_at", server_default=sa.func.now()),
    sa.CheckConstraint(
        sa.column("kind").in_(["webhook", "provider_call"]), name="ck_evidence_kind"
    ),
)
sa.Index("ix_evidence_recorded_at", evidence.c.recorded_at)
