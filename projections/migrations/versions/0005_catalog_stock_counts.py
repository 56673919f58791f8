"""The catalog view counts reserved units instead of mapping every open order to its units.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

See adr/0021. ``product_view.reserved`` becomes the sum of each row's ``reservations``
map, and the map is renamed ``legacy_reservations``: every order in it was reserved by a
v2 event, whose v2 release or sale (still ahead of the view if it lags) names no
quantity. From here on only such orders are in it, and each leaves when it ends, so it
empties as the orders open at the upgrade end. A rename, not a drop and a new column,
keeps the column where 0001 put it, so that the downgrade gives back 0001's table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "product_view",
        sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.execute(
        """UPDATE product_view SET reserved = COALESCE(
               (SELECT sum(units::bigint) FROM jsonb_each_text(reservations) AS r(o, units)), 0)"""
    )
    op.alter_column("product_view", "reservations", new_column_name="legacy_reservations")
    op.alter_column("product_view", "legacy_reservations", server_default=sa.text("'{}'::jsonb"))


def downgrade() -> None:
    # The older code reads the map as every open order: orders reserved since the upgrade
    # are not in it, so rebuild the catalog view after a downgrade (the log has them all).
    op.alter_column("product_view", "legacy_reservations", server_default=None)
    op.alter_column("product_view", "legacy_reservations", new_column_name="reservations")
    op.drop_column("product_view", "reserved")
