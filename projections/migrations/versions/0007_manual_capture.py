"""Manual capture: the capture task kind, and what the views need to show a capture.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

See adr/0027. ``provider_tasks`` accepts ``capture`` tasks; ``payment_status_view`` says
how the payment is captured (``capture_method``, ``automatic`` for every existing row,
as every earlier payment was) and, with ``order_view``, what a partial capture took
(``paid_amount``; NULL means the whole amount, as for every earlier order).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_KINDS_BEFORE = "'create_order', 'cancel', 'refund', 'close_open'"
_KINDS_AFTER = "'create_order', 'cancel', 'refund', 'close_open', 'capture'"


def _set_task_kinds(kinds: str) -> None:
    op.execute(
        "ALTER TABLE provider_tasks DROP CONSTRAINT IF EXISTS ck_provider_tasks_kind, "
        f"ADD CONSTRAINT ck_provider_tasks_kind CHECK (kind IN ({kinds}))"
    )


def upgrade() -> None:
    _set_task_kinds(_KINDS_AFTER)
    op.add_column(
        "payment_status_view",
        sa.Column("capture_method", sa.Text, nullable=False, server_default="automatic"),
        if_not_exists=True,
    )
    # IF NOT EXISTS: databases the create_all code made (tests/integration/migrations)
    # have the columns already.
    op.add_column(
        "payment_status_view", sa.Column("paid_amount", sa.BigInteger), if_not_exists=True
    )
    op.add_column("order_view", sa.Column("paid_amount", sa.BigInteger), if_not_exists=True)


def downgrade() -> None:
    op.execute("DELETE FROM provider_tasks WHERE kind = 'capture'")
    _set_task_kinds(_KINDS_BEFORE)
    op.drop_column("order_view", "paid_amount")
    op.drop_column("payment_status_view", "paid_amount")
    op.drop_column("payment_status_view", "capture_method")
