"""``/_sandbox``: test controls as JSON.

Reset, settings, webhook hold/release/flush/resend/duplicate, deliveries, events and faults;
and what a customer, their bank or time does at a provider, which no API call of the merchant's
can: the clock moving on (Checkout Sessions expire), a session running out, and disputes opened
and decided. Provider-side refusals answer ``{"error": message}`` with the provider's status.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .faults import FaultInjector, FaultRule
from .razorpay_disputes import RazorpayDisputes
from .razorpay_events import RazorpayEventLog
from .razorpay_objects import RazorpayApiError
from .razorpay_orders import RazorpayOrders
from .store import SandboxStore
from .stripe_checkout import StripeCheckout
from .stripe_disputes import StripeDisputes
from .stripe_errors import StripeApiError
from .stripe_events import StripeEventLog
from .stripe_intents import StripeIntents
from .webhooks import Provider, WebhookDispatcher, WebhookEndpoint

_PROVIDERS: tuple[Provider, ...] = ("stripe", "razorpay")
Handler = Callable[[Request], Awaitable[Response]]


class ControlError(Exception):
    pass


class SandboxControls:
    def __init__(
        self,
        store: SandboxStore,
        dispatcher: WebhookDispatcher,
        faults: FaultInjector,
        *,
        stripe_events: StripeEventLog,
        stripe_checkout: StripeCheckout,
        stripe_intents: StripeIntents,
        stripe_disputes: StripeDisputes,
        razorpay_events: RazorpayEventLog,
        razorpay_orders: RazorpayOrders,
        razorpay_disputes: RazorpayDisputes,
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._faults = faults
        self._stripe_events = stripe_events
        self._checkout = stripe_checkout
        self._stripe_intents = stripe_intents
        self._stripe_disputes = stripe_disputes
        self._razorpay_events = razorpay_events
        self._razorpay_orders = razorpay_orders
        self._razorpay_disputes = razorpay_disputes

    def routes(self) -> list[BaseRoute]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/health", self._health),
            ("POST", "/reset", self._reset),
            ("GET", "/settings", self._settings),
            ("POST", "/settings", self._change_settings),
            ("POST", "/webhooks/hold", self._hold),
            ("POST", "/webhooks/release", self._release),
            ("GET", "/webhooks/held", self._held),
            ("POST", "/webhooks/flush", self._flush),
            ("POST", "/webhooks/resend", self._resend),
            ("GET", "/deliveries", self._deliveries),
            ("GET", "/events", self._events),
            ("GET", "/faults", self._list_faults),
            ("POST", "/faults", self._add_fault),
            ("DELETE", "/faults", self._clear_faults),
            ("GET", "/clock", self._clock),
            ("POST", "/clock/advance", self._advance_clock),
            ("POST", "/stripe/checkout/sessions/{id}/expire", self._expire_session),
            ("POST", "/stripe/charges/{id}/dispute", self._open_stripe_dispute),
            ("POST", "/stripe/disputes/{id}/close", self._close_stripe_dispute),
            ("POST", "/razorpay/payments/{id}/dispute", self._open_razorpay_dispute),
            ("POST", "/razorpay/disputes/{id}/close", self._close_razorpay_dispute),
        ]
        return [Route(path, _guarded(handler), methods=[method]) for method, path, handler in table]

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def _reset(self, request: Request) -> Response:
        self._store.reset()
        self._dispatcher.reset()
        self._faults.clear()
        return JSONResponse({"reset": True})

    async def _settings(self, request: Request) -> Response:
        return JSONResponse(self._dispatcher.settings())

    async def _change_settings(self, request: Request) -> Response:
        body = await _json(request)
        allowed = {"duplicate_webhooks"} | {
            f"{p}_webhook_{part}" for p in _PROVIDERS for part in ("url", "secret", "events")
        }
        _reject_unknown(body, allowed)
        duplicate = body.get("duplicate_webhooks")
        if duplicate is not None and not isinstance(duplicate, bool):
            raise ControlError("duplicate_webhooks must be a boolean")
        endpoints: dict[Provider, WebhookEndpoint] = {}
        for provider in _PROVIDERS:
            url_key, secret_key = f"{provider}_webhook_url", f"{provider}_webhook_secret"
            events_key = f"{provider}_webhook_events"
            if url_key in body or secret_key in body or events_key in body:
                endpoint = self._dispatcher.endpoints[provider]
                events = endpoint.events
                if events_key in body:
                    events = _event_types(body[events_key], events_key)
                endpoints[provider] = WebhookEndpoint(
                    body.get(url_key, endpoint.url), body.get(secret_key, endpoint.secret), events
                )
        self._dispatcher.configure(duplicate, endpoints)
        return JSONResponse(self._dispatcher.settings())

    async def _hold(self, request: Request) -> Response:
        self._dispatcher.hold()
        return JSONResponse({"holding": True})

    async def _held(self, request: Request) -> Response:
        return JSONResponse({"held": self._dispatcher.held()})

    async def _release(self, request: Request) -> Response:
        body = await _json(request)
        _reject_unknown(body, {"order", "event_ids", "seed", "keep_holding"})
        order = body.get("order", "fifo")
        if order not in ("fifo", "reverse", "random"):
            raise ControlError("order must be one of fifo, reverse, random")
        event_ids = body.get("event_ids")
        if event_ids is not None and not (
            isinstance(event_ids, list) and all(isinstance(e, str) for e in event_ids)
        ):
            raise ControlError("event_ids must be a list of event ids")
        released = self._dispatcher.release(
            order, event_ids, body.get("seed"), bool(body.get("keep_holding", False))
        )
        return JSONResponse({"released": released})

    async def _flush(self, request: Request) -> Response:
        body = await _json(request)
        timeout = float(body.get("timeout", 10))
        idle = await anyio.to_thread.run_sync(self._dispatcher.wait_idle, timeout)
        return JSONResponse({"idle": idle}, status_code=200 if idle else 504)

    async def _resend(self, request: Request) -> Response:
        body = await _json(request)
        event_id = body.get("event_id")
        if not isinstance(event_id, str):
            raise ControlError("event_id is required")
        found = self._stripe_events.replay(event_id) or self._razorpay_events.replay(event_id)
        if not found:
            return JSONResponse({"error": f"no event {event_id}"}, status_code=404)
        return JSONResponse({"resent": event_id})

    async def _deliveries(self, request: Request) -> Response:
        """Delivery attempts; ``min_count`` + ``timeout`` wait until that many match."""
        query = request.query_params
        filters = {k: query[k] for k in ("provider", "event_id", "event_type") if k in query}
        min_count = int(query.get("min_count", "0"))
        deadline = time.monotonic() + float(query.get("timeout", "0"))
        while True:
            records = [
                r
                for r in self._dispatcher.deliveries()
                if all(r[k] == v for k, v in filters.items())
            ]
            if len(records) >= min_count or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.02)
        return JSONResponse({"deliveries": records})

    async def _events(self, request: Request) -> Response:
        provider = request.query_params.get("provider")
        events: list[dict[str, Any]] = []
        with self._store.lock:
            if provider in (None, "stripe"):
                events += [
                    {"provider": "stripe", "id": e["id"], "type": e["type"], "body": e}
                    for e in self._store.stripe.events.values()
                ]
            if provider in (None, "razorpay"):
                events += [
                    {"provider": "razorpay", "id": e["id"], "type": e["event"], "body": e["body"]}
                    for e in self._store.razorpay.events
                ]
        return JSONResponse({"events": events})

    async def _list_faults(self, request: Request) -> Response:
        return JSONResponse({"faults": self._faults.describe()})

    async def _add_fault(self, request: Request) -> Response:
        body = await _json(request)
        _reject_unknown(
            body, {"path_prefix", "status", "count", "delay_seconds", "method", "provider"}
        )
        prefix = body.get("path_prefix")
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ControlError("path_prefix must be a path such as /v1/payment_intents")
        status = body.get("status")
        delay = float(body.get("delay_seconds", 0))
        if status is None and delay <= 0:
            raise ControlError("give a status, a delay_seconds, or both")
        if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
            raise ControlError("status must be an HTTP error status (400-599)")
        count = body.get("count", 1)
        if count is not None and not (isinstance(count, int) and count >= 1):
            raise ControlError("count must be a positive integer or null (until cleared)")
        rule = FaultRule(
            path_prefix=prefix,
            status=status,
            delay_seconds=delay,
            count=count,
            method=body.get("method"),
            provider=body.get("provider"),
        )
        self._faults.add(rule)
        return JSONResponse({"fault": rule.id, "faults": self._faults.describe()})

    async def _clear_faults(self, request: Request) -> Response:
        self._faults.clear()
        return JSONResponse({"faults": []})

    async def _clock(self, request: Request) -> Response:
        clock = self._store.clock
        return JSONResponse({"now": clock.now(), "offset_seconds": clock.offset})

    async def _advance_clock(self, request: Request) -> Response:
        """Let ``seconds`` pass: what is due expires, as at the providers.

        Checkout Sessions past ``expires_at``, Stripe authorizations uncaptured for 7 days,
        Razorpay authorized payments uncaptured past their order's window (refunded).
        """
        body = await _json(request)
        _reject_unknown(body, {"seconds"})
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ControlError("seconds must be a non-negative integer")
        now = self._store.clock.advance(seconds)
        expired = self._checkout.expire_due()
        return JSONResponse(
            {
                "now": now,
                "offset_seconds": self._store.clock.offset,
                "expired_sessions": expired,
                "expired_payment_intents": self._stripe_intents.expire_authorizations(),
                "refunded_authorized_payments": self._razorpay_orders.expire_authorizations(),
            }
        )

    async def _expire_session(self, request: Request) -> Response:
        await _json(request)
        return JSONResponse(self._checkout.expire_now(request.path_params["id"]))

    async def _open_stripe_dispute(self, request: Request) -> Response:
        body = await _json(request)
        _reject_unknown(body, {"amount", "reason"})
        params = {k: str(v) for k, v in body.items() if v is not None}
        dispute = self._stripe_disputes.open_dispute(request.path_params["id"], params)
        return JSONResponse(dispute)

    async def _close_stripe_dispute(self, request: Request) -> Response:
        body = await _json(request)
        _reject_unknown(body, {"status"})
        return JSONResponse(
            self._stripe_disputes.decide(request.path_params["id"], body.get("status"))
        )

    async def _open_razorpay_dispute(self, request: Request) -> Response:
        body = await _json(request)
        dispute = self._razorpay_disputes.open_dispute(request.path_params["id"], body)
        return JSONResponse(dispute)

    async def _close_razorpay_dispute(self, request: Request) -> Response:
        body = await _json(request)
        _reject_unknown(body, {"status"})
        return JSONResponse(
            self._razorpay_disputes.close_dispute(request.path_params["id"], body.get("status"))
        )


def _guarded(handler: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except (ControlError, ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except StripeApiError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except RazorpayApiError as exc:
            return JSONResponse({"error": exc.description}, status_code=exc.status)

    return endpoint


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _reject_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ControlError(f"unknown fields: {', '.join(unknown)}; expected {sorted(allowed)}")


def _event_types(value: Any, key: str) -> frozenset[str] | None:
    """A subscription: a list of event types, or ``["*"]`` for every type."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ControlError(f'{key} must be a list of event types, or ["*"]')
    return None if "*" in value else frozenset(value)
