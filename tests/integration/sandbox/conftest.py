"""One sandbox server for the session, a webhook receiver, and SDK clients pointed at both."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import razorpay
import stripe

from sandbox import SandboxConfig
from sandbox.server import BackgroundSandbox

STRIPE_WEBHOOK_SECRET = "whsec_sandbox_test_secret"
RAZORPAY_WEBHOOK_SECRET = "rzp_webhook_test_secret"
RAZORPAY_KEY_ID = "rzp_test_SandboxKey001"
RAZORPAY_KEY_SECRET = "sandbox_key_secret"
WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers[name.lower()]


class WebhookReceiver:
    """A tiny HTTP endpoint that records webhooks and answers with scripted statuses."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._received: list[ReceivedWebhook] = []
        self._scripted: dict[str, list[int]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._record(ReceivedWebhook(self.path, headers, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, webhook: ReceivedWebhook) -> int:
        with self._cond:
            script = self._scripted.get(webhook.path, [])
            status = script.pop(0) if script else 200
            if status < 300:
                self._received.append(webhook)
            self._cond.notify_all()
            return status

    def respond_with(self, path: str, statuses: list[int]) -> None:
        """Answer the next webhooks on ``path`` with ``statuses``, then 200 again."""
        with self._cond:
            self._scripted[path] = list(statuses)

    def clear(self) -> None:
        with self._cond:
            self._received.clear()
            self._scripted.clear()

    def received(self, path: str) -> list[ReceivedWebhook]:
        with self._cond:
            return [w for w in self._received if w.path == path]

    def wait_for(
        self,
        path: str,
        predicate: Callable[[list[ReceivedWebhook]], bool],
        timeout: float = WAIT_SECONDS,
    ) -> list[ReceivedWebhook]:
        """Block until the accepted webhooks on ``path`` satisfy ``predicate``."""
        with self._cond:
            met = self._cond.wait_for(
                lambda: predicate([w for w in self._received if w.path == path]), timeout
            )
            accepted = [w for w in self._received if w.path == path]
        assert met, f"webhooks on {path} never met the condition; got {len(accepted)}"
        return accepted

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class Sandbox:
    url: str
    receiver: WebhookReceiver

    @property
    def stripe_base(self) -> str:
        return f"{self.url}/stripe"

    @property
    def razorpay_base(self) -> str:
        return f"{self.url}/razorpay"

    def control(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        response = httpx.request(
            method, f"{self.url}/_sandbox{path}", json=json, params=params, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def deliveries(self, min_count: int = 0, **filters: str) -> list[dict[str, Any]]:
        """Delivery attempts matching ``filters``, waiting (server-side) for ``min_count``."""
        timeout = WAIT_SECONDS if min_count else 0
        answer = self.control("GET", "/deliveries", min_count=min_count, timeout=timeout, **filters)
        records: list[dict[str, Any]] = answer["deliveries"]
        assert len(records) >= min_count, records
        return records


@pytest.fixture(scope="session")
def _receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def _server(_receiver: WebhookReceiver) -> Iterator[BackgroundSandbox]:
    config = SandboxConfig(
        stripe_webhook_url=f"{_receiver.url}/stripe",
        stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
        razorpay_webhook_url=f"{_receiver.url}/razorpay",
        razorpay_webhook_secret=RAZORPAY_WEBHOOK_SECRET,
        webhook_retry_base_seconds=0.05,
    )
    server = BackgroundSandbox(config).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(_server: BackgroundSandbox, _receiver: WebhookReceiver) -> Iterator[Sandbox]:
    """The sandbox, reset, with an empty receiver; lets deliveries finish before the next test."""
    handle = Sandbox(_server.base_url, _receiver)
    handle.control("POST", "/reset")
    _receiver.clear()
    yield handle
    handle.control("POST", "/webhooks/flush", json={"timeout": WAIT_SECONDS})
    handle.control("POST", "/reset")


@pytest.fixture
def stripe_client(sandbox: Sandbox) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_sandbox_key",
        base_addresses={"api": sandbox.stripe_base},
        max_network_retries=0,
    )


@pytest.fixture
def razorpay_client(sandbox: Sandbox) -> razorpay.Client:
    return razorpay.Client(
        auth=(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET), base_url=sandbox.razorpay_base
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
