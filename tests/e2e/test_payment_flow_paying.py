"""Paying an order end to end: checkout over HTTP, the worker opens the payment at the
provider, the customer pays in the sandbox, the signed webhook confirms the order."""

from __future__ import annotations

import httpx
import pytest

from infrastructure.webhooks.inbox import InboxStatus
from tests.e2e.payment_shop import PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.stock_ledger import held_by_order


def _assert_confirmed(shop: PaymentShop, order_id: str, buyer: str, quantity: int) -> None:
    order = shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")
    assert order["payment"]["status"] == "succeeded"
    stock = shop.api.stock("SKU-1")
    assert order_id not in held_by_order(shop.api.container.app, "SKU-1"), "it was committed"
    assert stock.on_hand == 100 - quantity


def test_a_stripe_card_payment_confirms_the_order(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    payment = shop.payable(order_id, buyer)
    intent_id = payment["gatewayOrderId"]
    assert intent_id.startswith("pi_")
    assert payment["gatewayPaymentId"] == intent_id
    assert payment["metadata"]["stripeClientSecret"].startswith(f"{intent_id}_secret_")

    assert shop.confirm_card(intent_id) == "succeeded"

    _assert_confirmed(shop, order_id, buyer, 2)
    paid = shop.wait_payment(order_id, buyer, "succeeded")
    assert paid["gatewayPaymentId"] == intent_id
    assert paid["failureReason"] is None
    shop.flush()
    recorded = {e.event_type: e for e in shop.inbox_entries("stripe")}
    assert recorded["payment_intent.succeeded"].status is InboxStatus.PROCESSED
    # Types the engine never acts on were answered, not stored.
    assert "charge.succeeded" not in recorded
    assert "payment_intent.created" not in recorded


def test_a_razorpay_payment_is_verified_and_confirmed_by_its_webhook(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "razorpay")
    payment = shop.payable(order_id, buyer)
    assert payment["razorpayKeyId"] == "rzp_test_E2ePayments01"
    assert payment["gatewayOrderId"].startswith("order_")

    paid = shop.pay_razorpay(payment["gatewayOrderId"])
    assert paid.status_code == 200, paid.text
    proof = paid.json()
    verified = shop.verify(order_id, buyer, proof)

    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True
    assert verified.json()["status"] in ("pending", "succeeded")
    _assert_confirmed(shop, order_id, buyer, 2)
    settled = shop.wait_payment(order_id, buyer, "succeeded")
    assert settled["gatewayPaymentId"] == proof["razorpay_payment_id"]
    shop.flush()
    statuses = {e.event_type: e.status for e in shop.inbox_entries("razorpay")}
    # payment.authorized is stored since manual capture acts on it (adr/0027); for this
    # auto-captured order it changes nothing.
    assert statuses == {
        "payment.authorized": InboxStatus.IGNORED,
        "payment.captured": InboxStatus.PROCESSED,
        "order.paid": InboxStatus.PROCESSED,
    }


def test_a_stripe_hosted_checkout_session_confirms_the_order(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe", [{"sku": "SKU-1", "quantity": 3}])
    shop.payable(order_id, buyer)

    created = shop.api.client.post(
        f"/orders/{order_id}/payments/checkout-session", headers=shop.api.auth(buyer)
    )

    assert created.status_code == 201, created.text
    session = created.json()
    assert session["sessionId"].startswith("cs_test_")
    page = httpx.get(session["checkoutUrl"], timeout=30)
    assert "Espresso cup" in page.text
    paid = httpx.post(session["checkoutUrl"], data={"action": "pay"}, timeout=30)
    assert paid.status_code == 303
    assert paid.headers["location"] == (
        f"{shop.api.base_url}/storefront/orders/{order_id}?checkout=success"
    )
    _assert_confirmed(shop, order_id, buyer, 3)
    shop.flush()
    completed = [e for e in shop.inbox_entries("stripe") if e.event_type.startswith("checkout.")]
    assert [(e.event_type, e.status) for e in completed] == [
        ("checkout.session.completed", InboxStatus.PROCESSED)
    ]
    # Well inside the API's 64 KiB body limit, like Stripe's own events of these types.
    assert max(len(e.body) for e in shop.inbox_entries()) < 16 * 1024


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
def test_a_declined_payment_leaves_the_order_payable_and_a_retry_succeeds(
    shop: PaymentShop, provider: str
) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, provider)
    gateway_order_id = shop.payable(order_id, buyer)["gatewayOrderId"]

    if provider == "stripe":
        assert shop.confirm_card(gateway_order_id, "pm_card_chargeDeclined") == "declined"
    else:
        assert shop.pay_razorpay(gateway_order_id, "failure").status_code == 400

    failed = shop.wait_payment(order_id, buyer, "failed")
    assert failed["failureReason"]
    if provider == "stripe":
        assert failed["failureReason"].startswith("card_declined (generic_decline)")
    else:
        assert "declined by the bank" in failed["failureReason"]
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"
    assert order_id in held_by_order(shop.api.container.app, "SKU-1")

    if provider == "stripe":
        assert shop.confirm_card(gateway_order_id) == "succeeded"
    else:
        assert shop.pay_razorpay(gateway_order_id).status_code == 200

    _assert_confirmed(shop, order_id, buyer, 2)
    assert shop.wait_payment(order_id, buyer, "succeeded")["failureReason"] is None
