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

from application.application import CheckoutApplication
from domain import Stock
from projections.follower import DomainEvent
from projections.rows import Write
from projections.schema import order_stock_movements
from projections.statements import NOTHING, PlannedFollower, Prepared

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


def insert_movements_sql(table: sa.Table) -> str:
    """One statement for a batch's movements: each event's notification id is read from the
    events table by its primary key (originator id, version) as the rows go in.

    The runner hands a follower domain events, which do not carry their notification id;
    the index keeps it so that a history can be put in log order and compared with the
    relay's position without reading the log. A replay after a crash between apply and
    commit finds its rows there already (DO NOTHING).
    """
    return (
        f'INSERT INTO "{table.name}" (order_id, notification_id, stock_id, originator_version) '
        "SELECT v.order_id, e.notification_id, v.stock_id, v.originator_version "
        "FROM unnest(%b::uuid[], %b::uuid[], %b::bigint[]) "
        "AS v(order_id, stock_id, originator_version) "
        f'JOIN "{EVENTS_TABLE}" AS e '
        "ON e.originator_id = v.stock_id AND e.originator_version = v.originator_version "
        "ON CONFLICT DO NOTHING"
    )


class StockMovements(PlannedFollower):
    # Stored in its tracking row and dead letters: the follower name never changes.
    name: ClassVar[str] = "stock_movements"

    def __init__(self, table: sa.Table = order_stock_movements) -> None:
        super().__init__()
        self.table = table
        self._insert = insert_movements_sql(table)

    def followed(self) -> Iterable[type[Any]]:
        return MOVEMENTS

    def prepare(self, domain_events: Sequence[DomainEvent]) -> Prepared:
        moves = [e for e in domain_events if isinstance(e, MOVEMENTS)]
        if not moves:
            return NOTHING
        arrays = [
            [UUID(str(e.order_id)) for e in moves],
            [e.originator_id for e in moves],
            [e.originator_version for e in moves],
        ]
        return Prepared(finish=lambda: [Write(self._insert, arrays)])
