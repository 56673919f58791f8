"""What a customer controls at Razorpay checkout: notes, amount, currency, a second payment,
and payments without an order; and a refund made in the dashboard, without the engine's notes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import razorpay

from .conftest import RAZORPAY_WEBHOOK_SECRET, Sandbox, unique


def _order(client: razorpay.Client, amount: int = 50000) -> dict[str, Any]:
    receipt = unique("rcpt")
    order: dict[str, Any] = client.order.create(
        {"amount": amount, "currency": "INR", "receipt": receipt, "notes": {"orderId": receipt}}
    )
    return order


def _pay(sandbox: Sandbox, order_id: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{sandbox.razorpay_base}/v1/sandbox/orders/{order_id}/pay", json=body)


def _pay_without_order(sandbox: Sandbox, **body: Any) -> httpx.Response:
    return httpx.post(f"{sandbox.razorpay_base}/v1/sandbox/payments/pay", json=body)


def _settled_bodies(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Every Razorpay webhook once the sandbox has delivered all it queued, signatures checked."""
    sandbox.control("POST", "/webhooks/flush", json={"timeout": 10})
    webhooks = sandbox.receiver.received("/razorpay")
    utility = razorpay.Utility()
    for webhook in webhooks:
        signature = webhook.header("X-Razorpay-Signature")
        assert utility.verify_webhook_signature(
            webhook.body.decode(), signature, RAZORPAY_WEBHOOK_SECRET
        )
    return [json.loads(w.body) for w in webhooks]


def _events(bodies: list[dict[str, Any]]) -> list[str]:
    return [b["event"] for b in bodies]


def test_payment_notes_are_checkouts_not_the_orders(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client)

    plain = _pay(sandbox, order["id"], outcome="failure").json()["error"]["metadata"]
    noted = _pay(sandbox, order["id"], notes={"paymentId": "attacker-chosen"}).json()

    assert order["notes"] != []
    assert razorpay_client.payment.fetch(plain["payment_id"])["notes"] == []
    payment = razorpay_client.payment.fetch(noted["razorpay_payment_id"])
    assert payment["notes"] == {"paymentId": "attacker-chosen"}
    captured = [b for b in _settled_bodies(sandbox) if b["event"] == "payment.captured"]
    assert captured[0]["payload"]["payment"]["entity"]["notes"] == {"paymentId": "attacker-chosen"}


def test_payment_notes_are_validated_like_razorpays(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client)

    too_many = _pay(sandbox, order["id"], notes={f"k{i}": "v" for i in range(16)})
    not_a_map = _pay(sandbox, order["id"], notes="paymentId")

    assert too_many.status_code == not_a_map.status_code == 400
    assert too_many.json()["error"]["field"] == "notes"


def test_a_tampered_amount_is_paid_signed_and_leaves_the_order_unpaid(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, amount=50000)

    handed_over = _pay(sandbox, order["id"], amount=100).json()

    assert razorpay_client.utility.verify_payment_signature(handed_over) is True
    payment = razorpay_client.payment.fetch(handed_over["razorpay_payment_id"])
    assert (payment["amount"], payment["status"], payment["order_id"]) == (
        100,
        "captured",
        order["id"],
    )
    after = razorpay_client.order.fetch(order["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("attempted", 100, 49900)
    assert _events(_settled_bodies(sandbox)) == ["payment.authorized", "payment.captured"]


def test_paying_the_rest_of_a_short_paid_order_pays_it(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, amount=50000)
    _pay(sandbox, order["id"], amount=20000)

    rest = _pay(sandbox, order["id"]).json()

    assert razorpay_client.payment.fetch(rest["razorpay_payment_id"])["amount"] == 30000
    after = razorpay_client.order.fetch(order["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("paid", 50000, 0)
    bodies = _settled_bodies(sandbox)
    assert _events(bodies).count("order.paid") == 1
    assert bodies[-1]["payload"]["payment"]["entity"]["id"] == rest["razorpay_payment_id"]


def test_a_payment_in_another_currency_does_not_pay_the_order(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, amount=50000)

    handed_over = _pay(sandbox, order["id"], currency="usd").json()

    payment = razorpay_client.payment.fetch(handed_over["razorpay_payment_id"])
    assert (payment["amount"], payment["currency"]) == (50000, "USD")
    after = razorpay_client.order.fetch(order["id"])
    assert (after["status"], after["amount_paid"]) == ("attempted", 0)
    assert "order.paid" not in _events(_settled_bodies(sandbox))


def test_a_paid_order_refuses_another_payment_unless_told_to_allow_a_duplicate(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, amount=50000)
    first = _pay(sandbox, order["id"]).json()

    refused = _pay(sandbox, order["id"])
    second = _pay(sandbox, order["id"], allowDuplicate=True).json()

    assert refused.status_code == 400
    assert "already been paid" in refused.json()["error"]["description"]
    assert second["razorpay_payment_id"] != first["razorpay_payment_id"]
    assert razorpay_client.utility.verify_payment_signature(second) is True
    payment = razorpay_client.payment.fetch(second["razorpay_payment_id"])
    assert (payment["status"], payment["amount"]) == ("captured", 50000)
    listed = razorpay_client.order.payments(order["id"])["items"]
    assert {p["id"] for p in listed} == {first["razorpay_payment_id"], payment["id"]}
    assert razorpay_client.order.fetch(order["id"])["status"] == "paid"
    assert _events(_settled_bodies(sandbox)) == [
        "payment.authorized",
        "payment.captured",
        "order.paid",
        "payment.authorized",
        "payment.captured",
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 99},
        {"amount": "lots"},
        {"currency": "rupees"},
        {"allowDuplicate": "yes"},
        {"outcome": "maybe"},
        {"colour": "blue"},
    ],
)
def test_pay_rejects_malformed_bodies(
    sandbox: Sandbox, razorpay_client: razorpay.Client, body: dict[str, Any]
) -> None:
    order = _order(razorpay_client)

    response = _pay(sandbox, order["id"], **body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_REQUEST_ERROR"


def test_a_payment_without_an_order_is_captured_and_announced(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    response = _pay_without_order(
        sandbox, amount=12300, currency="INR", notes={"orderId": "someone-elses"}
    )

    assert response.status_code == 200
    assert set(response.json()) == {"razorpay_payment_id"}
    payment = razorpay_client.payment.fetch(response.json()["razorpay_payment_id"])
    assert (payment["order_id"], payment["amount"], payment["status"]) == (None, 12300, "captured")
    assert payment["notes"] == {"orderId": "someone-elses"}
    bodies = _settled_bodies(sandbox)
    assert _events(bodies) == ["payment.authorized", "payment.captured"]
    assert bodies[1]["payload"]["payment"]["entity"]["order_id"] is None


def test_a_failed_payment_without_an_order_answers_razorpays_error(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    response = _pay_without_order(sandbox, amount=5000, currency="INR", outcome="failure")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["reason"] == "payment_failed"
    assert set(error["metadata"]) == {"payment_id"}
    assert razorpay_client.payment.fetch(error["metadata"]["payment_id"])["status"] == "failed"
    assert _events(_settled_bodies(sandbox)) == ["payment.failed"]


def test_a_payment_without_an_order_needs_an_amount(sandbox: Sandbox) -> None:
    response = _pay_without_order(sandbox, currency="INR")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "amount"


def test_a_dashboard_refund_without_notes_announces_refund_and_payment(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, amount=40000)
    payment_id = _pay(sandbox, order["id"]).json()["razorpay_payment_id"]

    refund = razorpay_client.payment.refund(payment_id, {})

    assert (refund["amount"], refund["notes"], refund["receipt"]) == (40000, [], None)
    bodies = [b for b in _settled_bodies(sandbox) if b["event"].startswith("refund.")]
    assert _events(bodies) == ["refund.created", "refund.processed"]
    for body in bodies:
        assert body["contains"] == ["refund", "payment"]
        assert body["payload"]["refund"]["entity"]["id"] == refund["id"]
        assert body["payload"]["refund"]["entity"]["notes"] == []
        paid = body["payload"]["payment"]["entity"]
        assert (paid["id"], paid["order_id"], paid["refund_status"]) == (
            payment_id,
            order["id"],
            "full",
        )
        assert paid["amount_refunded"] == 40000


def test_a_payment_without_an_order_can_be_refunded(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    payment_id = _pay_without_order(sandbox, amount=10000, currency="INR").json()[
        "razorpay_payment_id"
    ]

    refund = razorpay_client.payment.refund(payment_id, {"amount": 4000})

    assert refund["payment_id"] == payment_id
    processed = [b for b in _settled_bodies(sandbox) if b["event"] == "refund.processed"]
    assert processed[0]["payload"]["payment"]["entity"]["refund_status"] == "partial"
