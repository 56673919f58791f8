"""Paying for real, end to end: the API, the provider sandbox wired to its webhook URLs, and
the worker's loops (provider calls, expiry, the webhook inbox sweeper) on threads.

The customer's side is what stripe.js and checkout.js would do: confirm the PaymentIntent
through the stripe SDK, or have the sandbox's checkout.js stand-in pay a Razorpay order.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx
import pytest
import stripe

from application.backoff import Backoff
from entrypoints.bootstrap import WorkerOptions
from entrypoints.roles import run_loops
from infrastructure.webhooks.applier import RetryPolicy
from infrastructure.webhooks.inbox import InboxEntry, WebhookInbox
from infrastructure.worker.executor import ExecutorSettings
from sandbox import SandboxConfig
from sandbox.server import BackgroundSandbox
from sandbox.store import SandboxStore
from tests.e2e.conftest import RunningApi, StartApi
from tests.waiting import wait_until

STRIPE_KEY = "sk_test_e2e_payments"
STRIPE_WEBHOOK_SECRET = "whsec_e2e_payments"
RAZORPAY_KEY_ID = "rzp_test_E2ePayments01"
RAZORPAY_KEY_SECRET = "e2e_razorpay_key_secret"
RAZORPAY_WEBHOOK_SECRET = "e2e_razorpay_webhook_secret"
WAIT = 20.0

FAST_WORKER = WorkerOptions(
    executors=2,
    executor=ExecutorSettings(
        lease_seconds=5.0,
        idle_poll_seconds=0.05,
        backoff=Backoff(initial=0.05, maximum=0.2),
        not_configured_retry_seconds=0.2,
    ),
    reaper_interval_seconds=0.1,
    inbox_interval_seconds=0.05,
    inbox_retry=RetryPolicy(Backoff(initial=0.05, maximum=0.2), max_attempts=20),
)


@dataclass
class RunningWorker:
    stop_event: threading.Event = field(default_factory=threading.Event)
    exit_codes: list[int] = field(default_factory=list)
    thread: threading.Thread | None = None

    def stop(self) -> None:
        self.stop_event.set()
        assert self.thread is not None
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the worker did not stop"
        assert self.exit_codes == [0], "a worker loop crashed"


def start_worker(api: RunningApi) -> RunningWorker:
    loops = api.container.worker_loops(FAST_WORKER)
    worker = RunningWorker()
    worker.thread = threading.Thread(
        target=lambda: worker.exit_codes.append(run_loops(loops, worker.stop_event)),
        daemon=True,
    )
    worker.thread.start()
    return worker


class PaidOrder(NamedTuple):
    """An order of 2 x 1250 USD paid in the sandbox and confirmed."""

    order_id: str
    customer: str
    captured: str  # the gateway payment id: what refunds pay back from


@dataclass
class PaymentShop:
    """One API with both providers configured against the sandbox, and its worker."""

    api: RunningApi
    server: BackgroundSandbox
    worker: RunningWorker

    @property
    def sandbox_url(self) -> str:
        return self.server.base_url

    # -- the sandbox ---------------------------------------------------------------------

    def control(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        response = httpx.request(
            method, f"{self.sandbox_url}/_sandbox{path}", json=json, params=params, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def deliveries(self, min_count: int = 0, **filters: str) -> list[dict[str, Any]]:
        """Webhook deliveries the sandbox made, waiting (server side) for ``min_count``."""
        timeout = WAIT if min_count else 0
        answer = self.control("GET", "/deliveries", min_count=min_count, timeout=timeout, **filters)
        records: list[dict[str, Any]] = answer["deliveries"]
        assert len(records) >= min_count, records
        return records

    def flush(self) -> None:
        self.control("POST", "/webhooks/flush", json={"timeout": WAIT})

    @property
    def stripe(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            STRIPE_KEY,
            base_addresses={"api": f"{self.sandbox_url}/stripe"},
            max_network_retries=0,
        )

    def confirm_card(self, intent_id: str, payment_method: str = "pm_card_visa") -> str:
        """What stripe.confirmCardPayment does; returns the intent's status afterwards."""
        try:
            intent = self.stripe.v1.payment_intents.confirm(
                intent_id, {"payment_method": payment_method}
            )
        except stripe.CardError as exc:
            if exc.code != "card_declined":
                raise
            return "declined"
        return str(intent.status)

    def pay_razorpay(
        self, gateway_order_id: str, outcome: str = "success", **options: Any
    ) -> httpx.Response:
        """The checkout.js stand-in: the customer pays (or fails to pay) the order.

        ``options`` are what a customer controls in checkout.js: ``notes``, ``amount``,
        ``currency``, and ``allowDuplicate`` to pay an order a second time.
        """
        return httpx.post(
            f"{self.sandbox_url}/razorpay/v1/sandbox/orders/{gateway_order_id}/pay",
            json={"outcome": outcome, **options},
            timeout=30,
        )

    def stripe_intent(self, intent_id: str) -> Any:
        return self.stripe.v1.payment_intents.retrieve(intent_id)

    def refunds_at_provider(self, provider: str, gateway_payment_id: str) -> list[dict[str, Any]]:
        """The refund objects the sandbox holds for a captured payment."""
        store: SandboxStore = self.server.app.state.sandbox.store
        with store.lock:
            if provider == "stripe":
                found = store.stripe.refunds.values()
                return [dict(r) for r in found if r["payment_intent"] == gateway_payment_id]
            found = store.razorpay.refunds.values()
            return [dict(r) for r in found if r["payment_id"] == gateway_payment_id]

    # -- the engine ----------------------------------------------------------------------

    @property
    def inbox(self) -> WebhookInbox:
        return self.api.container.webhook_inbox

    def inbox_entries(self, provider: str | None = None) -> list[InboxEntry]:
        return self.inbox.entries(provider)

    def checkout(
        self, customer: str, provider: str, items: list[dict[str, Any]] | None = None
    ) -> str:
        response = self.api.checkout(
            customer, items or [{"sku": "SKU-1", "quantity": 2}], provider=provider
        )
        assert response.status_code == 201, response.text
        order_id: str = response.json()["orderId"]
        # Read our own write once, so later polls never see the views before it.
        seen = self.api.client.get(
            f"/orders/{order_id}/payments",
            headers=self.api.auth(customer)
            | {"X-Log-Position": response.headers["X-Log-Position"]},
        )
        assert seen.status_code == 200, seen.text
        return order_id

    def payment(self, order_id: str, customer: str) -> dict[str, Any]:
        response = self.api.client.get(
            f"/orders/{order_id}/payments", headers=self.api.auth(customer)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def order(self, order_id: str, customer: str) -> dict[str, Any]:
        response = self.api.client.get(f"/orders/{order_id}", headers=self.api.auth(customer))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_payment(
        self, order_id: str, customer: str, status: str, what: str = ""
    ) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            payment = self.payment(order_id, customer)
            return payment if payment["status"] == status else None

        found: dict[str, Any] = wait_until(reached, timeout=WAIT, what=what or f"payment {status}")
        return found

    def wait_order(self, order_id: str, customer: str, status: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            order = self.order(order_id, customer)
            return order if order["status"] == status else None

        found: dict[str, Any] = wait_until(reached, timeout=WAIT, what=f"order {status}")
        return found

    def payable(self, order_id: str, customer: str) -> dict[str, Any]:
        """The payment once the worker has opened it at the provider."""
        return self.wait_payment(order_id, customer, "pending", "the provider order")

    def manual_checkout(self, customer: str, provider: str) -> str:
        """An order of 2 x SKU-1 whose payment only authorizes (adr/0027); its id."""
        response = self.api.client.post(
            "/checkout",
            json={
                "items": [{"sku": "SKU-1", "quantity": 2}],
                "provider": provider,
                "capture": "manual",
            },
            headers=self.api.auth(customer),
        )
        assert response.status_code == 201, response.text
        order_id: str = response.json()["orderId"]
        return order_id

    def authorized_order(self, provider: str = "stripe") -> tuple[str, str, dict[str, Any]]:
        """A new customer's manual-capture order, authorized as stripe.js or checkout.js
        would: (order id, customer, the payment as polled)."""
        buyer = customer()
        order_id = self.manual_checkout(buyer, provider)
        payable = self.payable(order_id, buyer)
        if provider == "stripe":
            assert self.confirm_card(payable["gatewayOrderId"]) == "requires_capture"
        else:
            assert self.pay_razorpay(payable["gatewayOrderId"]).status_code == 200
        payment = self.wait_payment(order_id, buyer, "authorized", "the authorization")
        return order_id, buyer, payment

    def paid_order(self, provider: str) -> PaidOrder:
        """A new customer checks out and pays, as stripe.js or checkout.js would."""
        buyer = customer()
        order_id = self.checkout(buyer, provider)
        gateway_order_id = self.payable(order_id, buyer)["gatewayOrderId"]
        if provider == "stripe":
            assert self.confirm_card(gateway_order_id) == "succeeded"
        else:
            assert self.pay_razorpay(gateway_order_id).status_code == 200
        self.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")
        captured: str = self.wait_payment(order_id, buyer, "succeeded")["gatewayPaymentId"]
        return PaidOrder(order_id, buyer, captured)

    def refund(self, order_id: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        """An admin's refund; each call is a new request unless it reuses ``key``."""
        headers = self.api.admin() | {"Idempotency-Key": key or f"refund-{uuid.uuid4()}"}
        return self.api.client.post(f"/admin/orders/{order_id}/refunds", json=body, headers=headers)

    def refunds(self, order_id: str) -> list[dict[str, Any]]:
        response = self.api.client.get(
            f"/admin/orders/{order_id}/refunds", headers=self.api.admin()
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def reviews(self) -> list[dict[str, Any]]:
        response = self.api.client.get("/admin/reviews", headers=self.api.admin())
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def verify(self, order_id: str, customer: str, proof: dict[str, Any]) -> httpx.Response:
        return self.api.client.post(
            f"/orders/{order_id}/payments/verify", json=proof, headers=self.api.auth(customer)
        )


def customer() -> str:
    return f"cust-{uuid.uuid4().hex[:8]}"


def provider_settings(sandbox_url: str, **overrides: str) -> dict[str, str]:
    return {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_API_BASE": f"{sandbox_url}/stripe",
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "RAZORPAY_KEY_ID": RAZORPAY_KEY_ID,
        "RAZORPAY_KEY_SECRET": RAZORPAY_KEY_SECRET,
        "RAZORPAY_WEBHOOK_SECRET": RAZORPAY_WEBHOOK_SECRET,
        "RAZORPAY_API_BASE": f"{sandbox_url}/razorpay",
        "RATE_LIMIT_PER_CUSTOMER": "off",
        "RATE_LIMIT_PER_IP": "off",
        "RATE_LIMIT_READS_PER_IP": "off",
        # The tests run reconciliation themselves, on windows they choose.
        "RECONCILE_EVERY_SECONDS": "0",
    } | overrides


@pytest.fixture(scope="session")
def provider_sandbox() -> Iterator[BackgroundSandbox]:
    server = BackgroundSandbox(SandboxConfig(webhook_retry_base_seconds=0.05)).start()
    yield server
    server.stop()


OpenShop = Callable[..., PaymentShop]


@pytest.fixture
def open_shop(start_api: StartApi, provider_sandbox: BackgroundSandbox) -> Iterator[OpenShop]:
    """Start the API (settings overrides as keyword arguments), wire the sandbox's webhooks
    to it, and run a worker; everything stops after the test."""
    workers: list[RunningWorker] = []
    sandbox_url = provider_sandbox.base_url

    def open_(**overrides: str) -> PaymentShop:
        httpx.post(f"{sandbox_url}/_sandbox/reset", timeout=30).raise_for_status()
        api = start_api(**provider_settings(sandbox_url, **overrides))
        wiring = {
            "stripe_webhook_url": f"{api.base_url}/webhooks/stripe",
            "stripe_webhook_secret": STRIPE_WEBHOOK_SECRET,
            "razorpay_webhook_url": f"{api.base_url}/webhooks/razorpay",
            "razorpay_webhook_secret": RAZORPAY_WEBHOOK_SECRET,
        }
        httpx.post(f"{sandbox_url}/_sandbox/settings", json=wiring, timeout=30).raise_for_status()
        worker = start_worker(api)
        workers.append(worker)
        return PaymentShop(api, provider_sandbox, worker)

    yield open_
    # Let webhooks in flight land while the API still answers, then stop the worker.
    httpx.post(f"{sandbox_url}/_sandbox/webhooks/flush", json={"timeout": WAIT}, timeout=30)
    for worker in workers:
        worker.stop()
    httpx.post(f"{sandbox_url}/_sandbox/reset", timeout=30).raise_for_status()


@pytest.fixture
def shop(open_shop: OpenShop) -> PaymentShop:
    return open_shop()
