"""Razorpay events: recorded (for resends and ``/_sandbox/events``) and handed to the dispatcher."""

from __future__ import annotations

import copy
import json

from . import razorpay_objects as objects
from .config import SandboxConfig
from .ids import razorpay_event_id
from .store import JsonObject, SandboxStore
from .webhooks import WebhookDispatcher, WebhookMessage


class RazorpayEventLog:
    def __init__(
        self, store: SandboxStore, dispatcher: WebhookDispatcher, config: SandboxConfig
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._config = config

    def emit(self, event_type: str, entities: dict[str, JsonObject]) -> None:
        """Send ``event_type`` with a snapshot of ``entities``; ``contains`` keeps their order."""
        snapshot = copy.deepcopy(entities)
        body = objects.event(self._config.razorpay_account_id, event_type, snapshot)
        event_id = razorpay_event_id()
        with self._store.lock:
            self._store.razorpay.events.append({"id": event_id, "event": event_type, "body": body})
            self._publish(event_id, event_type, body)

    def replay(self, event_id: str) -> bool:
        """Queue a recorded event's webhook again, with its original ``X-Razorpay-Event-Id``."""
        with self._store.lock:
            for recorded in self._store.razorpay.events:
                if recorded["id"] == event_id:
                    self._publish(event_id, recorded["event"], recorded["body"])
                    return True
        return False

    def _publish(self, event_id: str, event_type: str, body: JsonObject) -> None:
        raw = json.dumps(body, separators=(",", ":")).encode()
        self._dispatcher.publish(WebhookMessage("razorpay", event_id, event_type, raw))
