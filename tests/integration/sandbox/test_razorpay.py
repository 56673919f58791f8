"""Razorpay orders, payments and refunds through razorpay-python."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import razorpay
from razorpay.errors import BadRequestError, SignatureVerificationError

from .conftest import Sandbox, unique


def _order(client: razorpay.Client, receipt: str, amount: int = 50000) -> dict[str, Any]:
    order: dict[str, Any] = client.order.create(
        {"amount": amount, "currency": "INR", "receipt": receipt, "notes": {"orderId": receipt}}
    )
    return order


def _pay(sandbox: Sandbox, order_id: str, outcome: str) -> httpx.Response:
    """What checkout.js does when the customer pays: the sandbox-only endpoint."""
    return httpx.post(
        f"{sandbox.razorpay_base}/v1/sandbox/orders/{order_id}/pay", json={"outcome": outcome}
    )


def test_order_has_razorpays_shape(razorpay_client: razorpay.Client) -> None:
    receipt = unique("rcpt")

    order = _order(razorpay_client, receipt)

    assert re.fullmatch(r"order_[A-Za-z0-9]{14}", order["id"])
    assert order["entity"] == "order"
    assert (order["amount"], order["amount_paid"], order["amount_due"]) == (50000, 0, 50000)
    assert (order["currency"], order["receipt"], order["status"]) == ("INR", receipt, "created")
    assert order["attempts"] == 0
    assert order["notes"] == {"orderId": receipt}
    assert isinstance(order["created_at"], int)
    assert razorpay_client.order.fetch(order["id"]) == order


def test_orders_can_be_found_by_receipt(razorpay_client: razorpay.Client) -> None:
    receipt = unique("rcpt")
    _order(razorpay_client, unique("other"))
    order = _order(razorpay_client, receipt)

    found = razorpay_client.order.all({"receipt": receipt})

    assert found["entity"] == "collection"
    assert found["count"] == 1
    assert [o["id"] for o in found["items"]] == [order["id"]]
    assert razorpay_client.order.all({"receipt": unique("none")})["count"] == 0


def test_successful_payment_returns_a_verifiable_signature(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, unique("rcpt"))

    response = _pay(sandbox, order["id"], "success")

    assert response.status_code == 200
    handed_over = response.json()
    assert set(handed_over) == {"razorpay_order_id", "razorpay_payment_id", "razorpay_signature"}
    assert handed_over["razorpay_order_id"] == order["id"]
    assert razorpay_client.utility.verify_payment_signature(handed_over) is True
    forged = {**handed_over, "razorpay_payment_id": "pay_forged0000000"}
    with pytest.raises(SignatureVerificationError):
        razorpay_client.utility.verify_payment_signature(forged)


def test_successful_payment_is_captured_and_the_order_paid(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, unique("rcpt"))

    payment_id = _pay(sandbox, order["id"], "success").json()["razorpay_payment_id"]

    payment = razorpay_client.payment.fetch(payment_id)
    assert payment["entity"] == "payment"
    assert (payment["status"], payment["captured"]) == ("captured", True)
    assert (payment["order_id"], payment["amount"]) == (order["id"], 50000)
    paid = razorpay_client.order.fetch(order["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", 50000, 0)
    listed = razorpay_client.order.payments(order["id"])
    assert [p["id"] for p in listed["items"]] == [payment_id]


def test_failed_payment_answers_razorpays_error_and_order_stays_payable(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, unique("rcpt"))

    response = _pay(sandbox, order["id"], "failure")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST_ERROR"
    assert error["reason"] == "payment_failed"
    assert error["metadata"]["order_id"] == order["id"]
    failed = razorpay_client.payment.fetch(error["metadata"]["payment_id"])
    assert failed["status"] == "failed"
    assert razorpay_client.order.fetch(order["id"])["status"] == "attempted"
    assert _pay(sandbox, order["id"], "success").status_code == 200


def test_refunds_partial_then_rest_and_over_refund_is_rejected(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, unique("rcpt"))
    payment_id = _pay(sandbox, order["id"], "success").json()["razorpay_payment_id"]

    partial = razorpay_client.payment.refund(payment_id, {"amount": 20000})
    with pytest.raises(BadRequestError):
        razorpay_client.payment.refund(payment_id, {"amount": 30001})
    rest = razorpay_client.payment.refund(payment_id, {})

    assert re.fullmatch(r"rfnd_[A-Za-z0-9]{14}", partial["id"])
    assert partial["entity"] == "refund"
    assert (partial["status"], partial["amount"]) == ("processed", 20000)
    assert rest["amount"] == 30000
    assert razorpay_client.refund.fetch(partial["id"]) == partial
    payment = razorpay_client.payment.fetch(payment_id)
    assert (payment["amount_refunded"], payment["refund_status"]) == (50000, "full")
    with pytest.raises(BadRequestError, match="fully refunded"):
        razorpay_client.payment.refund(payment_id, {"amount": 100})


def test_a_refund_idempotency_key_gives_one_refund_and_refuses_another_request(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    """X-Refund-Idempotency, as Razorpay documents it: the same key and request replay
    the refund; the same key with another request is a BAD_REQUEST; keys are 10+ of
    letters, digits, hyphens and underscores."""
    order = _order(razorpay_client, unique("rcpt"))
    payment_id = _pay(sandbox, order["id"], "success").json()["razorpay_payment_id"]
    key = {"headers": {"X-Refund-Idempotency": unique("refund-key")}}

    first = razorpay_client.payment.refund(payment_id, {"amount": 20000}, **key)
    again = razorpay_client.payment.refund(payment_id, {"amount": 20000}, **key)
    with pytest.raises(BadRequestError, match="Different request with the same idempotency"):
        razorpay_client.payment.refund(payment_id, {"amount": 10000}, **key)
    with pytest.raises(BadRequestError, match="at least 10 characters"):
        razorpay_client.payment.refund(
            payment_id, {"amount": 100}, headers={"X-Refund-Idempotency": "short:key"}
        )

    assert again == first
    assert razorpay_client.payment.fetch(payment_id)["amount_refunded"] == 20000


def test_unknown_ids_are_bad_request_errors(razorpay_client: razorpay.Client) -> None:
    with pytest.raises(BadRequestError, match="does not exist"):
        razorpay_client.order.fetch("order_doesnotexist00")


def test_key_ids_that_are_not_test_keys_are_rejected(sandbox: Sandbox) -> None:
    client = razorpay.Client(auth=("rzp_live_nope", "secret"), base_url=sandbox.razorpay_base)

    with pytest.raises(BadRequestError, match="api key provided is invalid"):
        client.order.create({"amount": 1000, "currency": "INR"})


def test_hosted_checkout_page_pays_the_order(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, unique("rcpt"))
    page_url = f"{sandbox.razorpay_base}/checkout/{order['id']}"

    page = httpx.get(page_url)
    submitted = httpx.post(page_url, data={"outcome": "success"})

    assert "value='success'" in page.text
    assert "value='failure'" in page.text
    assert submitted.status_code == 200
    assert razorpay_client.order.fetch(order["id"])["status"] == "paid"
