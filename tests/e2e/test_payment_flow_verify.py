"""The customer-side endpoints: Razorpay's payment proof, Stripe's hosted Checkout page."""

from __future__ import annotations

from typing import Any

from tests.e2e.payment_shop import OpenShop, PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop


def _paid_razorpay_order(shop: PaymentShop, buyer: str) -> tuple[str, dict[str, Any]]:
    order_id = shop.checkout(buyer, "razorpay")
    gateway_order_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    paid = shop.pay_razorpay(gateway_order_id)
    assert paid.status_code == 200, paid.text
    proof: dict[str, Any] = paid.json()
    return order_id, proof


def test_verify_accepts_only_a_genuine_proof_for_this_order(shop: PaymentShop) -> None:
    buyer = customer()
    order_id, proof = _paid_razorpay_order(shop, buyer)
    other_id, other_proof = _paid_razorpay_order(shop, buyer)

    good = shop.verify(order_id, buyer, proof)
    tampered = shop.verify(order_id, buyer, proof | {"razorpay_signature": "f" * 64})
    other_order = shop.verify(order_id, buyer, other_proof)

    assert good.status_code == 200, good.text
    assert good.json()["verified"] is True
    assert tampered.status_code == 400
    assert tampered.json()["errors"][0]["field"] == "razorpay_signature"
    # Another order's proof is genuine, but not for this order.
    assert other_order.status_code == 400
    assert other_order.json()["errors"][0]["field"] == "razorpay_order_id"
    assert shop.verify(other_id, buyer, other_proof).status_code == 200
    assert shop.verify(order_id, customer(), proof).status_code == 404
    camel = {"razorpayOrderId": proof["razorpay_order_id"]}
    assert shop.verify(order_id, buyer, camel).status_code == 400
    stripe_order = shop.checkout(buyer, "stripe")
    assert shop.verify(stripe_order, buyer, proof).status_code == 422


def test_verify_refuses_a_genuine_proof_of_the_wrong_amount(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "razorpay")
    gateway_order_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    cheap = shop.pay_razorpay(gateway_order_id, amount=499)
    assert cheap.status_code == 200, cheap.text

    verified = shop.verify(order_id, buyer, cheap.json())

    # The signature is genuine (checkout.js signs order and payment ids, not the amount).
    assert verified.status_code == 400, verified.text
    assert verified.json()["errors"][0]["field"] == "razorpay_payment_id"
    assert "paid 499 USD" in verified.json()["errors"][0]["message"]


def test_checkout_sessions_only_for_unpaid_stripe_orders_and_safe_return_urls(
    open_shop: OpenShop,
) -> None:
    shop = open_shop(CORS_ORIGINS="https://shop.example")
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    path = f"/orders/{order_id}/payments/checkout-session"
    headers = shop.api.auth(buyer)

    elsewhere = shop.api.client.post(
        path, json={"successUrl": "https://evil.example/phish"}, headers=headers
    )
    assert elsewhere.status_code == 400
    assert elsewhere.json()["errors"][0]["field"] == "successUrl"
    sneaky = shop.api.client.post(
        path, json={"cancelUrl": "https://shop.example@evil.example/"}, headers=headers
    )
    assert sneaky.status_code == 400

    allowed = shop.api.client.post(
        path,
        json={
            "successUrl": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
            "cancelUrl": f"{shop.api.base_url}/cart",
        },
        headers=headers,
    )
    assert allowed.status_code == 201, allowed.text
    session = shop.stripe.v1.checkout.sessions.retrieve(allowed.json()["sessionId"])
    assert session.success_url == "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}"
    assert session.amount_total == 2500
    assert session.metadata is not None
    assert session.metadata["orderId"] == order_id

    razorpay_order = shop.checkout(buyer, "razorpay")
    wrong = shop.api.client.post(
        f"/orders/{razorpay_order}/payments/checkout-session", headers=headers
    )
    assert wrong.status_code == 422
    assert shop.api.client.post(f"/orders/{order_id}/cancel", headers=headers).status_code == 200
    assert shop.api.client.post(path, headers=headers).status_code == 409
    assert shop.api.client.post(path, headers=shop.api.auth(customer())).status_code == 404
