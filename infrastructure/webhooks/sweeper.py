"""The inbox sweeper: applies again the events whose first application failed.

It also picks up an event whose API process died between recording it and applying it,
once that delivery's lease has run out. Several sweepers may run (one per worker): each
claims a row with ``FOR UPDATE SKIP LOCKED``, so no row is applied by two at once.
"""

from __future__ import annotations

import threading

import structlog

from infrastructure.webhooks.applier import WebhookApplier
from infrastructure.webhooks.inbox import WebhookInbox

log = structlog.get_logger(__name__)


class InboxSweeper:
    def __init__(
        self, inbox: WebhookInbox, applier: WebhookApplier, interval_seconds: float = 1.0
    ) -> None:
        self.inbox = inbox
        self.applier = applier
        self.interval_seconds = interval_seconds

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                while not stop.is_set() and self.sweep_one():
                    pass
            except Exception as exc:  # the database is away: next pass
                log.warning("webhook inbox sweep failed", error=str(exc))
            stop.wait(self.interval_seconds)

    def sweep_one(self) -> bool:
        """Apply one due row; False when none is due."""
        entry = self.inbox.claim()
        if entry is None:
            return False
        log.info(
            "webhook retried",
            provider=entry.provider,
            event_id=entry.event_id,
            attempt=entry.attempts,
        )
        self.applier.apply(entry)
        return True
