"""Applying one inbox row: its provider's dispatch table names the handler, the row records
how it went.

- processed / ignored: settled for good, with a one-line outcome for operators;
- a domain error (the event contradicts what the engine knows, e.g. a second capture of
  a paid order): failed, not retried, logged as an error: another try cannot help;
- anything else (contention, the database away, a payment not known yet): failed, and
  due again after a capped exponential backoff, up to ``max_attempts`` tries.

The events a row causes carry the SHA-256 of its raw body; a processed row's body is kept
in the evidence table under that digest before the row is settled, so however the applier
crashes, a row whose events name a digest is applied again (and its body kept) until
settled (adr/0016).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from application.backoff import Backoff
from application.ports import Evidence, EvidenceKind, EvidenceStore
from domain import DomainError, Provider
from infrastructure.webhooks.events import (
    DispatchTable,
    Ignore,
    ProviderEvent,
    WebhookEffects,
    mapping,
    text,
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


def subscribed_event_types(provider: str) -> list[str]:
    """The event types a provider's webhook endpoint should be subscribed to: every type the
    engine acts on, none it deliberately ignores (Stripe's ``enabled_events``, Razorpay's
    active events). A type the engine acts on but the endpoint misses is never seen."""
    table = HANDLERS[provider]
    return sorted(kind for kind, handler in table.items() if not isinstance(handler, Ignore))


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
        evidence: EvidenceStore | None = None,
    ) -> None:
        self.inbox = inbox
        self.effects = effects
        self.evidence = evidence
        # Copies: a test (or a provider switched off) changes this applier's tables only.
        self.handlers = {provider: dict(table) for provider, table in handlers.items()}
        self.retry = retry or RetryPolicy()

    def ignores(self, provider: str, event_type: str) -> str | None:
        """Why the tables deliberately ignore this type; None if they act on it (or do not
        know it: an unknown type is stored and shown, not dropped)."""
        handler = self.handlers.get(provider, {}).get(event_type)
        return handler.why if isinstance(handler, Ignore) else None

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
            digest = hashlib.sha256(entry.body).hexdigest()
            event = ProviderEvent(entry.provider, entry.event_id, entry.event_type, payload, digest)
            handler = self.handlers.get(entry.provider, {}).get(entry.event_type, unhandled)
            applied = handler(event, self.effects)
            if applied.status is InboxStatus.PROCESSED:
                self._keep(entry, payload)
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

    def _keep(self, entry: InboxEntry, payload: dict[str, Any]) -> None:
        """Keep the body of a webhook that changed state (or would have, had it not been
        applied before): the evidence its events name."""
        if self.evidence is None:
            return
        try:
            body = entry.body.decode()
        except UnicodeDecodeError:  # json.loads took it, but it is no UTF-8 text
            log.warning("webhook body is not UTF-8: not kept as evidence", id=entry.event_id)
            return
        self.evidence.keep(
            Evidence(EvidenceKind.WEBHOOK, entry.provider, _object_id(payload), body)
        )

    def _fail(self, entry: InboxEntry, error: str, retry_in: float | None) -> InboxStatus:
        self.inbox.fail(entry, error, retry_in)
        WEBHOOKS_APPLIED.labels(entry.provider, InboxStatus.FAILED.value).inc()
        return InboxStatus.FAILED


def _object_id(payload: dict[str, Any]) -> str | None:
    """The provider object a webhook is about: Stripe's ``data.object``, or Razorpay's
    first entity (a refund or dispute before the payment it belongs to)."""
    stripe_object = mapping(mapping(payload.get("data")).get("object"))
    if stripe_object:
        return text(stripe_object.get("id"))
    entities = mapping(payload.get("payload"))
    for name in ("refund", "dispute", "payment", "order"):
        found = text(mapping(mapping(entities.get(name)).get("entity")).get("id"))
        if found is not None:
            return found
    return None
