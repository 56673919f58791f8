"""Rows as the engine wrote them at revision 0001, and what must hold for them at head."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from projections.schema import (
    TaskKind,
    capture_review_view,
    follower_dead_letters,
    order_view,
    payment_status_view,
    projection_tracking,
    provider_tasks,
    webhook_inbox,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Written:
    order_id: uuid.UUID = field(default_factory=uuid.uuid4)
    payment_id: uuid.UUID = field(default_factory=uuid.uuid4)


def write_rows_at_0001(db: Engine) -> Written:
    """Plain SQL naming only 0001's columns, as the code of that time wrote them."""
    written = Written()
    ids = {"order_id": written.order_id, "payment_id": written.payment_id, "now": NOW}
    statements = [
        """INSERT INTO order_view (order_id, customer_id, status, amount, currency, lines,
               payment_id, provider, payment_status, refunded_amount, created_at, updated_at,
               expires_at, payment_refunds_pending, payment_refunded_amount)
           VALUES (:order_id, 'c-1', 'PAYMENT_CONFIRMED', 2500, 'USD',
               '[{"sku": "MUG-1", "quantity": 2}]', :payment_id, 'stripe', 'succeeded', 1000,
               :now, :now, :now, '{"rf-1": 500}', 1000)""",
        """INSERT INTO payment_status_view (order_id, payment_id, customer_id, status, provider,
               amount, currency, gateway_payment_id, refunded_amount, updated_at,
               refunds_pending)
           VALUES (:order_id, :payment_id, 'c-1', 'succeeded', 'stripe', 2500, 'USD', 'pi_1',
               1000, :now, '{"rf-1": 500}')""",
        """INSERT INTO provider_tasks (kind, payment_id, order_id, refund_id, amount)
           VALUES ('refund', :payment_id, :order_id, 'rf-1', 500)""",
        """INSERT INTO webhook_inbox (provider, event_id, event_type, body, headers)
           VALUES ('stripe', 'evt_1', 'charge.refunded', '\\x7b7d',
               '{"stripe-signature": "t=1"}')""",
        "INSERT INTO projection_tracking (name, position, updated_at) VALUES ('orders', 7, :now)",
        "INSERT INTO relay_position (name, position) VALUES ('orders', 5)",
    ]
    with db.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), ids)
    return written


def assert_rows_intact(db: Engine, written: Written) -> None:
    with db.connect() as conn:
        order = conn.execute(sa.select(order_view)).mappings().one()
        payment = conn.execute(sa.select(payment_status_view)).mappings().one()
        task = conn.execute(sa.select(provider_tasks)).mappings().one()
        webhook = conn.execute(sa.select(webhook_inbox)).mappings().one()
        tracking = conn.execute(sa.select(projection_tracking)).mappings().one()
        relay = conn.execute(sa.text("SELECT name, position FROM relay_position")).one()
    assert (order["order_id"], order["payment_id"]) == (written.order_id, written.payment_id)
    assert order["lines"] == [{"sku": "MUG-1", "quantity": 2}]
    assert order["payment_refunds_pending"] == {"rf-1": 500}
    assert order["expires_at"] == NOW
    assert (payment["status"], payment["refunded_amount"]) == ("succeeded", 1000)
    assert payment["refunds_pending"] == {"rf-1": 500}
    assert (payment["refunds"], payment["disputes"]) == ({}, {})  # 0002's columns
    assert (task["kind"], task["refund_id"], task["status"]) == ("refund", "rf-1", "pending")
    assert (webhook["event_id"], webhook["body"], webhook["status"]) == ("evt_1", b"{}", "received")
    assert (tracking["name"], tracking["position"]) == ("orders", 7)
    assert tuple(relay) == ("orders", 5)


def assert_head_tables_take_rows(db: Engine, written: Written) -> None:
    """0002's tables and the widened task kinds, written through the code's own tables."""
    with db.begin() as conn:
        conn.execute(
            sa.insert(provider_tasks).values(
                kind=TaskKind.CLOSE_OPEN.value,
                payment_id=written.payment_id,
                order_id=written.order_id,
            )
        )
        conn.execute(
            sa.insert(capture_review_view).values(
                review_id="stripe:ch_2",
                kind="duplicate",
                provider="stripe",
                gateway_payment_id="ch_2",
                amount=2500,
                currency="USD",
                payment_id=written.payment_id,
                order_id=written.order_id,
                detail="a second charge",
                recorded_at=NOW,
                updated_at=NOW,
            )
        )
        conn.execute(
            sa.insert(follower_dead_letters).values(
                follower="fulfilment", position=3, topic="t", error="boom", failed_at=NOW
            )
        )
        conn.execute(
            sa.update(payment_status_view).values(
                refunds={"rf-1": {"amount": 500}}, disputes={"dp-1": {"amount": 2500}}
            )
        )
        kinds = conn.execute(sa.select(provider_tasks.c.kind).order_by(provider_tasks.c.id))
        assert list(kinds.scalars()) == ["refund", "close_open"]
        attempts = conn.execute(sa.select(follower_dead_letters.c.attempts)).scalar_one()
        assert attempts == 1
        refunds = conn.execute(sa.select(payment_status_view.c.refunds)).scalar_one()
        assert json.dumps(refunds) == '{"rf-1": {"amount": 500}}'
