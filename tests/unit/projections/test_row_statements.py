"""The views' statements are plain SQL built once per table, typed from its columns."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID as UUID_TYPE

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from domain import Provider
from projections.rows import RowsUpsert, rows_json, statements_for
from projections.schema import new_metadata, payment_status_view, shadow_of

UUID_VALUE = UUID_TYPE("550e8400-e29b-41d4-a716-446655440000")


def _table() -> sa.Table:
    return sa.Table(
        "things",
        new_metadata(),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("owner_id", UUID(as_uuid=True)),
        sa.Column("currency", sa.String(3)),
        sa.Column("counts", JSONB, nullable=False),
        sa.Column("reserved", sa.BigInteger),
    )


def test_the_upsert_sends_the_rows_as_one_json_parameter_typed_by_the_columns() -> None:
    upsert = RowsUpsert(_table())
    assert upsert.sql == (
        "INSERT INTO things (key, owner_id, currency, counts, reserved) "
        "SELECT key, owner_id, currency, counts, reserved "
        "FROM json_to_recordset(%s::json) "
        "AS v(key TEXT, owner_id UUID, currency VARCHAR(3), counts JSONB, reserved BIGINT) "
        "ON CONFLICT (key) DO UPDATE SET owner_id = EXCLUDED.owner_id, "
        "currency = EXCLUDED.currency, counts = EXCLUDED.counts, reserved = EXCLUDED.reserved"
    )
    owner = UUID_VALUE
    rows: list[dict[str, Any]] = [
        {"key": "a", "owner_id": owner, "currency": "USD", "counts": {"x": 1}, "reserved": 2},
        {"key": "b", "owner_id": None, "currency": None, "counts": None, "reserved": None},
    ]
    [sent] = upsert.parameters(rows)
    assert json.loads(sent) == [
        {"key": "a", "owner_id": str(owner), "currency": "USD", "counts": {"x": 1}, "reserved": 2},
        {"key": "b", "owner_id": None, "currency": None, "counts": None, "reserved": None},
    ]


def test_only_the_upserts_columns_are_sent() -> None:
    upsert = RowsUpsert(_table(), ("key", "reserved"), conflict=(), update=False)
    [sent] = upsert.parameters([{"key": "a", "reserved": 1, "counts": {"not": "sent"}}])
    assert json.loads(sent) == [{"key": "a", "reserved": 1}]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (b"\x00\xff", "\\x00ff"),  # bytea's hex input
        (Decimal("12.50"), "12.50"),
        (datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC), "2026-12-03T12:00:00.123456+00:00"),
        (Provider.STRIPE, "stripe"),
        (2**70, 2**70),  # beyond orjson: written as it is, for PostgreSQL to refuse
        ({1: "a"}, {"1": "a"}),  # a key that is not a str: as json.dumps writes it
    ],
)
def test_values_are_written_as_postgresql_reads_them(value: Any, written: Any) -> None:
    assert json.loads(rows_json([{"v": value}])) == [{"v": written}]


def test_statements_are_built_once_per_table_and_a_shadow_gets_its_own() -> None:
    found_by = ("order_id", "payment_id")
    live = statements_for(payment_status_view, found_by)
    assert statements_for(payment_status_view, found_by) is live
    assert "order_id = ANY({ids}::UUID[]) OR payment_id = ANY({ids}::UUID[])" in live.aggregate
    shadow = statements_for(shadow_of(payment_status_view, new_metadata()), found_by)
    assert shadow is not live
    assert "payment_status_view__rebuild" in shadow.upsert.sql
    assert "payment_status_view__rebuild" in shadow.aggregate
