"""The Razorpay adapter: the gateway contract, plus what only Razorpay does."""

from __future__ import annotations

import uuid

import pytest

from application.ports import (
    PaymentGateway,
    PermanentProviderError,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefundRequest,
)
from tests.integration.payments.sandbox import RAZORPAY_KEY_ID, ProviderSandbox
from tests.integration.payments.sandbox_contract import SandboxGatewayContract


class TestRazorpayGateway(SandboxGatewayContract):
    currency = "INR"
    order_id_pattern = r"order_[A-Za-z0-9]{14}"
    refund_id_pattern = r"rfnd_[A-Za-z0-9]{14}"
    create_path = "/v1/orders"
    unknown_payment_id = "pay_Unknown0000001"
    refund_path = "/v1/payments"

    def make_gateway(
        self, sandbox: ProviderSandbox, timeout: float = 10.0, base: str | None = None
    ) -> PaymentGateway:
        return sandbox.razorpay_gateway(timeout, f"{base}/razorpay" if base else None)

    def objects_for(self, sandbox: ProviderSandbox, request: ProviderOrderRequest) -> list[str]:
        return [o["id"] for o in sandbox.razorpay_orders_for(str(request.payment_id))]

    def pay(self, sandbox: ProviderSandbox, order: ProviderOrder) -> str:
        return sandbox.pay_razorpay(order.gateway_order_id)

    def assert_payable_shape(self, order: ProviderOrder) -> None:
        assert order.key_id == RAZORPAY_KEY_ID
        assert (order.gateway_payment_id, order.client_secret) == (None, None)

    def assert_cancelled(self, sandbox: ProviderSandbox, order: ProviderOrder) -> None:
        # Razorpay cannot cancel an order: it stays as it was (documented no-op).
        assert sandbox.razorpay_order(order.gateway_order_id)["status"] == "created"

    def refunds_of(self, sandbox: ProviderSandbox, gateway_payment_id: str) -> list[str]:
        return [r["id"] for r in sandbox.razorpay_refunds_of(gateway_payment_id)]


def test_the_order_carries_receipt_and_notes(sandbox: ProviderSandbox) -> None:
    request = ProviderOrderRequest(uuid.uuid4(), uuid.uuid4(), 19900, "INR")

    order = sandbox.razorpay_gateway().create_order(request)

    stored = sandbox.razorpay_order(order.gateway_order_id)
    assert (stored["amount"], stored["currency"]) == (19900, "INR")
    assert stored["receipt"] == str(request.payment_id)
    assert stored["notes"] == {
        "orderId": str(request.order_id),
        "paymentId": str(request.payment_id),
    }


def test_a_refund_id_too_long_for_a_receipt_is_found_by_its_notes(
    sandbox: ProviderSandbox,
) -> None:
    gateway = sandbox.razorpay_gateway()
    order = gateway.create_order(ProviderOrderRequest(uuid.uuid4(), uuid.uuid4(), 50000, "INR"))
    paid = sandbox.pay_razorpay(order.gateway_order_id)
    request = ProviderRefundRequest(uuid.uuid4(), "late-success:" + "x" * 40, paid, 50000, "INR")

    first = gateway.refund(request)
    again = gateway.refund(request)

    assert again == first
    [refund] = sandbox.razorpay_refunds_of(paid)
    assert refund["notes"] == {"refundId": request.refund_id, "paymentId": str(request.payment_id)}
    assert refund["receipt"] is None


def test_three_decimal_amounts_must_end_in_zero(sandbox: ProviderSandbox) -> None:
    with pytest.raises(PermanentProviderError):
        sandbox.razorpay_gateway().create_order(
            ProviderOrderRequest(uuid.uuid4(), uuid.uuid4(), 12345, "KWD")
        )
