"""Revision 0006: the webhook inbox records dismissals and replays (adr/0025)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.integration.migrations.schema_shape import downgrade_to, upgrade_to

_INSERT = sa.text(
    """INSERT INTO webhook_inbox (provider, event_id, event_type, body, headers, status)
       VALUES ('stripe', :event_id, 'charge.refunded', '\\x7b7d', '{}', :status)"""
)


def _rows(db: Engine) -> dict[str, dict[str, object]]:
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM webhook_inbox ORDER BY id")).mappings()
        return {str(row["event_id"]): dict(row) for row in rows}


def test_rows_written_at_0005_keep_their_status_and_have_no_operator_yet(db: Engine) -> None:
    upgrade_to(db, "0005")
    with db.begin() as conn:
        conn.execute(_INSERT, {"event_id": "evt_failed", "status": "failed"})
        conn.execute(_INSERT, {"event_id": "evt_done", "status": "processed"})

    upgrade_to(db, "0006")

    rows = _rows(db)
    assert {name: row["status"] for name, row in rows.items()} == {
        "evt_failed": "failed",
        "evt_done": "processed",
    }
    assert {row["dismissed_by"] for row in rows.values()} == {None}
    assert {row["replayed_at"] for row in rows.values()} == {None}


def test_a_dismissal_must_name_who_why_and_when(db: Engine) -> None:
    upgrade_to(db, "0006")
    with db.begin() as conn:
        conn.execute(_INSERT, {"event_id": "evt_1", "status": "failed"})

    refused = pytest.raises(sa.exc.IntegrityError, match="ck_webhook_inbox_dismissal")
    with refused, db.begin() as conn:
        conn.execute(sa.text("UPDATE webhook_inbox SET status = 'dismissed'"))
    with db.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE webhook_inbox SET status = 'dismissed', dismissed_by = 'admin:ann', "
                "dismissed_reason = 'a test event', dismissed_at = now()"
            )
        )
    assert _rows(db)["evt_1"]["status"] == "dismissed"


def test_the_downgrade_parks_dismissed_rows_for_the_older_code(db: Engine) -> None:
    upgrade_to(db, "0006")
    with db.begin() as conn:
        conn.execute(_INSERT, {"event_id": "evt_1", "status": "failed"})
        conn.execute(
            sa.text(
                "UPDATE webhook_inbox SET status = 'dismissed', dismissed_by = 'cli:ann', "
                "dismissed_reason = 'a test event', dismissed_at = now(), "
                "next_attempt_at = now()"
            )
        )

    downgrade_to(db, "0005")

    row = _rows(db)["evt_1"]
    assert (row["status"], row["next_attempt_at"]) == ("failed", None)
    assert "dismissed_by" not in row
