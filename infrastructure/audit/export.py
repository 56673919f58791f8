"""The audit export: events with their actors, evidence references and chain links, as JSON
Lines (schemas/audit.export.v1.json, adr/0015).

The whole log is read in pages of the notification log up to the head as it stood when the
export began, so an export is one consistent prefix of the log however long it runs. One
order's export reads only its streams and its indexed stock events (infrastructure.audit.
history), never the log. ``link`` is the event's entry in the hash chain (``audit_chain``,
filled by the chain follower after commit); an event the chain has not reached yet has null.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.domain import DomainEvent
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from application.errors import OrderNotFound
from domain import Order, Payment
from infrastructure.audit.history import (
    Recorded,
    actor_of,
    digests_of,
    event_fields,
    event_name,
    provider_event_ids,
    read_events,
    read_streams,
)
from projections.documents import rfc3339
from projections.schema import audit_chain, order_stock_movements

SCHEMA = "audit.export.v1"
# (exported so far, how far, out of how much): a caller's progress line. For the whole
# log "how far" is the position reached and the head; for one order, lines of its lines.
Progress = Callable[[int, int, int], None]


def export_line(recorded: Recorded, link: str | None) -> dict[str, Any]:
    event = recorded.event
    return {
        "schema": SCHEMA,
        "position": recorded.position,
        "originatorId": str(event.originator_id),
        "version": event.originator_version,
        "stream": type(event).__qualname__.split(".")[0].lower(),
        "event": event_name(event),
        "schemaVersion": getattr(type(event), "class_version", 1),
        "timestamp": rfc3339(event.timestamp),
        "actor": actor_of(event),
        "evidence": list(digests_of(event)),
        "providerEventIds": list(provider_event_ids(event)),
        "data": event_fields(event),
        "link": link,
    }


def _links(conn: Connection, positions: Sequence[int]) -> dict[int, str]:
    if not positions:
        return {}
    c = audit_chain.c
    rows = conn.execute(
        sa.select(c.notification_id, c.link).where(
            c.notification_id >= min(positions), c.notification_id <= max(positions)
        )
    )
    return {int(row[0]): str(row[1]) for row in rows}


def _within(event: DomainEvent, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or event.timestamp >= since) and (
        until is None or event.timestamp <= until
    )


class AuditExport:
    def __init__(self, app: CheckoutApplication, db: Engine, page_size: int = 500) -> None:
        self.app = app
        self.db = db
        self.page_size = page_size

    def lines(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        order_id: UUID | None = None,
        progress: Progress | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The export's lines, in log order. Raises OrderNotFound for an unknown order
        (before the first line, so a caller can still answer 404)."""
        if order_id is not None:
            recorded = self._order_events(order_id)
            return self._order_lines(recorded, since, until, progress)
        return self._log_lines(since, until, progress)

    def _order_events(self, order_id: UUID) -> list[Recorded]:
        with self.db.connect() as conn:
            streams = read_streams(conn, self.app, [order_id, Payment.id_for(order_id)])
            if not any(
                isinstance(r.event, Order.Created) and r.event.originator_id == order_id
                for r in streams
            ):
                raise OrderNotFound(order_id)
            m = order_stock_movements.c
            keys = [
                (row[0], int(row[1]))
                for row in conn.execute(
                    sa.select(m.stock_id, m.originator_version).where(m.order_id == order_id)
                )
            ]
            stock = read_events(conn, self.app, keys)
        return sorted(streams + stock, key=lambda r: r.position)

    def _order_lines(
        self,
        recorded: list[Recorded],
        since: datetime | None,
        until: datetime | None,
        progress: Progress | None,
    ) -> Iterator[dict[str, Any]]:
        chosen = [r for r in recorded if _within(r.event, since, until)]
        with self.db.connect() as conn:
            c = audit_chain.c
            ids = [r.position for r in chosen]
            links = {
                int(row[0]): str(row[1])
                for row in conn.execute(
                    sa.select(c.notification_id, c.link).where(c.notification_id.in_(ids))
                )
            }
        for count, r in enumerate(chosen, start=1):
            yield export_line(r, links.get(r.position))
            if progress is not None:
                progress(count, count, len(chosen))

    def _log_lines(
        self, since: datetime | None, until: datetime | None, progress: Progress | None
    ) -> Iterator[dict[str, Any]]:
        head = self.app.head_position()
        position, count = 0, 0
        while position < head:
            page = self.app.recorder.select_notifications(
                start=position, limit=self.page_size, stop=head, inclusive_of_start=False
            )
            if not page:
                break
            events = [Recorded(n.id, self._decoded(n)) for n in page]
            chosen = [r for r in events if _within(r.event, since, until)]
            with self.db.connect() as conn:
                links = _links(conn, [r.position for r in chosen])
            for r in chosen:
                count += 1
                yield export_line(r, links.get(r.position))
            position = page[-1].id
            if progress is not None:
                progress(count, position, head)

    def _decoded(self, notification: Any) -> DomainEvent:
        event = self.app.mapper.to_domain_event(notification)
        assert isinstance(event, DomainEvent)
        return event
