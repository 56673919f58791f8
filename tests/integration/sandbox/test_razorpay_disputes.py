"""Razorpay disputes: opened and decided through sandbox controls, seen through razorpay-python."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import razorpay
from razorpay.errors import BadRequestError

from .conftest import RAZORPAY_WEBHOOK_SECRET, Sandbox, unique


def _captured_payment(sandbox: Sandbox, client: razorpay.Client, amount: int = 30000) -> str:
    order = client.order.create({"amount": amount, "currency": "INR", "receipt": unique("r")})
    response = httpx.post(f"{sandbox.razorpay_base}/v1/sandbox/orders/{order['id']}/pay", json={})
    payment_id: str = response.json()["razorpay_payment_id"]
    return payment_id


def _dispute(sandbox: Sandbox, payment_id: str, **body: Any) -> dict[str, Any]:
    dispute: dict[str, Any] = sandbox.control(
        "POST", f"/razorpay/payments/{payment_id}/dispute", json=body
    )
    return dispute


def _control(sandbox: Sandbox, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/_sandbox{path}", json=body)


def _dispute_webhooks(sandbox: Sandbox) -> list[dict[str, Any]]:
    sandbox.control("POST", "/webhooks/flush", json={"timeout": 10})
    bodies = []
    for webhook in sandbox.receiver.received("/razorpay"):
        assert razorpay.Utility().verify_webhook_signature(
            webhook.body.decode(), webhook.header("X-Razorpay-Signature"), RAZORPAY_WEBHOOK_SECRET
        )
        body = json.loads(webhook.body)
        if body["event"].startswith("payment.dispute."):
            bodies.append(body)
    return bodies


def test_a_dispute_has_razorpays_shape_and_is_announced_with_its_payment(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    payment_id = _captured_payment(sandbox, razorpay_client)

    dispute = _dispute(sandbox, payment_id)

    assert re.fullmatch(r"disp_[A-Za-z0-9]{14}", dispute["id"])
    assert dispute["entity"] == "dispute"
    assert (dispute["payment_id"], dispute["amount"], dispute["currency"]) == (
        payment_id,
        30000,
        "INR",
    )
    assert (dispute["status"], dispute["phase"], dispute["amount_deducted"]) == (
        "open",
        "chargeback",
        0,
    )
    assert dispute["reason_code"] == "chargeback"
    assert dispute["respond_by"] > dispute["created_at"]
    assert razorpay_client.dispute.fetch(dispute["id"]) == dispute
    [created] = _dispute_webhooks(sandbox)
    assert created["event"] == "payment.dispute.created"
    assert created["contains"] == ["payment", "dispute"]
    assert created["payload"]["dispute"]["entity"] == dispute
    assert created["payload"]["payment"]["entity"]["id"] == payment_id
    assert created["payload"]["payment"]["entity"]["status"] == "captured"


def test_a_lost_dispute_deducts_its_amount(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    payment_id = _captured_payment(sandbox, razorpay_client)
    dispute = _dispute(sandbox, payment_id, amount=12000, reason_code="fraud")

    lost = sandbox.control("POST", f"/razorpay/disputes/{dispute['id']}/close", {"status": "lost"})

    assert (lost["status"], lost["amount"], lost["amount_deducted"]) == ("lost", 12000, 12000)
    assert lost["reason_code"] == "fraud"
    assert razorpay_client.dispute.fetch(dispute["id"])["status"] == "lost"
    events = _dispute_webhooks(sandbox)
    assert [e["event"] for e in events] == ["payment.dispute.created", "payment.dispute.lost"]
    assert events[1]["payload"]["dispute"]["entity"]["amount_deducted"] == 12000
    assert events[1]["payload"]["payment"]["entity"]["id"] == payment_id


@pytest.mark.parametrize("ending", ["won", "closed"])
def test_a_won_or_closed_dispute_deducts_nothing_and_cannot_change_again(
    sandbox: Sandbox, razorpay_client: razorpay.Client, ending: str
) -> None:
    dispute = _dispute(sandbox, _captured_payment(sandbox, razorpay_client))
    close_path = f"/razorpay/disputes/{dispute['id']}/close"

    ended = sandbox.control("POST", close_path, {"status": ending})
    again = _control(sandbox, close_path, {"status": "lost"})

    assert (ended["status"], ended["amount_deducted"]) == (ending, 0)
    assert again.status_code == 400
    events = _dispute_webhooks(sandbox)
    assert [e["event"] for e in events] == ["payment.dispute.created", f"payment.dispute.{ending}"]


def test_the_merchant_accepting_a_dispute_loses_it(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    dispute = _dispute(sandbox, _captured_payment(sandbox, razorpay_client))

    accepted = razorpay_client.dispute.accept(dispute["id"])

    assert (accepted["status"], accepted["amount_deducted"]) == ("lost", dispute["amount"])
    assert [e["event"] for e in _dispute_webhooks(sandbox)][-1] == "payment.dispute.lost"


def test_disputes_are_listed_newest_first(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    first = _dispute(sandbox, _captured_payment(sandbox, razorpay_client))
    second = _dispute(sandbox, _captured_payment(sandbox, razorpay_client))

    listed = razorpay_client.dispute.all()

    assert listed["entity"] == "collection"
    assert [d["id"] for d in listed["items"]] == [second["id"], first["id"]]


def test_only_a_captured_payment_can_be_disputed_and_not_for_more_than_it(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = razorpay_client.order.create({"amount": 10000, "currency": "INR"})
    failed = httpx.post(
        f"{sandbox.razorpay_base}/v1/sandbox/orders/{order['id']}/pay", json={"outcome": "failure"}
    ).json()["error"]["metadata"]["payment_id"]
    captured = _captured_payment(sandbox, razorpay_client, amount=10000)

    on_failed = _control(sandbox, f"/razorpay/payments/{failed}/dispute", {})
    too_much = _control(sandbox, f"/razorpay/payments/{captured}/dispute", {"amount": 10001})
    unknown = _control(sandbox, "/razorpay/payments/pay_doesnotexist00/dispute", {})
    bad_status = _control(sandbox, "/razorpay/disputes/disp_doesnotexist0/close", {"status": "x"})

    assert [r.status_code for r in (on_failed, too_much, unknown, bad_status)] == [400] * 4
    assert "does not exist" in unknown.json()["error"]
    with pytest.raises(BadRequestError):
        razorpay_client.dispute.fetch("disp_doesnotexist0")
