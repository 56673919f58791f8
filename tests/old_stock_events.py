"""Stock events as version 2 stored them, before Released and Committed carried a quantity
(adr/0021): for tests that old streams and views still load to the same state."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

from domain import Stock


def as_v2(mapper: Mapper[UUID], event: DomainEventProtocol[UUID]) -> StoredEvent:
    """``Reserved`` without the legacy mark, ``Released``/``Committed`` without quantity;
    the other Stock events are at version 2 already and stay as they are."""
    stored = mapper.to_stored_event(event)
    state: dict[str, Any] = mapper.transcoder.decode(stored.state)
    assert state["class_version"] in (2, 3)
    if state["class_version"] == 3:
        state["class_version"] = 2
        del state["legacy" if isinstance(event, Stock.Reserved) else "quantity"]
    return StoredEvent(
        stored.originator_id,
        stored.originator_version,
        stored.topic,
        mapper.transcoder.encode(state),
    )
