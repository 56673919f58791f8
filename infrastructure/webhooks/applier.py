"""Applying one inbox row: its provider's dispatch table names the handler, the row records
how it went.

- processed / ignored: settled for good, with a one-line outcome for operators;
- a domain error (the event contradicts what the engine knows, e.g. a second capture of
  a paid order): failed, not retried, logged as an error: another try cannot help;
- anything else (contention, the database away, a payment not known yet): failed, and
  due again after a capped exponential backoff, up to ``max_attempts`` tries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog

from application.backoff import Backoff
from domain import DomainError, Provider
from infrastructure.webhooks.events import (
    DispatchTable,
    ProviderEvent,
    WebhookEffects,
    unhandled,
)
from infrastructure.webhooks.inbox import InboxEntry, InboxStatus, WebhookInbox
from infrastructure.webhooks.metrics import WEBHOOKS_APPLIED
from infrastructure.webhooks.razorpay_events import RAZORPAY_HANDLERS
from infrastructure.webhooks.stripe_events import STRIPE_HANDLERS

log = structlog.get_logger(__name__)

HANDLERS: Mapping[str, DispatchTable] = {
    Provider.STRIPE.value: STRIPE_HANDLERS,
    Provider.RAZORPAY.value: RAZORPAY_HANDLERS,
}


@dataclass(frozen=True)
class RetryPolicy:
    """20 tries over about eight hours: 1 s doubling up to an hour, then hourly."""

    backoff: Backoff = field(default_factory=lambda: Backoff(initial=1.0, maximum=3600.0))
    max_attempts: int = 20

    def delay(self, attempts: int) -> float | None:
        """Seconds until the next try after ``attempts`` tries; None once they are used up."""
        return None if attempts >= self.max_attempts else self.backoff.delay(attempts)


class WebhookApplier:
    def __init__(
        self,
        inbox: WebhookInbox,
        effects: WebhookEffects,
        handlers: Mapping[str, DispatchTable] = HANDLERS,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.inbox = inbox
        self.effects = effects
        # Copies: a test (or a provider switched off) changes this applier's tables only.
        self.handlers = {provider: dict(table) for provider, table in handlers.items()}
        self.retry = retry or RetryPolicy()

    def apply(self, entry: InboxEntry) -> InboxStatus:
        """Apply a row leased to the caller and record the result on it."""
        bound = log.bind(
            provider=entry.provider,
            event_id=entry.event_id,
            event_type=entry.event_type,
            attempt=entry.attempts,
        )
        try:
            payload = json.loads(entry.body)
            if not isinstance(payload, dict):
                raise ValueError("the event body is not a JSON object")
            event = ProviderEvent(entry.provider, entry.event_id, entry.event_type, payload)
            handler = self.handlers.get(entry.provider, {}).get(entry.event_type, unhandled)
            applied = handler(event, self.effects)
        except DomainError as exc:
            bound.error(
                "webhook contradicts the engine state: an operator must look", error=str(exc)
            )
            return self._fail(entry, f"{type(exc).__name__}: {exc}", None)
        except Exception as exc:
            retry_in = self.retry.delay(entry.attempts)
            bound.warning("webhook not applied", error=repr(exc), retry_in=retry_in)
            return self._fail(entry, f"{type(exc).__name__}: {exc}", retry_in)
        if self.inbox.settle(entry, applied.status, applied.outcome):
            bound.info("webhook applied", status=applied.status.value, outcome=applied.outcome)
        else:
            bound.warning("webhook lease was lost before it was settled")
        WEBHOOKS_APPLIED.labels(entry.provider, applied.status.value).inc()
        return applied.status

    def _fail(self, entry: InboxEntry, error: str, retry_in: float | None) -> InboxStatus:
        self.inbox.fail(entry, error, retry_in)
        WEBHOOKS_APPLIED.labels(entry.provider, InboxStatus.FAILED.value).inc()
        return InboxStatus.FAILED
