"""The provider sandbox for adapter and worker tests: one server, fault controls, and the
customer's side of paying (what stripe.js and checkout.js would do in a browser)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from infrastructure.payments.razorpay.client import RazorpayGateway, razorpay_client
from infrastructure.payments.stripe.client import StripeGateway, stripe_client
from sandbox.server import BackgroundSandbox
from sandbox.store import SandboxStore

STRIPE_KEY = "sk_test_engine_tests"
RAZORPAY_KEY_ID = "rzp_test_EngineTests01"
RAZORPAY_KEY_SECRET = "engine_tests_secret"


@dataclass(frozen=True)
class ProviderSandbox:
    server: BackgroundSandbox

    @property
    def url(self) -> str:
        return self.server.base_url

    @property
    def stripe_base(self) -> str:
        return f"{self.url}/stripe"

    @property
    def razorpay_base(self) -> str:
        return f"{self.url}/razorpay"

    @property
    def store(self) -> SandboxStore:
        store: SandboxStore = self.server.app.state.sandbox.store
        return store

    def stripe_gateway(self, timeout: float = 10.0, base: str | None = None) -> StripeGateway:
        return StripeGateway(stripe_client(STRIPE_KEY, base or self.stripe_base, timeout))

    def razorpay_gateway(self, timeout: float = 10.0, base: str | None = None) -> RazorpayGateway:
        client = razorpay_client(
            RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, base or self.razorpay_base, timeout
        )
        return RazorpayGateway(client, RAZORPAY_KEY_ID)

    def control(self, method: str, path: str, json: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox{path}", json=json, timeout=30)
        response.raise_for_status()
        return response.json()

    def fault(
        self,
        path_prefix: str,
        status: int | None = None,
        count: int | None = 1,
        delay_seconds: float = 0.0,
        method: str | None = None,
    ) -> None:
        rule: dict[str, Any] = {"path_prefix": path_prefix, "count": count}
        if status is not None:
            rule["status"] = status
        if delay_seconds:
            rule["delay_seconds"] = delay_seconds
        if method is not None:
            rule["method"] = method
        self.control("POST", "/faults", json=rule)

    def forget_idempotency_keys(self) -> None:
        """What Stripe does 24 hours after a request: the key no longer replays it."""
        with self.store.lock:
            self.store.stripe.idempotency.clear()

    def faults_left(self) -> list[dict[str, Any]]:
        faults: list[dict[str, Any]] = self.control("GET", "/faults")["faults"]
        return faults

    # -- what exists at the providers ------------------------------------------------------

    def stripe_intents_for(self, payment_id: str) -> list[dict[str, Any]]:
        with self.store.lock:
            intents = self.store.stripe.payment_intents.values()
            return [dict(i) for i in intents if i["metadata"].get("paymentId") == payment_id]

    def stripe_intent(self, intent_id: str) -> dict[str, Any]:
        with self.store.lock:
            return dict(self.store.stripe.payment_intents[intent_id])

    def razorpay_orders_for(self, payment_id: str) -> list[dict[str, Any]]:
        with self.store.lock:
            orders = self.store.razorpay.orders.values()
            return [dict(o) for o in orders if o["receipt"] == payment_id]

    def razorpay_order(self, order_id: str) -> dict[str, Any]:
        with self.store.lock:
            return dict(self.store.razorpay.orders[order_id])

    def stripe_refunds_of(self, intent_id: str) -> list[dict[str, Any]]:
        with self.store.lock:
            refunds = self.store.stripe.refunds.values()
            return [dict(r) for r in refunds if r["payment_intent"] == intent_id]

    def razorpay_refunds_of(self, payment_id: str) -> list[dict[str, Any]]:
        with self.store.lock:
            refunds = self.store.razorpay.refunds.values()
            return [dict(r) for r in refunds if r["payment_id"] == payment_id]

    # -- the customer's side ---------------------------------------------------------------

    def pay_stripe(self, intent_id: str, payment_method: str = "pm_card_visa") -> str:
        """stripe.confirmCardPayment: returns the intent id, which is what gets refunded."""
        response = httpx.post(
            f"{self.stripe_base}/v1/payment_intents/{intent_id}/confirm",
            data={"payment_method": payment_method},
            headers={"Authorization": f"Bearer {STRIPE_KEY}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "succeeded"
        return intent_id

    def pay_razorpay(self, order_id: str) -> str:
        """checkout.js: returns the captured razorpay_payment_id."""
        response = httpx.post(
            f"{self.razorpay_base}/v1/sandbox/orders/{order_id}/pay",
            json={"outcome": "success"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        payment_id: str = response.json()["razorpay_payment_id"]
        return payment_id


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[BackgroundSandbox]:
    server = BackgroundSandbox().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: BackgroundSandbox) -> Iterator[ProviderSandbox]:
    """The shared sandbox with no faults armed, before and after the test."""
    handle = ProviderSandbox(sandbox_server)
    handle.control("DELETE", "/faults")
    yield handle
    handle.control("DELETE", "/faults")
