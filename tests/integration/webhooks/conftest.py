"""The webhook inbox and dispatch tables on PostgreSQL, fed provider events directly."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from application.backoff import Backoff
from application.checkout import Placed
from entrypoints.bootstrap import Container
from infrastructure.webhooks.applier import RetryPolicy, WebhookApplier
from infrastructure.webhooks.inbox import InboxEntry, InboxStatus, WebhookInbox
from projections.payments import PaymentsView
from projections.runner import ProjectionRunner

FAST_RETRY = RetryPolicy(Backoff(initial=0.01, maximum=0.05), max_attempts=3)


@pytest.fixture
def inbox(container: Container, db: Engine) -> WebhookInbox:
    return container.webhook_inbox


@pytest.fixture
def applier(container: Container, inbox: WebhookInbox) -> WebhookApplier:
    return container.webhook_applier(FAST_RETRY)


@dataclass
class Delivered:
    status: InboxStatus
    entry: InboxEntry


@dataclass
class Provider:
    """Delivers events into the inbox and applies them, as the API does."""

    inbox: WebhookInbox
    applier: WebhookApplier
    container: Container

    def deliver(
        self, provider: str, event_type: str, body: dict[str, Any], event_id: str | None = None
    ) -> Delivered:
        event_id = event_id or f"evt_{uuid.uuid4().hex[:16]}"
        raw = json.dumps(body).encode()
        accepted = self.inbox.accept(provider, event_id, event_type, raw, {})
        status = self.applier.apply(accepted.entry)
        entry = self.inbox.get(provider, event_id)
        assert entry is not None
        return Delivered(status, entry)

    def stripe(self, event_type: str, data_object: dict[str, Any]) -> Delivered:
        event_id = f"evt_{uuid.uuid4().hex[:16]}"
        body = {"id": event_id, "object": "event", "type": event_type}
        return self.deliver(
            "stripe", event_type, body | {"data": {"object": data_object}}, event_id
        )

    def razorpay(self, event_type: str, **entities: dict[str, Any]) -> Delivered:
        payload = {name: {"entity": entity} for name, entity in entities.items()}
        body = {"entity": "event", "event": event_type, "payload": payload}
        return self.deliver("razorpay", event_type, body)

    def open_at_provider(self, placed: Placed, gateway_order_id: str) -> None:
        """What the worker records once the provider order exists."""
        stripe = gateway_order_id.startswith("pi_")
        self.container.payments.provider_order_created(
            placed.payment.id, gateway_order_id, gateway_order_id if stripe else None
        )

    def project_payments(self) -> None:
        ProjectionRunner(self.container.app, self.container.db, PaymentsView()).catch_up()


@pytest.fixture
def provider(inbox: WebhookInbox, applier: WebhookApplier, container: Container) -> Provider:
    return Provider(inbox, applier, container)
