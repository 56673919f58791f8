"""Webhook delivery: a background thread posts signed events, retries, and records every attempt.

API handlers only enqueue; nothing here runs on a request's response path. Tests steer delivery
through ``hold``/``release`` (out-of-order), ``duplicate`` (at-least-once) and ``wait_idle``.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import random
import select
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .config import SandboxConfig
from .ids import random_token
from .webhook_signing import razorpay_signature, stripe_signature_header

Provider = Literal["stripe", "razorpay"]
ReleaseOrder = Literal["fifo", "reverse", "random"]


@dataclass(frozen=True)
class WebhookMessage:
    provider: Provider
    event_id: str
    event_type: str
    body: bytes


@dataclass
class WebhookEndpoint:
    """Where one provider's webhooks go. ``events`` are the types the endpoint is subscribed
    to, as a Stripe endpoint's ``enabled_events`` and a Razorpay webhook's active events;
    ``None`` is every type (Stripe's ``*``). Events of other types still happen (Stripe
    lists them under ``/v1/events``); they are only not sent."""

    url: str | None
    secret: str | None
    events: frozenset[str] | None = None

    def wants(self, event_type: str) -> bool:
        return self.url is not None and (self.events is None or event_type in self.events)


@dataclass(frozen=True)
class _Delivery:
    message: WebhookMessage
    url: str
    secret: str | None
    copy: int
    attempt: int = 1


@dataclass(order=True)
class _Scheduled:
    due: float
    seq: int
    delivery: _Delivery = field(compare=False)


class WebhookDispatcher:
    """Sends webhooks in the order they were published, one at a time, off the request path."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._queue: list[_Scheduled] = []
        self._held: list[_Delivery] = []
        self._records: list[dict[str, Any]] = []
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._generation = 0
        self._apply_defaults()

    def _apply_defaults(self) -> None:
        self.endpoints: dict[Provider, WebhookEndpoint] = {
            "stripe": WebhookEndpoint(
                self._config.stripe_webhook_url,
                self._config.stripe_webhook_secret,
                self._config.stripe_webhook_events,
            ),
            "razorpay": WebhookEndpoint(
                self._config.razorpay_webhook_url,
                self._config.razorpay_webhook_secret,
                self._config.razorpay_webhook_events,
            ),
        }
        self.duplicate = False
        self.holding = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def reset(self) -> None:
        """Drop queued, held and recorded deliveries and go back to the configured endpoints."""
        with self._cond:
            self._generation += 1
            self._queue.clear()
            self._held.clear()
            self._records.clear()
            self._apply_defaults()
            self._cond.notify_all()

    # -- settings --------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        with self._cond:
            described: dict[str, Any] = {"duplicate_webhooks": self.duplicate}
            for provider, endpoint in self.endpoints.items():
                described[f"{provider}_webhook_url"] = endpoint.url
                described[f"{provider}_webhook_secret_set"] = endpoint.secret is not None
                described[f"{provider}_webhook_events"] = (
                    ["*"] if endpoint.events is None else sorted(endpoint.events)
                )
            described["holding"] = self.holding
            return described

    def configure(
        self,
        duplicate: bool | None = None,
        endpoints: dict[Provider, WebhookEndpoint] | None = None,
    ) -> None:
        with self._cond:
            if duplicate is not None:
                self.duplicate = duplicate
            if endpoints:
                self.endpoints.update(endpoints)

    # -- publishing ------------------------------------------------------------------------

    def has_endpoint(self, provider: Provider) -> bool:
        with self._cond:
            return self.endpoints[provider].url is not None

    def publish(self, message: WebhookMessage) -> None:
        """Queue ``message`` for its provider's endpoint (twice when duplicating)."""
        with self._cond:
            endpoint = self.endpoints[message.provider]
            if endpoint.url is None or not endpoint.wants(message.event_type):
                return
            copies = 2 if self.duplicate else 1
            for copy in range(copies):
                delivery = _Delivery(message, endpoint.url, endpoint.secret, copy)
                if self.holding:
                    self._held.append(delivery)
                else:
                    self._schedule(delivery, time.monotonic())
        self.start()

    def _schedule(self, delivery: _Delivery, due: float) -> None:
        heapq.heappush(self._queue, _Scheduled(due, next(self._seq), delivery))
        self._cond.notify_all()

    # -- hold / release --------------------------------------------------------------------

    def hold(self) -> None:
        with self._cond:
            self.holding = True

    def held(self) -> list[dict[str, Any]]:
        with self._cond:
            return [_describe(d) for d in self._held]

    def release(
        self,
        order: ReleaseOrder = "fifo",
        event_ids: list[str] | None = None,
        seed: int | None = None,
        keep_holding: bool = False,
    ) -> list[str]:
        """Send held deliveries in ``order``, or only those of ``event_ids`` in that order.

        Returns the event ids released, in the order they will be sent.
        """
        with self._cond:
            if event_ids is not None:
                rank = {event_id: i for i, event_id in enumerate(event_ids)}
                chosen = [d for d in self._held if d.message.event_id in rank]
                chosen.sort(key=lambda d: rank[d.message.event_id])
                self._held = [d for d in self._held if d.message.event_id not in rank]
            else:
                chosen = list(self._held)
                self._held = []
                if order == "reverse":
                    chosen.reverse()
                elif order == "random":
                    random.Random(seed).shuffle(chosen)
            self.holding = keep_holding or (event_ids is not None and self.holding)
            now = time.monotonic()
            for delivery in chosen:
                self._schedule(delivery, now)
        self.start()
        return [d.message.event_id for d in chosen]

    # -- observation -----------------------------------------------------------------------

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(record) for record in self._records]

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or being sent (held deliveries do not count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    # -- the delivery thread ---------------------------------------------------------------

    def _run(self) -> None:
        with _Poster(self._config.webhook_timeout_seconds) as client:
            while True:
                with self._cond:
                    scheduled = self._next_due()
                    if scheduled is None:
                        return
                    self._in_flight += 1
                    generation = self._generation
                try:
                    record = self._send(client, scheduled.delivery)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        if generation == self._generation:
                            self._records.append(record)
                            self._retry_if_failed(scheduled.delivery, record)
                        self._cond.notify_all()

    def _next_due(self) -> _Scheduled | None:
        """Wait (holding the condition) for the next due delivery; ``None`` once stopping."""
        while not self._stopping:
            if self._queue:
                wait = self._queue[0].due - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._queue)
                self._cond.wait(wait)
            else:
                self._cond.wait()
        return None

    def _retry_if_failed(self, delivery: _Delivery, record: dict[str, Any]) -> None:
        status = record["status_code"]
        if isinstance(status, int) and 200 <= status < 300:
            return
        if delivery.attempt >= self._config.webhook_max_attempts:
            return
        backoff = min(
            self._config.webhook_retry_base_seconds * 2 ** (delivery.attempt - 1),
            self._config.webhook_retry_max_seconds,
        )
        retry = _Delivery(
            delivery.message, delivery.url, delivery.secret, delivery.copy, delivery.attempt + 1
        )
        self._schedule(retry, time.monotonic() + backoff)

    def _send(self, client: _Poster, delivery: _Delivery) -> dict[str, Any]:
        record = _describe(delivery)
        record["attempt"] = delivery.attempt
        started = time.monotonic()
        try:
            record["status_code"] = client.post(
                delivery.url, delivery.message.body, _headers(delivery)
            )
            record["error"] = None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            record["status_code"] = None
            record["error"] = f"{type(exc).__name__}: {exc}"
        record["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        record["sent_at"] = time.time()
        return record


class _Poster:
    """POSTs over one kept-alive connection per endpoint (``http.client``: the delivery
    thread sends one webhook at a time, so it needs no pool and little CPU).

    A kept connection the endpoint has closed since, or sent anything on, is dropped
    before it is written to. A failed POST is not resent here: it is the attempt's outcome,
    and the retry schedule sends it again, as Stripe and Razorpay do.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._kept: dict[tuple[str, int], http.client.HTTPConnection] = {}

    def __enter__(self) -> _Poster:
        return self

    def __exit__(self, *_: object) -> None:
        for connection in self._kept.values():
            connection.close()
        self._kept.clear()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the sandbox delivers to http:// endpoints only, not {url!r}")
        origin = (parts.hostname, parts.port or 80)
        connection = self._kept.pop(origin, None)
        if connection is None or not _idle_and_open(connection):
            if connection is not None:
                connection.close()
            connection = http.client.HTTPConnection(*origin, timeout=self._timeout)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", target or "/", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._kept[origin] = connection
        return response.status


def _idle_and_open(connection: http.client.HTTPConnection) -> bool:
    """Nothing to read on a kept connection: the endpoint has not closed it."""
    if connection.sock is None:
        return False
    poller = select.poll()
    poller.register(connection.sock, select.POLLIN)
    return not poller.poll(0)


def _describe(delivery: _Delivery) -> dict[str, Any]:
    message = delivery.message
    return {
        "id": f"whd_{random_token(14)}",
        "provider": message.provider,
        "event_id": message.event_id,
        "event_type": message.event_type,
        "url": delivery.url,
        "copy": delivery.copy,
        "attempt": delivery.attempt,
    }


def _headers(delivery: _Delivery) -> dict[str, str]:
    message = delivery.message
    if message.provider == "stripe":
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        if delivery.secret is not None:
            headers["Stripe-Signature"] = stripe_signature_header(
                message.body, delivery.secret, int(time.time())
            )
        return headers
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Razorpay-Webhook/v1",
        "X-Razorpay-Event-Id": message.event_id,
    }
    if delivery.secret is not None:
        headers["X-Razorpay-Signature"] = razorpay_signature(message.body, delivery.secret)
    return headers
