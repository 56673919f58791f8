"""Integration messages derived from Order events (CONTRACT.md, Kafka).

Pure: given a domain event and the Order as it stood right after that event, build the
Kafka record. Nothing here reads the clock or the database, so a redelivery of the same
event is byte-identical, headers included.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic

from domain import Order
from projections import documents

# Fixed forever: ce_id = uuid5(this, "{order id}/{version}") must be stable across
# releases, or consumers deduplicating on ce_id would see redeliveries as new events.
CLOUD_EVENT_NAMESPACE = UUID("3f6c2b1e-8d4a-5e7f-9a0b-c1d2e3f40516")
CE_SOURCE = "checkout-engine"
CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class RelayTopics:
    """Kafka topic names; only `orders.confirmed` is configurable by the contract."""

    confirmed: str = "orders.confirmed"
    cancelled: str = "orders.cancelled"
    refunded: str = "orders.refunded"
    disputed: str = "orders.disputed"
    held: str = "orders.held"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.confirmed, self.cancelled, self.refunded, self.disputed, self.held)


@dataclass(frozen=True)
class OutboxMessage:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    ce_id: str
    event_time: datetime


def cloud_event_id(originator_id: UUID, originator_version: int) -> str:
    """The stable id of one domain event, the same on every redelivery."""
    return str(uuid5(CLOUD_EVENT_NAMESPACE, f"{originator_id}/{originator_version}"))


def rfc3339(moment: datetime) -> str:
    """An event's time on a record: always six fractional digits, and never a naive time."""
    if moment.tzinfo is None:
        raise ValueError("event timestamps must be timezone-aware")
    return documents.rfc3339(moment, timespec="microseconds")


def _lines(order: Order) -> list[dict[str, Any]]:
    return documents.contract_lines(line.to_dict() for line in order.lines)


def _confirmed(order: Order, event: Any) -> dict[str, Any]:
    return {
        "orderId": str(order.id),
        "customerId": order.customer_id,
        "status": order.status.value,
        # What was paid: less than the lines' total after a partial manual capture.
        "amount": order.paid,
        "currency": order.currency,
        "lines": _lines(order),
        "payment": {
            "paymentId": str(order.payment_id),
            "provider": order.provider.value,
            "gatewayPaymentId": event.gateway_payment_id,
        },
        "confirmedAt": rfc3339(event.timestamp),
    }


def _cancelled(order: Order, event: Any) -> dict[str, Any]:
    return {
        "orderId": str(order.id),
        "customerId": order.customer_id,
        "status": order.status.value,
        "reason": event.reason,
        "amount": order.amount,
        "currency": order.currency,
        "lines": _lines(order),
        "cancelledAt": rfc3339(event.timestamp),
    }


def _refunded(order: Order, event: Any) -> dict[str, Any]:
    return {
        "orderId": str(order.id),
        "customerId": order.customer_id,
        "status": order.status.value,
        "refundedAmount": event.amount,
        "refundedTotal": event.refunded_total,
        "currency": order.currency,
        "refundedAt": rfc3339(event.timestamp),
    }


def _disputed(order: Order, event: Any) -> dict[str, Any]:
    return {
        "orderId": str(order.id),
        "customerId": order.customer_id,
        "status": order.status.value,
        "dispute": {
            "disputeId": event.dispute_id,
            "status": event.dispute_status,
            "amount": event.amount,
            "currency": event.currency,
            "reason": event.reason,
            "provider": order.provider.value,
            "gatewayPaymentId": order.gateway_payment_id,
        },
        "disputedAt": rfc3339(event.timestamp),
    }


def _held(order: Order, event: Any) -> dict[str, Any]:
    """A hold put on, or taken off, by an operator: fulfilment waits while ``held``."""
    return {
        "orderId": str(order.id),
        "customerId": order.customer_id,
        "status": order.status.value,
        "held": order.held,
        "reason": event.reason,
        "actor": event.actor,
        "at": rfc3339(event.timestamp),
    }


@dataclass(frozen=True)
class _Kind:
    topic: Callable[[RelayTopics], str]
    ce_type: str
    value: Callable[[Order, Any], dict[str, Any]]


_KINDS: dict[type[Any], _Kind] = {
    Order.Confirmed: _Kind(lambda t: t.confirmed, "checkout.order.confirmed.v1", _confirmed),
    Order.Cancelled: _Kind(lambda t: t.cancelled, "checkout.order.cancelled.v1", _cancelled),
    Order.Refunded: _Kind(lambda t: t.refunded, "checkout.order.refunded.v1", _refunded),
    Order.Disputed: _Kind(lambda t: t.disputed, "checkout.order.disputed.v1", _disputed),
    Order.Held: _Kind(lambda t: t.held, "checkout.order.held.v1", _held),
    Order.HoldReleased: _Kind(lambda t: t.held, "checkout.order.held.v1", _held),
}

# Stored-event topics of the relayed events, for the notification log's `topics` filter.
RELAYED_EVENT_TOPICS: tuple[str, ...] = tuple(get_topic(kind) for kind in _KINDS)


def is_relayed(event: object) -> bool:
    return type(event) in _KINDS


def to_message(event: DomainEvent, order: Order, topics: RelayTopics) -> OutboxMessage | None:
    """The integration message for `event`, or None for events that have none.

    `order` must be the Order loaded at `event.originator_version`: the value then
    describes the order as that event left it, whenever it is (re)built.
    """
    kind = _KINDS.get(type(event))
    if kind is None:
        return None
    if order.id != event.originator_id or order.version != event.originator_version:
        raise ValueError(f"order {order.id} v{order.version} is not where {event!r} left it")
    order_id = str(order.id)
    ce_id = cloud_event_id(event.originator_id, event.originator_version)
    value = json.dumps(kind.value(order, event), separators=(",", ":"), ensure_ascii=False)
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", ce_id.encode()),
        ("ce_type", kind.ce_type.encode()),
        ("ce_source", CE_SOURCE.encode()),
        ("ce_time", rfc3339(event.timestamp).encode()),
        ("ce_subject", order_id.encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    return OutboxMessage(
        topic=kind.topic(topics),
        key=order_id.encode(),
        value=value.encode(),
        headers=headers,
        ce_id=ce_id,
        event_time=event.timestamp,
    )
