"""The index of which stock events each order caused (``order_stock_movements``, adr/0015).

An order's audit history reads its own stream, its payment's stream and the stock events it
caused. The stock streams are shared by every order of a sku and grow without end, so the
history must find its few events without reading them: this follower records, for each
``Stock.Reserved``, ``Released`` and ``Committed``, the order, the stock stream and version,
and the event's notification id. ``audit order`` then reads exactly those events by their
primary key (originator id, version).

It is a follower, not a read model (no ``Projection``): the rows are facts about the log that
never change, and a fresh database fills them by following the log from position 0, like any
follower does when its tracking row is new.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from application.application import CheckoutApplication
from domain import Stock
from projections.follower import DomainEvent, Follower
from projections.schema import order_stock_movements

# The Application's events table (eventsourcing names it "<application name>_events").
EVENTS_TABLE = f"{CheckoutApplication.name}_events"
events_table = sa.table(
    EVENTS_TABLE,
    sa.column("originator_id", PG_UUID(as_uuid=True)),
    sa.column("originator_version", sa.BigInteger),
    sa.column("topic", sa.Text),
    sa.column("state", sa.LargeBinary),
    sa.column("notification_id", sa.BigInteger),
)

MOVEMENTS: tuple[type[Any], ...] = (Stock.Reserved, Stock.Released, Stock.Committed)


def notification_ids(
    conn: Connection, keys: Sequence[tuple[UUID, int]]
) -> dict[tuple[UUID, int], int]:
    """The notification id of each (originator id, version), by the events' primary key.

    The runner hands a follower domain events, which do not carry their notification id;
    the index keeps it so that a history can be put in log order and compared with the
    relay's position without reading the log.
    """
    if not keys:
        return {}
    e = events_table.c
    rows = conn.execute(
        sa.select(e.originator_id, e.originator_version, e.notification_id).where(
            sa.tuple_(e.originator_id, e.originator_version).in_(list(keys))
        )
    )
    return {(row[0], int(row[1])): int(row[2]) for row in rows}


class StockMovements(Follower):
    # Stored in its tracking row and dead letters: the follower name never changes.
    name: ClassVar[str] = "stock_movements"

    def __init__(self, table: sa.Table = order_stock_movements) -> None:
        super().__init__()
        self.table = table

    def followed(self) -> Iterable[type[Any]]:
        return MOVEMENTS

    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        moves = [e for e in domain_events if isinstance(e, MOVEMENTS)]
        if not moves:
            return
        keys = [(e.originator_id, e.originator_version) for e in moves]
        positions = notification_ids(conn, keys)
        rows = [
            {
                "order_id": UUID(str(e.order_id)),
                "notification_id": positions[(e.originator_id, e.originator_version)],
                "stock_id": e.originator_id,
                "originator_version": e.originator_version,
            }
            for e in moves
        ]
        # A replay after a crash between apply and commit finds its rows there already.
        conn.execute(insert(self.table).on_conflict_do_nothing(), rows)
