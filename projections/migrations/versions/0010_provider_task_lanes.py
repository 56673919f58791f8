"""An index per lane of provider-task claims.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

The executor claims create tasks and the other kinds in two lanes (infrastructure.worker.
tasks). Over the one partial index of pending tasks, PostgreSQL planned the creates' lane as
a BitmapAnd with uq_provider_tasks_call (every create task ever) and a sort, and a bitmap
scan never marks the index entries of settled tasks dead: each claim walked every task
settled since the last vacuum, 2.4 ms after 8,000 and 9 ms after 48,000. Over an index of
its own, a lane's claim is an ordered index scan that stops at its LIMIT and marks the dead
entries it passes. A plain CREATE INDEX, as in 0003 and 0009.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LANES = {
    "ix_provider_tasks_pending_creates": "status = 'pending' AND kind = 'create_order'",
    "ix_provider_tasks_pending_others": "status = 'pending' AND kind <> 'create_order'",
}


def upgrade() -> None:
    for name, where in LANES.items():
        op.create_index(name, "provider_tasks", ["id"], postgresql_where=where, if_not_exists=True)


def downgrade() -> None:
    for name in LANES:
        op.drop_index(name, table_name="provider_tasks", if_exists=True)
