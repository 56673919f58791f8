"""The Stripe adapter: the gateway contract, plus what only Stripe does."""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest

from application.ports import (
    CheckoutSessionLine,
    CheckoutSessionRequest,
    PaymentGateway,
    PermanentProviderError,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefundRequest,
)
from infrastructure.payments.stripe.client import StripeCheckoutSessions, stripe_client
from tests.integration.payments.sandbox import STRIPE_KEY, ProviderSandbox
from tests.integration.payments.sandbox_contract import SandboxGatewayContract


class TestStripeGateway(SandboxGatewayContract):
    currency = "USD"
    order_id_pattern = r"pi_[A-Za-z0-9]{24}"
    refund_id_pattern = r"re_[A-Za-z0-9]{24}"
    create_path = "/v1/payment_intents"
    unknown_payment_id = "pi_unknown0000000000000"
    refund_path = "/v1/refunds"

    def make_gateway(
        self, sandbox: ProviderSandbox, timeout: float = 10.0, base: str | None = None
    ) -> PaymentGateway:
        return sandbox.stripe_gateway(timeout, f"{base}/stripe" if base else None)

    def objects_for(self, sandbox: ProviderSandbox, request: ProviderOrderRequest) -> list[str]:
        return [i["id"] for i in sandbox.stripe_intents_for(str(request.payment_id))]

    def pay(self, sandbox: ProviderSandbox, order: ProviderOrder) -> str:
        return sandbox.pay_stripe(order.gateway_order_id)

    def assert_payable_shape(self, order: ProviderOrder) -> None:
        assert order.gateway_payment_id == order.gateway_order_id
        assert order.client_secret is not None
        assert order.client_secret.startswith(f"{order.gateway_order_id}_secret_")
        assert order.key_id is None

    def assert_cancelled(self, sandbox: ProviderSandbox, order: ProviderOrder) -> None:
        assert sandbox.stripe_intent(order.gateway_order_id)["status"] == "canceled"

    def refunds_of(self, sandbox: ProviderSandbox, gateway_payment_id: str) -> list[str]:
        return [r["id"] for r in sandbox.stripe_refunds_of(gateway_payment_id)]


def _request(amount: int, currency: str) -> ProviderOrderRequest:
    return ProviderOrderRequest(uuid.uuid4(), uuid.uuid4(), amount, currency)


def test_the_intent_carries_the_order_and_payment_ids(sandbox: ProviderSandbox) -> None:
    request = _request(1250, "EUR")

    order = sandbox.stripe_gateway().create_order(request)

    intent = sandbox.stripe_intent(order.gateway_order_id)
    assert (intent["amount"], intent["currency"]) == (1250, "eur")
    assert intent["metadata"] == {
        "orderId": str(request.order_id),
        "paymentId": str(request.payment_id),
    }


@pytest.mark.parametrize(
    ("amount", "currency", "stripe_amount"),
    [(500, "JPY", 500), (5, "ISK", 500), (500, "MGA", 5), (1250, "KWD", 1250), (99, "UGX", 99)],
)
def test_amounts_are_written_the_way_stripe_reads_them(
    sandbox: ProviderSandbox, amount: int, currency: str, stripe_amount: int
) -> None:
    order = sandbox.stripe_gateway().create_order(_request(amount, currency))
    assert sandbox.stripe_intent(order.gateway_order_id)["amount"] == stripe_amount


@pytest.mark.parametrize(("amount", "currency"), [(550, "MGA"), (1255, "KWD")])
def test_amounts_stripe_cannot_express_are_refused_not_rounded(
    sandbox: ProviderSandbox, amount: int, currency: str
) -> None:
    request = _request(amount, currency)
    with pytest.raises(PermanentProviderError):
        sandbox.stripe_gateway().create_order(request)
    assert sandbox.stripe_intents_for(str(request.payment_id)) == []


def test_a_refund_is_tagged_with_its_refund_and_payment_ids(sandbox: ProviderSandbox) -> None:
    gateway = sandbox.stripe_gateway()
    paid = sandbox.pay_stripe(gateway.create_order(_request(5000, "USD")).gateway_order_id)
    request = ProviderRefundRequest(uuid.uuid4(), str(uuid.uuid4()), paid, 1000, "USD")

    gateway.refund(request)

    [refund] = sandbox.stripe_refunds_of(paid)
    assert refund["metadata"] == {
        "refundId": request.refund_id,
        "paymentId": str(request.payment_id),
    }


def test_a_paid_intent_cannot_be_cancelled(sandbox: ProviderSandbox) -> None:
    gateway = sandbox.stripe_gateway()
    order = gateway.create_order(_request(1000, "USD"))
    sandbox.pay_stripe(order.gateway_order_id)

    with pytest.raises(PermanentProviderError, match="succeeded"):
        gateway.cancel(order.gateway_order_id)


def test_checkout_session_opens_a_hosted_page(sandbox: ProviderSandbox) -> None:
    sessions = StripeCheckoutSessions(stripe_client(STRIPE_KEY, sandbox.stripe_base))
    request = CheckoutSessionRequest(
        payment_id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        currency="USD",
        lines=(CheckoutSessionLine("Mug", 2, 1250), CheckoutSessionLine("Tee", 1, 2000)),
        success_url="https://shop.example/paid",
        cancel_url="https://shop.example/cancelled",
        expires_at=int(time.time()) + 3600,
    )

    session = sessions.create(request)
    again = sessions.create(request)  # a retry, or a racing request, for the same session

    assert session.session_id.startswith("cs_test_")
    assert again == session
    assert session.expires_at == request.expires_at
    assert session.url == f"{sandbox.stripe_base}/pay/{session.session_id}"
    with sandbox.store.lock:
        stored = dict(sandbox.store.stripe.checkout_sessions[session.session_id])
    assert stored["amount_total"] == 4500
    assert stored["client_reference_id"] == str(request.order_id)
    assert stored["metadata"]["paymentId"] == str(request.payment_id)
    assert sessions.expire(session.session_id) == "expired"
    assert sessions.expire(session.session_id) == "expired", "expiring twice is done"
    following = sessions.create(dataclasses.replace(request, attempt=1))
    assert following.session_id != session.session_id
