"""Attacks on Razorpay matching, tried from outside: the customer controls checkout.js's
notes and amount and can pay twice; none of it confirms an order it did not pay for."""

from __future__ import annotations

import hashlib
import hmac
import json
from uuid import UUID

import httpx

from domain import Payment
from tests.e2e.payment_shop import RAZORPAY_WEBHOOK_SECRET, PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.stock_ledger import held_by_order
from tests.waiting import wait_until

VICTIM_ITEMS = [{"sku": "SKU-1", "quantity": 2}]  # 2 x 1250 = 2500
CHEAP_ITEMS = [{"sku": "SKU-2", "quantity": 1}]  # 499


def _review(shop: PaymentShop, gateway_payment_id: str) -> dict[str, object]:
    def found() -> dict[str, object] | None:
        rows = [r for r in shop.reviews() if r["gatewayPaymentId"] == gateway_payment_id]
        return rows[0] if rows else None

    review: dict[str, object] = wait_until(found, what=f"a review of {gateway_payment_id}")
    return review


def _still_unpaid(shop: PaymentShop, order_id: str, buyer: str) -> None:
    shop.flush()
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"
    assert shop.payment(order_id, buyer)["status"] == "pending"
    assert order_id in held_by_order(shop.api.container.app, "SKU-1")


def test_notes_naming_another_order_confirm_only_the_order_that_was_paid(
    shop: PaymentShop,
) -> None:
    victim, attacker = customer(), customer()
    victim_order = shop.checkout(victim, "razorpay", VICTIM_ITEMS)
    victim_payment = shop.payable(victim_order, victim)
    own_order = shop.checkout(attacker, "razorpay", CHEAP_ITEMS)
    own = shop.payable(own_order, attacker)

    notes = {"paymentId": victim_payment["paymentId"], "orderId": victim_order}
    paid = shop.pay_razorpay(own["gatewayOrderId"], notes=notes)

    assert paid.status_code == 200, paid.text
    shop.wait_order(own_order, attacker, "PAYMENT_CONFIRMED")
    _still_unpaid(shop, victim_order, victim)


def test_a_payment_with_no_order_is_recorded_for_review_and_confirms_nothing(
    shop: PaymentShop,
) -> None:
    victim = customer()
    victim_order = shop.checkout(victim, "razorpay", VICTIM_ITEMS)
    victim_payment = shop.payable(victim_order, victim)

    paid = httpx.post(
        f"{shop.sandbox_url}/razorpay/v1/sandbox/payments/pay",
        json={
            "amount": 499,
            "currency": "USD",
            "notes": {"paymentId": victim_payment["paymentId"]},
        },
        timeout=30,
    )

    assert paid.status_code == 200, paid.text
    stray = paid.json()["razorpay_payment_id"]
    review = _review(shop, stray)
    assert review["kind"] == "foreign"
    assert (review["amount"], review["currency"]) == (499, "USD")
    assert review["orderId"] is None
    assert review["refundStatus"] is None  # not the engine's to refund: a person decides
    _still_unpaid(shop, victim_order, victim)
    metrics = shop.api.client.get("/metrics").text
    assert (
        'checkout_capture_reviews{kind="foreign",provider="razorpay",refund_status="none"} 1.0'
        in (metrics)
    )


def test_a_payment_of_the_wrong_amount_is_refunded_and_the_order_stays_payable(
    shop: PaymentShop,
) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "razorpay", VICTIM_ITEMS)
    gateway_order_id = shop.payable(order_id, buyer)["gatewayOrderId"]

    cheap = shop.pay_razorpay(gateway_order_id, amount=499)

    assert cheap.status_code == 200, cheap.text
    cheap_id = cheap.json()["razorpay_payment_id"]
    review = _review(shop, cheap_id)
    assert review["kind"] == "mismatch"
    assert review["orderId"] == order_id
    wait_until(
        lambda: _review(shop, cheap_id)["refundStatus"] == "succeeded",
        what="the mismatched charge refunded",
    )
    assert [r["amount"] for r in shop.refunds_at_provider("razorpay", cheap_id)] == [499]
    _still_unpaid(shop, order_id, buyer)
    settled = [("mismatch", 499, "succeeded", "system")]
    wait_until(
        lambda: (
            [(r["kind"], r["amount"], r["status"], r["actor"]) for r in shop.refunds(order_id)]
            == settled
        ),
        what="the mismatch refund listed as succeeded",
    )

    # The customer then pays the real amount: that, and only that, confirms the order.
    assert shop.pay_razorpay(gateway_order_id, amount=2500).status_code == 200
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")
    assert shop.payment(order_id, buyer)["refundedAmount"] == 0


def test_a_second_payment_on_a_paid_order_is_refunded_automatically(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "razorpay", VICTIM_ITEMS)
    gateway_order_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    first = shop.pay_razorpay(gateway_order_id).json()["razorpay_payment_id"]
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")

    second = shop.pay_razorpay(gateway_order_id, allowDuplicate=True)

    assert second.status_code == 200, second.text
    second_id = second.json()["razorpay_payment_id"]
    assert _review(shop, second_id)["kind"] == "duplicate"
    wait_until(
        lambda: [r["amount"] for r in shop.refunds_at_provider("razorpay", second_id)] == [2500],
        what="the second charge refunded",
    )
    assert shop.refunds_at_provider("razorpay", first) == []
    payment = shop.wait_payment(order_id, buyer, "succeeded")
    assert payment["gatewayPaymentId"] == first
    assert payment["refundedAmount"] == 0
    assert shop.order(order_id, buyer)["status"] == "PAYMENT_CONFIRMED"


def _signed_post(shop: PaymentShop, body: bytes, event_id: str) -> httpx.Response:
    signature = hmac.new(RAZORPAY_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return shop.api.client.post(
        "/webhooks/razorpay",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Razorpay-Signature": signature,
            "X-Razorpay-Event-Id": event_id,
        },
    )


def test_a_signed_body_replayed_under_new_event_ids_has_one_effect(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "razorpay", VICTIM_ITEMS)
    gateway_order_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    assert shop.pay_razorpay(gateway_order_id, "failure").status_code == 400
    shop.wait_payment(order_id, buyer, "failed")
    shop.flush()
    failed = [e for e in shop.inbox_entries("razorpay") if e.event_type == "payment.failed"]
    assert len(failed) == 1
    body = failed[0].body
    payment_id = Payment.id_for(UUID(order_id))
    version = shop.api.container.app.load(Payment, payment_id).version

    answers = [_signed_post(shop, body, f"evt_replay_{n}") for n in range(50)]

    assert {a.status_code for a in answers} == {200}
    assert all(a.json()["duplicate"] for a in answers)
    assert len([e for e in shop.inbox_entries("razorpay") if e.body == body]) == 1
    payment = shop.api.container.app.load(Payment, payment_id)
    assert payment.version == version
    assert [a["outcome"] for a in payment.attempts] == ["failed"]
    # A payment that then succeeds stays succeeded, however often the failure is replayed.
    assert shop.pay_razorpay(gateway_order_id).status_code == 200
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")
    assert _signed_post(shop, body, "evt_replay_late").status_code == 200
    assert _signed_post(shop, json.dumps(json.loads(body)).encode() + b" ", "x").json()[
        "status"
    ] in ("processed", "ignored")
    assert shop.wait_payment(order_id, buyer, "succeeded")["failureReason"] is None
