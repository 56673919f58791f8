"""Stripe Events: recorded for ``GET /v1/events`` and handed to the webhook dispatcher."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from fnmatch import fnmatchcase

from . import stripe_objects as objects
from .config import SandboxConfig
from .store import JsonObject, SandboxStore
from .stripe_errors import invalid_request, resource_missing
from .stripe_forms import reject_unknown, string_param
from .stripe_lists import LIST_PARAMS, list_page
from .webhooks import WebhookDispatcher, WebhookMessage


@dataclass(frozen=True)
class RequestRef:
    """The API request an event came from (``event.request``); hosted pages have none."""

    request_id: str | None = None
    idempotency_key: str | None = None


AUTOMATIC = RequestRef()


class StripeEventLog:
    def __init__(
        self, store: SandboxStore, dispatcher: WebhookDispatcher, config: SandboxConfig
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._config = config

    def emit(
        self,
        event_type: str,
        data_object: JsonObject,
        request: RequestRef,
        previous_attributes: JsonObject | None = None,
    ) -> JsonObject:
        """Record an event holding a snapshot of ``data_object`` and queue its webhook."""
        pending = 1 if self._dispatcher.has_endpoint("stripe") else 0
        event = objects.event(
            event_type=event_type,
            data_object=copy.deepcopy(data_object),
            api_version=self._config.stripe_api_version,
            pending_webhooks=pending,
            request_id=request.request_id,
            idempotency_key=request.idempotency_key,
            previous_attributes=previous_attributes,
        )
        with self._store.lock:
            self._store.stripe.events[event["id"]] = event
            body = json.dumps(event, indent=2).encode()
            self._dispatcher.publish(WebhookMessage("stripe", event["id"], event_type, body))
        return event

    def retrieve(self, event_id: str) -> JsonObject:
        with self._store.lock:
            event = self._store.stripe.events.get(event_id)
            if event is None:
                raise resource_missing("event", event_id, "id")
            return copy.deepcopy(event)

    def list_events(self, params: JsonObject) -> JsonObject:
        """``GET /v1/events``: newest first, filtered by ``type``/``types``, paged by id."""
        reject_unknown(params, EVENT_LIST_PARAMS)
        wanted = _wanted_types(params)
        with self._store.lock:
            events = list(reversed(self._store.stripe.events.values()))
        if wanted is not None:
            events = [e for e in events if any(fnmatchcase(e["type"], t) for t in wanted)]
        return list_page(events, params, "event", "/v1/events")

    def replay(self, event_id: str) -> bool:
        """Queue the webhook of a recorded event again (Stripe's "Resend" button)."""
        with self._store.lock:
            event = self._store.stripe.events.get(event_id)
            if event is None:
                return False
            body = json.dumps(event, indent=2).encode()
            self._dispatcher.publish(WebhookMessage("stripe", event_id, event["type"], body))
            return True


EVENT_LIST_PARAMS = (*LIST_PARAMS, "delivery_success", "type", "types")


def _wanted_types(params: JsonObject) -> list[str] | None:
    single = string_param(params, "type")
    many = params.get("types")
    if single is not None and many is not None:
        raise invalid_request("You may only specify one of `type` and `types`.", param="types")
    if single is not None:
        return [single]
    if isinstance(many, list):
        return [str(t) for t in many]
    return None
