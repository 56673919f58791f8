"""The transactional-outbox relay: committed Order events to Kafka (adr/0003)."""

from __future__ import annotations

from infrastructure.relay.lease import Lease, LeaseLost, advisory_key
from infrastructure.relay.messages import (
    CLOUD_EVENT_NAMESPACE,
    RELAYED_EVENT_TOPICS,
    OutboxMessage,
    RelayTopics,
    cloud_event_id,
    to_message,
)
from infrastructure.relay.metrics import (
    DEFAULT_RELAY_NAME,
    RelayBacklogCollector,
    backlog,
    backlog_at,
    stored_position,
)
from infrastructure.relay.publisher import (
    DeliveryFailed,
    KafkaPublisher,
    TopicsUnavailable,
    ensure_topics,
)
from infrastructure.relay.relay import OutboxRelay, RelayOptions, RelayStep

__all__ = [
    "CLOUD_EVENT_NAMESPACE",
    "DEFAULT_RELAY_NAME",
    "RELAYED_EVENT_TOPICS",
    "DeliveryFailed",
    "KafkaPublisher",
    "Lease",
    "LeaseLost",
    "OutboxMessage",
    "OutboxRelay",
    "RelayBacklogCollector",
    "RelayOptions",
    "RelayStep",
    "RelayTopics",
    "TopicsUnavailable",
    "advisory_key",
    "backlog",
    "backlog_at",
    "cloud_event_id",
    "ensure_topics",
    "stored_position",
    "to_message",
]
