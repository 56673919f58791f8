"""The webhook inbox records what operators do to a row: dismissals and replays.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

See adr/0025. A new status, ``dismissed`` (a person decided the event is never to be
applied), with who, why and when on the row, which a check keeps present on every
dismissed row; and who replayed the row last, why and when. Each keeps the
Idempotency-Key of its request, so a retried request answers what the first one did.
New columns only, appended; the existing rows keep their values.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_STATUSES_0001 = "'received', 'processed', 'ignored', 'failed'"
_STATUSES_0006 = "'received', 'processed', 'ignored', 'failed', 'dismissed'"
_DISMISSAL = (
    "status <> 'dismissed' OR (dismissed_by IS NOT NULL AND dismissed_reason IS NOT NULL "
    "AND dismissed_at IS NOT NULL)"
)


def _columns() -> list[sa.Column[object]]:
    def timestamp(name: str) -> sa.Column[object]:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=True)

    return [
        sa.Column("dismissed_by", sa.Text),
        sa.Column("dismissed_reason", sa.Text),
        timestamp("dismissed_at"),
        sa.Column("dismiss_key", sa.Text),
        sa.Column("replayed_by", sa.Text),
        sa.Column("replayed_reason", sa.Text),
        timestamp("replayed_at"),
        sa.Column("replay_key", sa.Text),
    ]


def upgrade() -> None:
    for column in _columns():
        op.add_column("webhook_inbox", column)
    op.execute(
        "ALTER TABLE webhook_inbox DROP CONSTRAINT ck_webhook_inbox_status, "
        f"ADD CONSTRAINT ck_webhook_inbox_status CHECK (status IN ({_STATUSES_0006})), "
        f"ADD CONSTRAINT ck_webhook_inbox_dismissal CHECK ({_DISMISSAL})"
    )


def downgrade() -> None:
    # The older code knows no dismissal: a dismissed row goes back to failed with no next
    # attempt (parked), so nothing retries it; who dismissed it, and why, is lost.
    op.execute(
        "UPDATE webhook_inbox SET status = 'failed', next_attempt_at = NULL "
        "WHERE status = 'dismissed'"
    )
    op.execute(
        "ALTER TABLE webhook_inbox DROP CONSTRAINT ck_webhook_inbox_dismissal, "
        "DROP CONSTRAINT ck_webhook_inbox_status, "
        f"ADD CONSTRAINT ck_webhook_inbox_status CHECK (status IN ({_STATUSES_0001}))"
    )
    for column in reversed(_columns()):
        op.drop_column("webhook_inbox", column.name)
