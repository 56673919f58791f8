"""What a read model is: a follower of the log whose tables can be rebuilt from the first
event, and the batched views whose handlers fold events into a shared row store.

eventsourcing's own ``Projection`` is bound to a ``TrackingRecorder`` and processes one
event per call; these views are SQLAlchemy tables written per batch (adr/0006), hence
these small bases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self

import sqlalchemy as sa

from projections.follower import DomainEvent, Follower
from projections.rows import RowStore, Write, WrittenIds, row_ids
from projections.schema import new_metadata, shadow_of
from projections.statements import NOTHING, PlannedFollower, Prepared

Handler = Callable[[RowStore, Any], None]


class Projection(Follower):
    """A read model: a follower that writes its own tables, so it can be rebuilt into
    copies of them (projections.rebuild) while the live ones keep serving.

    A subclass is constructed with its table (the rebuild passes the shadow copy).
    """

    def __init__(self, table: sa.Table) -> None:
        super().__init__()
        self.table = table

    @property
    def tables(self) -> tuple[sa.Table, ...]:
        return (self.table,)

    def shadow(self) -> Self:
        """The same projection writing into the rebuild copies of its tables."""
        return type(self)(shadow_of(self.table, new_metadata()))


class BatchedView(Projection, PlannedFollower):
    """A view as a table of event class -> handler over a RowStore.

    Events of classes without a handler change nothing (the runner still advances the
    position past them). A subclass sets ``name``, ``handlers``, ``found_by`` (the id
    columns its events find rows by) and ``defaults`` (column values of a new row).
    """

    handlers: ClassVar[Mapping[type[Any], Handler]]
    found_by: ClassVar[tuple[str, ...]]
    defaults: ClassVar[Mapping[str, Any]] = {}
    # Set on a rebuild's shadow (projections.rebuild): what its rows can be found by.
    written: WrittenIds | None = None

    def followed(self) -> Iterable[type[Any]]:
        return self.handlers

    def prepare(self, domain_events: Sequence[DomainEvent]) -> Prepared:
        """Events in log order: one read of the touched rows, then one upsert."""
        relevant = [event for event in domain_events if type(event) in self.handlers]
        if not relevant:
            return NOTHING
        rows = RowStore(self.table, self.found_by, self.defaults, self.written)

        def finish() -> list[Write]:
            for event in relevant:
                self.handlers[type(event)](rows, event)
            return rows.writes()

        load = rows.loading(row_ids(relevant))
        return Prepared(() if load is None else [load], finish)
