"""An order's whole history, as an auditor asks for it (adr/0015).

Everything the engine did about one order, in time order: the order's events, its
payment's, the stock movements it caused, the webhooks that concern it, the provider calls
the worker made for it, and the Kafka records the relay derived from it (topic, ``ce_id``,
published yet or not). With ``at``, the order and the payment as they stood at that instant,
rebuilt by folding their events up to it: never read from a view, which only knows now.

Speed (adr/0015): nothing here reads the notification log. The order's and the payment's
streams are read by originator id; the stock events through the ``order_stock_movements``
index (projections.stock_movements) by (originator id, version); the webhook inbox by
(provider, event id); the evidence by digest; the provider tasks by payment. Each is a
primary-key or unique-index look-up, whatever the size of the log.

Actors and evidence references are read generically (``actor``; any attribute ending in
``digest``; any ending in ``event_id``), so events recorded before they existed read as
"unknown" and without evidence rather than failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Notification
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from application.errors import OrderNotFound
from domain import Order, Payment, Stock
from infrastructure.relay.messages import RelayTopics, to_message
from infrastructure.relay.metrics import DEFAULT_RELAY_NAME
from projections.documents import rfc3339
from projections.schema import (
    TaskKind,
    evidence,
    order_stock_movements,
    provider_tasks,
    relay_position,
    webhook_inbox,
)
from projections.stock_movements import events_table

UNKNOWN_ACTOR = "unknown"
# Attributes of an event that are bookkeeping, not what happened.
_BOOKKEEPING = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
# Never shown, not even to auditors: a Stripe client secret lets its holder pay the intent.
_SECRET_MARK = "secret"  # noqa: S105 (a field name to leave out, no password)


# -- what a history holds -----------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened: an event, a webhook, a provider call or a publication."""

    time: datetime
    kind: str  # "event", "webhook", "provider_call" or "publication"
    name: str  # "Payment.RefundRequested", "webhook payment_intent.succeeded", ...
    actor: str
    summary: str
    stream: str | None = None  # "order", "payment" or "stock", for events
    originator_id: UUID | None = None
    version: int | None = None
    position: int | None = None  # the notification id, for events and publications
    evidence: tuple[str, ...] = ()  # digests of the evidence rows it refers to
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "time": rfc3339(self.time),
            "kind": self.kind,
            "name": self.name,
            "actor": self.actor,
            "summary": self.summary,
            "stream": self.stream,
            "originatorId": None if self.originator_id is None else str(self.originator_id),
            "version": self.version,
            "position": self.position,
            "evidence": list(self.evidence),
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class EvidenceRecord:
    digest: str
    kind: str
    provider: str
    object_id: str | None
    recorded_at: datetime
    body: str

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "kind": self.kind,
            "provider": self.provider,
            "objectId": self.object_id,
            "recordedAt": rfc3339(self.recorded_at),
            "body": self.body,
        }


@dataclass(frozen=True)
class StateAt:
    """The order and its payment as their events left them at ``at`` (None: not yet)."""

    at: datetime
    order: Mapping[str, Any] | None
    payment: Mapping[str, Any] | None

    @property
    def existed(self) -> bool:
        return self.order is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": rfc3339(self.at),
            "existed": self.existed,
            "order": None if self.order is None else dict(self.order),
            "payment": None if self.payment is None else dict(self.payment),
        }


@dataclass(frozen=True)
class OrderHistory:
    order_id: UUID
    payment_id: UUID | None
    entries: tuple[HistoryEntry, ...]
    evidence: tuple[EvidenceRecord, ...] = ()
    state: StateAt | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "orderId": str(self.order_id),
            "paymentId": None if self.payment_id is None else str(self.payment_id),
            "entries": [entry.to_json() for entry in self.entries],
            "evidence": [record.to_json() for record in self.evidence],
            "state": None if self.state is None else self.state.to_json(),
        }


# -- reading an event's fields generically ------------------------------------------------


def plain(value: Any) -> Any:
    """A value as JSON can hold it: ids and times as text, tuples as lists."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def event_fields(event: object) -> dict[str, Any]:
    """What the event says, as JSON, without its bookkeeping and without secrets."""
    return {
        name: plain(value)
        for name, value in vars(event).items()
        if name not in _BOOKKEEPING and _SECRET_MARK not in name
    }


def actor_of(event: object) -> str:
    return str(getattr(event, "actor", None) or UNKNOWN_ACTOR)


def digests_of(event: object) -> tuple[str, ...]:
    """Every evidence digest the event refers to (``evidence_digest``, ``*_digest``...)."""
    found: list[str] = []
    for name, value in vars(event).items():
        if not name.endswith("digest"):
            continue
        values = value if isinstance(value, list | tuple) else [value]
        found += [v for v in values if isinstance(v, str) and v]
    return tuple(found)


def provider_event_ids(event: object) -> tuple[str, ...]:
    """The provider's event ids the event records (``provider_event_id`` and the like)."""
    return tuple(
        value
        for name, value in vars(event).items()
        if name.endswith("event_id") and isinstance(value, str) and value
    )


def event_name(event: object) -> str:
    return type(event).__qualname__


def _summary(event: Any, skus: Mapping[UUID, str]) -> str:
    if isinstance(event, Order.Created):
        lines = ", ".join(f"{line['quantity']} x {line['sku']}" for line in event.lines)
        return f"placed by {event.customer_id}: {lines}, paying with {event.provider}"
    if isinstance(event, Stock.Reserved | Stock.Released | Stock.Committed):
        sku = skus.get(event.originator_id, str(event.originator_id))
        verb = type(event).__name__.lower()
        extra = {
            "quantity": getattr(event, "quantity", None),
            "reason": event_fields(event).get("reason"),
        }
        detail = ", ".join(f"{k} {v}" for k, v in extra.items() if v is not None)
        return f"stock of {sku} {verb}" + (f" ({detail})" if detail else "")
    shown = [
        f"{name.replace('_', ' ')} {value}"
        for name, value in event_fields(event).items()
        if value is not None
        and isinstance(value, str | int | bool)
        and not name.endswith(("digest", "fingerprint"))
        and name not in {"order_id", "payment_id", "actor"}
    ]
    return ", ".join(shown) or type(event).__name__


def order_state(order: Order) -> dict[str, Any]:
    return {
        "orderId": str(order.id),
        "version": order.version,
        "status": order.status.value,
        "customerId": order.customer_id,
        "amount": order.amount,
        "currency": order.currency,
        "refundedTotal": order.refunded_total,
        "lines": [plain(line.to_dict()) for line in order.lines],
        "cancelReason": order.cancel_reason,
        "disputes": dict(order.disputes),
        "updatedAt": rfc3339(order.modified_on),
    }


def payment_state(payment: Payment) -> dict[str, Any]:
    return {
        "paymentId": str(payment.id),
        "version": payment.version,
        "status": payment.status.value,
        "provider": payment.provider.value,
        "amount": payment.amount,
        "currency": payment.currency,
        "captureMethod": payment.capture_method.value,
        "authorizedAmount": payment.authorized_amount,
        "capturedAmount": payment.captured_amount,
        "refundedAmount": payment.refunded_amount,
        "gatewayOrderId": payment.gateway_order_id,
        "gatewayPaymentId": payment.gateway_payment_id,
        "failureReason": payment.failure_reason,
        "refunds": {key: plain(dict(entry)) for key, entry in payment.refunds.items()},
        "updatedAt": rfc3339(payment.modified_on),
    }


# -- the assembly -------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """A domain event with its place in the log."""

    position: int
    event: DomainEvent


def read_streams(
    conn: Connection, app: CheckoutApplication, originator_ids: Sequence[UUID]
) -> list[Recorded]:
    """Every event of these streams, by their primary key (never the notification log).

    Read from the events table itself rather than ``recorder.select_events``, which drops
    the notification id a history needs for log order and the relay's position.
    """
    e = events_table.c
    query = sa.select(events_table).where(e.originator_id.in_(list(originator_ids)))
    return _decoded(app, conn.execute(query.order_by(e.originator_id, e.originator_version)))


def read_events(
    conn: Connection, app: CheckoutApplication, keys: Sequence[tuple[UUID, int]]
) -> list[Recorded]:
    """The events at these (originator id, version) keys."""
    if not keys:
        return []
    e = events_table.c
    query = sa.select(events_table).where(
        sa.tuple_(e.originator_id, e.originator_version).in_(list(keys))
    )
    return _decoded(app, conn.execute(query))


def _decoded(app: CheckoutApplication, rows: Iterable[sa.Row[Any]]) -> list[Recorded]:
    recorded = []
    for row in rows:
        notification = Notification(
            id=int(row.notification_id),
            originator_id=row.originator_id,
            originator_version=int(row.originator_version),
            topic=row.topic,
            state=bytes(row.state),
        )
        event = app.mapper.to_domain_event(notification)
        assert isinstance(event, DomainEvent)
        recorded.append(Recorded(notification.id, event))
    return recorded


class OrderHistories:
    """Builds an order's history from the event store and the engine's tables."""

    def __init__(
        self,
        app: CheckoutApplication,
        db: Engine,
        topics: RelayTopics | None = None,
        relay_name: str = DEFAULT_RELAY_NAME,
    ) -> None:
        self.app = app
        self.db = db
        self.topics = topics or RelayTopics()
        self.relay_name = relay_name

    def history(
        self, order_id: UUID, at: datetime | None = None, *, evidence: bool = False
    ) -> OrderHistory:
        """Raises OrderNotFound when no order has this id."""
        payment_id = Payment.id_for(order_id)
        with self.db.connect() as conn:
            streams = read_streams(conn, self.app, [order_id, payment_id])
            order_events = [r for r in streams if r.event.originator_id == order_id]
            if not order_events or not isinstance(order_events[0].event, Order.Created):
                raise OrderNotFound(order_id)
            payment_events = [r for r in streams if r.event.originator_id == payment_id]
            stock_events = read_events(conn, self.app, self._stock_keys(conn, order_id))
            provider = (
                str(getattr(payment_events[0].event, "provider", "")) if payment_events else ""
            )
            webhooks = self._webhooks(conn, provider, payment_events)
            calls = self._provider_calls(conn, payment_id)
            published_up_to = self._relay_position(conn)
            digests = sorted({d for r in streams + stock_events for d in digests_of(r.event)})
            records = self._evidence(conn, digests) if evidence else ()
        created = order_events[0].event
        assert isinstance(created, Order.Created)
        skus = {Stock.id_for(line["sku"]): str(line["sku"]) for line in created.lines}
        entries = [self._event_entry(r, skus) for r in streams + stock_events]
        entries += self._publications(order_events, published_up_to)
        entries += webhooks + calls
        entries.sort(key=lambda e: (e.time, e.position or 0, e.kind != "event"))
        state = None if at is None else self._state_at(order_events, payment_events, at)
        return OrderHistory(
            order_id,
            payment_id if payment_events else None,
            tuple(entries),
            tuple(records),
            state,
        )

    # -- the parts ----------------------------------------------------------------------

    @staticmethod
    def _stock_keys(conn: Connection, order_id: UUID) -> list[tuple[UUID, int]]:
        m = order_stock_movements.c
        rows = conn.execute(
            sa.select(m.stock_id, m.originator_version)
            .where(m.order_id == order_id)
            .order_by(m.notification_id)
        )
        return [(row[0], int(row[1])) for row in rows]

    @staticmethod
    def _event_entry(recorded: Recorded, skus: Mapping[UUID, str]) -> HistoryEntry:
        event = recorded.event
        data = event_fields(event)
        data["schemaVersion"] = getattr(type(event), "class_version", 1)
        return HistoryEntry(
            time=event.timestamp,
            kind="event",
            name=event_name(event),
            actor=actor_of(event),
            summary=_summary(event, skus),
            stream=type(event).__qualname__.split(".")[0].lower(),
            originator_id=event.originator_id,
            version=event.originator_version,
            position=recorded.position,
            evidence=digests_of(event),
            data=data,
        )

    def _publications(
        self, order_events: Sequence[Recorded], published_up_to: int
    ) -> list[HistoryEntry]:
        """The Kafka record each relayed Order event became, built as the relay builds it
        (from the order as that event left it), so topic and ``ce_id`` are the relay's."""
        entries = []
        order: Order | None = None
        for recorded in order_events:
            order = cast(Any, recorded.event).mutate(order)
            assert order is not None
            message = to_message(recorded.event, order, self.topics)
            if message is None:
                continue
            published = recorded.position <= published_up_to
            state = "published" if published else "not published yet"
            ce_type = dict(message.headers)["ce_type"].decode()
            entries.append(
                HistoryEntry(
                    time=recorded.event.timestamp,
                    kind="publication",
                    name=ce_type,
                    actor="relay",
                    summary=f"{message.topic} ce_id {message.ce_id}: {state}",
                    stream="order",
                    originator_id=recorded.event.originator_id,
                    version=recorded.event.originator_version,
                    position=recorded.position,
                    data={
                        "topic": message.topic,
                        "ceId": message.ce_id,
                        "ceType": ce_type,
                        "published": published,
                    },
                )
            )
        return entries

    @staticmethod
    def _webhooks(
        conn: Connection, provider: str, payment_events: Sequence[Recorded]
    ) -> list[HistoryEntry]:
        """The inbox rows of the provider events the payment's events name (the unique
        (provider, event_id) index finds them)."""
        ids = sorted({i for r in payment_events for i in provider_event_ids(r.event)})
        if not ids or not provider:
            return []
        w = webhook_inbox.c
        rows = conn.execute(
            sa.select(
                w.provider,
                w.event_id,
                w.event_type,
                w.status,
                w.attempts,
                w.received_at,
                w.processed_at,
                w.outcome,
                w.last_error,
            ).where(w.provider == provider, w.event_id.in_(ids))
        ).mappings()
        return [
            HistoryEntry(
                time=row["received_at"],
                kind="webhook",
                name=f"webhook {row['event_type']}",
                actor=f"provider:{row['provider']}",
                summary=f"{row['provider']} {row['event_type']} {row['event_id']}: {row['status']}",
                data={
                    "provider": row["provider"],
                    "eventId": row["event_id"],
                    "type": row["event_type"],
                    "status": row["status"],
                    "attempts": row["attempts"],
                    "receivedAt": rfc3339(row["received_at"]),
                    "processedAt": rfc3339(row["processed_at"]),
                    "outcome": row["outcome"],
                    "lastError": row["last_error"],
                },
            )
            for row in rows
        ]

    @staticmethod
    def _provider_calls(conn: Connection, payment_id: UUID) -> list[HistoryEntry]:
        """The worker's provider tasks for the payment (kept for TASK_RETENTION_DAYS)."""
        t = provider_tasks.c
        rows = conn.execute(
            sa.select(provider_tasks)
            # Naming every kind lets the unique (kind, payment_id, ...) index serve.
            .where(t.kind.in_([k.value for k in TaskKind]), t.payment_id == payment_id)
            .order_by(t.id)
        ).mappings()
        entries = []
        for row in rows:
            tries = f"{row['attempts']} attempt{'s' if row['attempts'] != 1 else ''}"
            error = f": {row['last_error']}" if row["last_error"] else ""
            target = f" {row['refund_id']}" if row["refund_id"] else ""
            entries.append(
                HistoryEntry(
                    time=row["created_at"],
                    kind="provider_call",
                    name=f"provider call {row['kind']}",
                    actor="worker",
                    summary=f"{row['kind']}{target}: {row['status']} after {tries}{error}",
                    data={
                        "kind": row["kind"],
                        "status": row["status"],
                        "attempts": row["attempts"],
                        "refundId": row["refund_id"],
                        "amount": row["amount"],
                        "lastError": row["last_error"],
                        "createdAt": rfc3339(row["created_at"]),
                        "updatedAt": rfc3339(row["updated_at"]),
                    },
                )
            )
        return entries

    def _relay_position(self, conn: Connection) -> int:
        r = relay_position.c
        value = conn.execute(sa.select(r.position).where(r.name == self.relay_name)).scalar()
        return int(value or 0)

    @staticmethod
    def _evidence(conn: Connection, digests: Sequence[str]) -> list[EvidenceRecord]:
        if not digests:
            return []
        rows = conn.execute(
            sa.select(evidence)
            .where(evidence.c.digest.in_(list(digests)))
            .order_by(evidence.c.recorded_at)
        ).mappings()
        return [
            EvidenceRecord(
                row["digest"],
                row["kind"],
                row["provider"],
                row["object_id"],
                row["recorded_at"],
                row["body"],
            )
            for row in rows
        ]

    @staticmethod
    def _state_at(
        order_events: Sequence[Recorded], payment_events: Sequence[Recorded], at: datetime
    ) -> StateAt:
        """Fold each stream's events up to ``at``: the aggregates as they then stood."""
        order = _fold(order_events, at)
        payment = _fold(payment_events, at)
        return StateAt(
            at,
            None if not isinstance(order, Order) else order_state(order),
            None if not isinstance(payment, Payment) else payment_state(payment),
        )


def _fold(stream: Sequence[Recorded], at: datetime) -> object | None:
    aggregate: Any = None
    for recorded in stream:
        if recorded.event.timestamp > at:
            break
        aggregate = cast(Any, recorded.event).mutate(aggregate)
    return cast(object, aggregate)
