"""What operators do with webhooks the engine could not apply: list, replay, dismiss.

The inbox (infrastructure.webhooks) keeps every verified event; one whose application
failed waits there, retried on a backoff, or parked for a person when the event
contradicts the engine. The ``ParkedWebhooks`` port is what the API and the CLI call
(adr/0025):

- ``replay`` applies one row again at once, through the applier the API and the sweeper
  use, and answers how it went; a row already applied, or dismissed, is refused;
- ``dismiss`` settles a row for good without applying it: never retried, on record with
  who, why and when; a row already applied or dismissed is refused.

Both take the request's Idempotency-Key: the same key and reason answer what the first
request did (``repeated``), the same key with another reason is an IdempotencyConflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from application.errors import ApplicationError


class ListedStatus(StrEnum):
    """What an operator lists: rows waiting to be applied, failed, or dismissed."""

    PENDING = "pending"  # received, not applied yet (the API or the sweeper will)
    FAILED = "failed"  # the last try raised: retried at next_attempt_at, or parked (none)
    DISMISSED = "dismissed"  # a person decided: never applied


@dataclass(frozen=True)
class Decision:
    """An operator's act on a row: who (an actor, domain.actors), why, when."""

    by: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class ParkedWebhook:
    """One inbox row as operators see it; ``body`` is the provider's bytes as text."""

    id: int
    provider: str
    event_id: str
    event_type: str
    status: str  # received, processed, ignored, failed, dismissed
    attempts: int
    error: str | None
    outcome: str | None
    received_at: datetime
    next_attempt_at: datetime | None
    body: str
    dismissed: Decision | None = None
    replayed: Decision | None = None


@dataclass(frozen=True)
class Handled:
    """A row after a replay or dismissal; ``repeated``: the answer of an earlier request
    with the same Idempotency-Key, nothing done this time."""

    webhook: ParkedWebhook
    repeated: bool = False


class WebhookNotFound(ApplicationError):
    def __init__(self, webhook_id: int) -> None:
        super().__init__(f"no webhook {webhook_id} in the inbox")
        self.webhook_id = webhook_id


class WebhookRefused(ApplicationError):
    """The row's state forbids the act (409)."""

    def __init__(self, webhook_id: int, detail: str) -> None:
        super().__init__(f"webhook {webhook_id} {detail}")
        self.webhook_id = webhook_id


class WebhookAlreadyApplied(WebhookRefused):
    def __init__(self, webhook_id: int, status: str) -> None:
        super().__init__(webhook_id, f"was already applied ({status}): there is nothing to redo")


class WebhookDismissed(WebhookRefused):
    def __init__(self, webhook_id: int, by: str) -> None:
        super().__init__(webhook_id, f"was dismissed by {by}: it is never applied")


class WebhookBeingApplied(WebhookRefused):
    """Someone holds the row's lease (the API, the sweeper, another replay): try again."""

    def __init__(self, webhook_id: int) -> None:
        super().__init__(webhook_id, "is being applied right now: try again in a moment")


class ParkedWebhooks(Protocol):
    def list(
        self, status: ListedStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[ParkedWebhook], str | None]:
        """Newest first, keyset-paginated: (rows, cursor of the next page or None); every
        row when ``status`` is None. Raises InvalidCursor (projections.queries)."""
        ...

    def get(self, webhook_id: int) -> ParkedWebhook:
        """Raises WebhookNotFound."""
        ...

    def replay(self, webhook_id: int, actor: str, reason: str | None, key: str | None) -> Handled:
        """Apply the row again now and answer how it went (``key`` None: a request that
        is never repeated, as the CLI's). Raises WebhookNotFound, WebhookRefused,
        IdempotencyConflict, OutOfBounds (the actor or reason)."""
        ...

    def dismiss(self, webhook_id: int, actor: str, reason: str, key: str | None) -> Handled:
        """Never apply the row. Raises WebhookNotFound, WebhookRefused,
        IdempotencyConflict, OutOfBounds (the actor or reason)."""
        ...
