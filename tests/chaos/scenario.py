"""What customers, their banks and an operator do during a chaos run, seeded.

Many customers buy one or two units of a few hot skus with either provider, then pay (with
a card that works, one that is declined and then one that works), pay a hosted session (and
sometimes that session and the intent both), pay a Razorpay order twice, cancel, or walk
away and let the order expire. An operator refunds confirmed orders in parts, retrying with
the same Idempotency-Key as a careful client does, and sometimes re-sending a key it already
used. The provider side misbehaves too: webhooks duplicated, held back and released out of
order, resent; API calls answered 500 or left hanging.

Every client here behaves as a real one must against an engine that is being killed: a
request that fails in transport or with a 5xx is retried with the same Idempotency-Key.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import stripe

from application.catalog import CatalogEntry
from tests.chaos.evidence_clients import ClientHistory, Replay
from tests.chaos.stack import Stack

HOT_SKUS = [
    CatalogEntry("HOT-USD-1", "Limited print", "vendor-a", 2500, "USD", 60),
    CatalogEntry("HOT-USD-2", "Signed poster", "vendor-b", 1200, "USD", 40),
    CatalogEntry("HOT-INR-1", "Festival pass", "vendor-c", 90000, "INR", 50),
    CatalogEntry("HOT-INR-2", "Tasting menu", "vendor-c", 45000, "INR", 30),
]
SKUS_BY_PROVIDER = {
    "stripe": [e.sku for e in HOT_SKUS if e.currency == "USD"],
    "razorpay": [e.sku for e in HOT_SKUS if e.currency == "INR"],
}
RETRY_FOR = 90.0  # seconds a client keeps retrying one request while the engine is killed


class GaveUp(Exception):
    pass


@dataclass
class Placed:
    order_id: str
    payment_id: str
    customer: str
    provider: str
    amount: int
    currency: str


@dataclass
class Scenario:
    stack: Stack
    seed: int
    customers: int = 6
    operations: Counter[str] = field(default_factory=Counter)
    confirmed: list[Placed] = field(default_factory=list)
    history: ClientHistory = field(default_factory=ClientHistory)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._recent: deque[Placed] = deque(maxlen=50)  # what an attacker may have learnt
        self._http = httpx.Client(base_url=self.stack.api_base, timeout=15)
        self._stripe = stripe.StripeClient(
            self.stack.provider_environment["STRIPE_SECRET_KEY"],
            base_addresses={"api": f"{self.stack.sandbox_url}/stripe"},
            max_network_retries=0,
        )

    def start(self) -> None:
        for n in range(self.customers):
            rng = random.Random(f"{self.seed}:customer:{n}")
            self._spawn(f"chaos:customer-{n}", partial(self._customer, rng))
        operator = random.Random(f"{self.seed}:operator")
        self._spawn("chaos:operator", partial(self._operator, operator))

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=RETRY_FOR + 30)
        self._http.close()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._guarded(target), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    target()
                except GaveUp:
                    self._count("gave_up")
                except Exception as exc:  # a client bug must not end the run silently
                    self._count(f"client_error:{type(exc).__name__}")
                    time.sleep(0.5)

        return run

    def _count(self, what: str) -> None:
        with self._lock:
            self.operations[what] += 1

    # -- HTTP with retries ---------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, token: str, key: str | None = None, body: Any = None
    ) -> httpx.Response:
        """Retry transport errors and 5xx with the same key, as a careful client does."""
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                response = self._http.request(method, path, json=body, headers=headers)
                if response.status_code < 500:
                    return response
                self._count(f"http_{response.status_code}")
            except httpx.HTTPError:
                self._count("http_transport_error")
            if time.monotonic() >= deadline:
                raise GaveUp(f"{method} {path}")
            time.sleep(0.3)

    def _sandbox(self, method: str, path: str, body: Any = None) -> httpx.Response | None:
        try:
            return httpx.request(method, f"{self.stack.sandbox_url}{path}", json=body, timeout=20)
        except httpx.HTTPError:
            self._count("sandbox_transport_error")
            return None

    # -- a customer ----------------------------------------------------------------------------

    def _customer(self, rng: random.Random) -> None:
        provider = rng.choice(("stripe", "razorpay"))
        customer = f"customer-{uuid.UUID(int=rng.getrandbits(128))}"
        token = self.stack.token(customer)
        items = [{"sku": rng.choice(SKUS_BY_PROVIDER[provider]), "quantity": rng.randint(1, 2)}]
        key = str(uuid.UUID(int=rng.getrandbits(128)))
        body = {"items": items, "provider": provider}
        with self._lock:
            self.history.checkout_keys.setdefault(customer, set()).add(key)
        response = self._request("POST", "/checkout", token=token, key=key, body=body)
        self._answered(self.history.checkout_answers, (customer, key), response, "orderId")
        if rng.random() < 0.15:  # a double click: the same request again
            again = self._request("POST", "/checkout", token=token, key=key, body=body)
            self._answered(self.history.checkout_answers, (customer, key), again, "orderId")
            self._count("checkout_double_click")
            replay = Replay(
                customer, key, response.status_code, response.text, again.status_code, again.text
            )
            with self._lock:
                self.history.replays.append(replay)
        if response.status_code == 409:
            self._count("checkout_out_of_stock")
            time.sleep(rng.uniform(0.5, 2))
            return
        if response.status_code != 201:
            self._count(f"checkout_{response.status_code}")
            return
        self._count("checkout")
        answer = response.json()
        placed = Placed(
            answer["orderId"],
            answer["payment"]["paymentId"],
            customer,
            provider,
            answer["amount"],
            answer["currency"],
        )
        with self._lock:
            self._recent.append(placed)
        if provider == "razorpay" and rng.random() < 0.3:
            self._pay_for_someone_else(rng, placed)
        fate = rng.random()
        if fate < 0.08:
            self._cancel(placed, token)
        elif fate < 0.15:
            self._count("abandoned")  # left to expire (PAYMENT_TTL_SECONDS)
        elif provider == "stripe":
            self._pay_stripe(placed, token, rng)
        else:
            self._pay_razorpay(placed, token, rng)

    def _cancel(self, placed: Placed, token: str) -> None:
        answer = self._request("POST", f"/orders/{placed.order_id}/cancel", token=token)
        self._count(f"cancel_{answer.status_code}")

    def _payable(self, placed: Placed, token: str) -> dict[str, Any] | None:
        """The payment once the worker opened it at the provider (None: it never did)."""
        deadline = time.monotonic() + RETRY_FOR
        while time.monotonic() < deadline and not self._stop.is_set():
            answer = self._request("GET", f"/orders/{placed.order_id}/payments", token=token)
            if answer.status_code == 200:
                payment: dict[str, Any] = answer.json()
                if payment["status"] in ("pending", "failed") and payment["gatewayOrderId"]:
                    return payment
                if payment["status"] not in ("processing",):
                    return None
            time.sleep(0.3)
        self._count("never_payable")
        return None

    def _pay_stripe(self, placed: Placed, token: str, rng: random.Random) -> None:
        payment = self._payable(placed, token)
        if payment is None:
            return
        intent = payment["gatewayOrderId"]
        if rng.random() < 0.2:
            self._confirm(intent, "pm_card_chargeDeclined")
            self._count("stripe_declined")
        if rng.random() < 0.25:
            self._pay_hosted(placed, token, intent, rng)
            return
        self._confirm(intent, "pm_card_visa")
        self._count("stripe_paid")

    def _confirm(self, intent: str, payment_method: str) -> None:
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                self._stripe.v1.payment_intents.confirm(intent, {"payment_method": payment_method})
                return
            except stripe.CardError:
                return
            except stripe.InvalidRequestError:
                return  # already succeeded, or cancelled (expired meanwhile)
            except stripe.StripeError:
                self._count("stripe_confirm_retry")  # an injected 500 or a hang
            if time.monotonic() >= deadline:
                raise GaveUp("confirm")
            time.sleep(0.3)

    def _pay_hosted(self, placed: Placed, token: str, intent: str, rng: random.Random) -> None:
        path = f"/orders/{placed.order_id}/payments/checkout-session"
        answer = self._request("POST", path, token=token)
        if answer.status_code != 201:
            self._count(f"session_{answer.status_code}")
            return
        url = answer.json()["checkoutUrl"]
        paid = self._post_form(url)
        self._count("session_paid" if paid else "session_not_paid")
        if rng.random() < 0.3:  # the session and the engine's own intent both paid
            self._confirm(intent, "pm_card_visa")
            self._count("session_and_intent_paid")
        if rng.random() < 0.2:  # the same session paid again (a second tab)
            self._post_form(url)
            self._count("session_paid_twice")

    def _post_form(self, url: str) -> bool:
        try:
            return httpx.post(url, data={"action": "pay"}, timeout=20).status_code < 400
        except httpx.HTTPError:
            return False

    def _pay_razorpay(self, placed: Placed, token: str, rng: random.Random) -> None:
        payment = self._payable(placed, token)
        if payment is None:
            return
        order = payment["gatewayOrderId"]
        path = f"/razorpay/v1/sandbox/orders/{order}/pay"
        if rng.random() < 0.2:
            self._sandbox("POST", path, {"outcome": "failure"})
            self._count("razorpay_failed")
        if rng.random() < 0.3:  # checkout.js options are the page's: a smaller amount
            short = max(100, placed.amount - rng.choice((100, placed.amount // 2)))
            self._sandbox("POST", path, {"outcome": "success", "amount": short})
            self._count("razorpay_paid_short")
        answer = self._sandbox("POST", path, {"outcome": "success"})
        self._count("razorpay_paid" if answer is not None and answer.status_code == 200 else "x")
        if answer is not None and answer.status_code == 200 and rng.random() < 0.3:
            proof = answer.json()
            verified = self._request(
                "POST", f"/orders/{placed.order_id}/payments/verify", token=token, body=proof
            )
            self._count(f"razorpay_verify_{verified.status_code}")
        if rng.random() < 0.15:  # checkout.js opened twice: the order paid a second time
            self._sandbox("POST", path, {"outcome": "success", "allowDuplicate": True})
            self._count("razorpay_paid_twice")

    def _pay_for_someone_else(self, rng: random.Random, own: Placed) -> None:
        """An attacker pays with no order of theirs, naming another customer's payment and
        order in the notes, which checkout.js lets the customer set. The freshest orders
        are the likeliest still unpaid: the ones such a payment could wrongly confirm."""
        with self._lock:
            victims = [p for p in self._recent if p.provider == "razorpay" and p != own]
        if not victims:
            return
        victim = rng.choice(victims[-3:])
        notes = {"paymentId": victim.payment_id, "orderId": victim.order_id}
        body = {"outcome": "success", "notes": notes, "amount": victim.amount, "currency": "INR"}
        self._sandbox("POST", "/razorpay/v1/sandbox/payments/pay", body)
        self._count("razorpay_paid_for_someone_else")

    # -- the operator and the provider's own misbehaviour ------------------------------------

    def _operator(self, rng: random.Random) -> None:
        time.sleep(rng.uniform(0.5, 1.5))
        choice = rng.random()
        if choice < 0.4:
            self._refund_someone(rng)
        elif choice < 0.48:
            self._restock(rng)
        elif choice < 0.6:
            duplicate = rng.random() < 0.5
            self._sandbox("POST", "/_sandbox/settings", {"duplicate_webhooks": duplicate})
            self._count(f"webhooks_duplicate_{'on' if duplicate else 'off'}")
        elif choice < 0.75:
            self._sandbox("POST", "/_sandbox/webhooks/hold")
            time.sleep(rng.uniform(0.5, 3))
            order = rng.choice(("reverse", "random", "fifo"))
            self._sandbox(
                "POST", "/_sandbox/webhooks/release", {"order": order, "seed": rng.randint(0, 999)}
            )
            self._count(f"webhooks_released_{order}")
        elif choice < 0.85:
            self._resend_one(rng)
        else:
            self._provider_fault(rng)

    def _restock(self, rng: random.Random) -> None:
        """Units delivered: a sku's available units set again, which a retry may repeat
        (setting is idempotent; adding a delta would not be)."""
        sku = rng.choice(HOT_SKUS).sku
        body = {"available": rng.randint(10, 40)}
        path = f"/admin/products/{sku}/stock"
        answer = self._request("POST", path, token=self._admin_token(), body=body)
        self._count(f"restock_{answer.status_code}")

    def _admin_token(self) -> str:
        return self.stack.token("chaos-operator", ("admin",))

    def _refund_someone(self, rng: random.Random) -> None:
        listed = self._request("GET", "/admin/orders?limit=100", token=self._admin_token())
        if listed.status_code != 200:
            return
        candidates = [
            o
            for o in listed.json()["items"]
            if o["status"] in ("PAYMENT_CONFIRMED", "PARTIALLY_REFUNDED")
        ]
        if not candidates:
            return
        order = rng.choice(candidates)
        amount = max(1, order["amount"] // rng.choice((1, 2, 3, 4)))
        key = str(uuid.UUID(int=rng.getrandbits(128)))
        path = f"/admin/orders/{order['orderId']}/refunds"
        body = {"amount": amount, "reason": "chaos: customer asked"}
        with self._lock:
            self.history.refund_keys.setdefault(order["orderId"], set()).add(key)
        for _ in range(rng.choice((1, 1, 2, 3))):  # a retried request, the same key
            answer = self._request("POST", path, token=self._admin_token(), key=key, body=body)
            self._answered(self.history.refund_answers, (order["orderId"], key), answer, "refundId")
            self._count(f"refund_{answer.status_code}")

    def _answered(
        self,
        answers: dict[tuple[str, str], set[str]],
        at: tuple[str, str],
        response: httpx.Response,
        name: str,
    ) -> None:
        """Keep the id a 2xx named, for the checker's one-per-key invariants."""
        if response.status_code in (200, 201, 202):
            with self._lock:
                answers.setdefault(at, set()).add(str(response.json()[name]))

    def _resend_one(self, rng: random.Random) -> None:
        listed = self._sandbox("GET", "/_sandbox/events")
        if listed is None or listed.status_code != 200 or not listed.json()["events"]:
            return
        event = rng.choice(listed.json()["events"])
        self._sandbox("POST", "/_sandbox/webhooks/resend", {"event_id": event["id"]})
        self._count("webhook_resent")

    def _provider_fault(self, rng: random.Random) -> None:
        provider = rng.choice(("stripe", "razorpay"))
        prefix = (
            rng.choice(("/v1/payment_intents", "/v1/refunds", "/v1/checkout"))
            if (provider == "stripe")
            else rng.choice(("/v1/orders", "/v1/payments"))
        )
        rule: dict[str, object]
        if rng.random() < 0.6:
            rule = {"path_prefix": prefix, "status": rng.choice((500, 502, 503)), "count": 3}
            kind = "provider_5xx"
        else:
            rule = {"path_prefix": prefix, "delay_seconds": rng.uniform(2, 8), "count": 2}
            kind = "provider_hang"
        self._sandbox("POST", "/_sandbox/faults", {**rule, "provider": provider})
        self.stack.faults[kind] += 1

    def calm_provider(self) -> None:
        """The provider behaves again: no faults, no duplicates, nothing held back."""
        self._sandbox("DELETE", "/_sandbox/faults")
        self._sandbox("POST", "/_sandbox/settings", {"duplicate_webhooks": False})
        self._sandbox("POST", "/_sandbox/webhooks/release", {"order": "fifo"})
