"""Revision 0005: the catalog view's map of every reservation becomes a count (adr/0021)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from projections.queries import ProductQueries
from tests.integration.migrations.schema_shape import downgrade_to, upgrade_to

HELD = {"8d3e0c1a-0000-4000-8000-000000000001": 2, "8d3e0c1a-0000-4000-8000-000000000002": 3}


def _write_rows_at_0004(db: Engine) -> None:
    insert = sa.text(
        """INSERT INTO product_view (sku, name, vendor_id, unit_amount, currency, active,
               on_hand, reservations)
           VALUES (:sku, :sku, 'v1', 1250, 'USD', true, :on_hand, CAST(:held AS jsonb))"""
    )
    with db.begin() as conn:
        conn.execute(insert, {"sku": "MUG", "on_hand": 10, "held": json.dumps(HELD)})
        conn.execute(insert, {"sku": "TEE", "on_hand": 4, "held": "{}"})


def _rows(db: Engine) -> dict[str, dict[str, object]]:
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM product_view ORDER BY sku")).mappings()
        return {row["sku"]: dict(row) for row in rows}


def test_a_row_with_a_map_becomes_a_count_and_keeps_its_orders_as_legacy(db: Engine) -> None:
    upgrade_to(db, "0004")
    _write_rows_at_0004(db)
    before = {p["sku"]: p["available"] for p in _available_at_0004(db)}

    upgrade_to(db, "0005")

    rows = _rows(db)
    assert (rows["MUG"]["reserved"], rows["MUG"]["legacy_reservations"]) == (5, HELD)
    assert (rows["TEE"]["reserved"], rows["TEE"]["legacy_reservations"]) == (0, {})
    assert "reservations" not in rows["MUG"]
    after = {p["sku"]: p["available"] for p in ProductQueries(db).list_active()}
    assert after == before == {"MUG": 5, "TEE": 4}


def test_a_row_written_after_0005_needs_no_map(db: Engine) -> None:
    upgrade_to(db, "0005")
    with db.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO product_view (sku, active, on_hand, reserved)"
                " VALUES ('MUG', true, 3, 1)"
            )
        )
    assert _rows(db)["MUG"]["legacy_reservations"] == {}


def test_the_downgrade_gives_the_map_back(db: Engine) -> None:
    upgrade_to(db, "0004")
    _write_rows_at_0004(db)
    upgrade_to(db, "0005")

    downgrade_to(db, "0004")

    rows = _rows(db)
    assert rows["MUG"]["reservations"] == HELD
    assert "reserved" not in rows["MUG"]


def _available_at_0004(db: Engine) -> list[dict[str, object]]:
    """What GET /products answered at 0004: on hand less the sum of the map."""
    query = sa.text(
        """SELECT sku, on_hand - COALESCE(
               (SELECT sum(value::bigint) FROM jsonb_each_text(reservations)), 0) AS available
             FROM product_view ORDER BY sku"""
    )
    with db.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
