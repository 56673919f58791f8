"""What follows the event log: anything a shared follower (projections.runner) keeps up with
the log.

A follower has a name (its tracking row, its dead letters, its advisory lock and its metrics
label all carry it, so it never changes once stored), the event classes it wants, and a
batch apply that the shared follower wraps, with the tracking positions of every follower
of its process, in one transaction per page (projections.page). A follower never commits.

Read models are followers whose tables can be rebuilt from the first event
(projections.projection.Projection); the worker's provider-task feed is a follower that is
not a read model (infrastructure.worker.task_feed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic
from sqlalchemy.engine import Connection

DomainEvent = DomainEventProtocol[UUID]


class Follower(ABC):
    """Applies batches of domain events, in log order, in the page's transaction."""

    name: ClassVar[str]

    def __init__(self) -> None:
        self.topics = frozenset(get_topic(cls) for cls in self.followed())

    @abstractmethod
    def followed(self) -> Iterable[type[Any]]:
        """The event classes this follower applies; the runner does not decode the rest."""

    def wants(self, topic: str) -> bool:
        """Whether events of this topic are worth decoding at all."""
        return topic in self.topics

    @abstractmethod
    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        """Apply the batch's events (only those it wants are passed), in log order."""
