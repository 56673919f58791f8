"""The views' statements are plain SQL built once per table, typed from its columns."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from projections.rows import UnnestUpsert, statements_for
from projections.schema import new_metadata, payment_status_view, shadow_of


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


def test_the_upsert_sends_one_typed_array_per_column_and_json_as_text() -> None:
    upsert = UnnestUpsert(_table())
    assert upsert.sql == (
        "INSERT INTO things (key, owner_id, currency, counts, reserved) "
        "SELECT key, owner_id, currency, counts::JSONB, reserved "
        "FROM unnest(%b::TEXT[], %b::UUID[], %b::VARCHAR(3)[], %b::text[], %b::BIGINT[]) "
        "AS v(key, owner_id, currency, counts, reserved) "
        "ON CONFLICT (key) DO UPDATE SET owner_id = EXCLUDED.owner_id, "
        "currency = EXCLUDED.currency, counts = EXCLUDED.counts, reserved = EXCLUDED.reserved"
    )
    rows: list[dict[str, Any]] = [
        {"key": "a", "owner_id": None, "currency": "USD", "counts": {"x": 1}, "reserved": 2},
        {"key": "b", "owner_id": None, "currency": None, "counts": None, "reserved": None},
    ]
    assert upsert.parameters(rows) == [
        ["a", "b"],
        [None, None],
        ["USD", None],
        ['{"x": 1}', None],
        [2, None],
    ]


def test_an_insert_of_some_columns_can_skip_any_conflict() -> None:
    upsert = UnnestUpsert(_table(), ("key", "reserved"), conflict=(), update=False)
    assert upsert.sql.endswith("AS v(key, reserved) ON CONFLICT DO NOTHING")


def test_statements_are_built_once_per_table_and_a_shadow_gets_its_own() -> None:
    found_by = ("order_id", "payment_id")
    live = statements_for(payment_status_view, found_by)
    assert statements_for(payment_status_view, found_by) is live
    assert "order_id = ANY({ids}::UUID[]) OR payment_id = ANY({ids}::UUID[])" in live.aggregate
    shadow = statements_for(shadow_of(payment_status_view, new_metadata()), found_by)
    assert shadow is not live
    assert "payment_status_view__rebuild" in shadow.upsert.sql
    assert "payment_status_view__rebuild" in shadow.aggregate
