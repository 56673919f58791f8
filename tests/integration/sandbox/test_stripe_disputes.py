"""Stripe disputes: opened and decided through sandbox controls, seen through stripe-python."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import stripe

from .conftest import STRIPE_WEBHOOK_SECRET, Sandbox, unique


@pytest.fixture
def paid_intent(stripe_client: stripe.StripeClient) -> stripe.PaymentIntent:
    intent = stripe_client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "metadata": {"orderId": unique("order")}}
    )
    return stripe_client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})


def _dispute(sandbox: Sandbox, target_id: str, **body: Any) -> dict[str, Any]:
    dispute: dict[str, Any] = sandbox.control(
        "POST", f"/stripe/charges/{target_id}/dispute", json=body
    )
    return dispute


def _decide(sandbox: Sandbox, dispute_id: str, status: str) -> dict[str, Any]:
    decided: dict[str, Any] = sandbox.control(
        "POST", f"/stripe/disputes/{dispute_id}/close", json={"status": status}
    )
    return decided


def _dispute_events(sandbox: Sandbox) -> list[stripe.Event]:
    sandbox.control("POST", "/webhooks/flush", json={"timeout": 10})
    events = [
        stripe.Webhook.construct_event(w.body, w.header("Stripe-Signature"), STRIPE_WEBHOOK_SECRET)
        for w in sandbox.receiver.received("/stripe")
    ]
    return [e for e in events if e.type.startswith("charge.dispute.")]


def test_a_dispute_has_stripes_shape_and_marks_the_charge_disputed(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    charge_id = str(paid_intent.latest_charge)

    opened = _dispute(sandbox, charge_id)

    assert re.fullmatch(r"dp_[A-Za-z0-9]{24}", opened["id"])
    dispute = stripe_client.v1.disputes.retrieve(opened["id"])
    assert isinstance(dispute, stripe.Dispute)
    assert dispute.object == "dispute"
    assert (dispute.amount, dispute.currency, dispute.reason) == (2000, "usd", "fraudulent")
    assert (dispute.charge, dispute.payment_intent) == (charge_id, paid_intent.id)
    assert (dispute.status, dispute.livemode) == ("needs_response", False)
    assert dispute.metadata.to_dict() == {}
    assert dispute.evidence_details.due_by is not None
    assert dispute.evidence_details.due_by > dispute.created
    assert dispute.is_charge_refundable is False
    assert [t.amount for t in dispute.balance_transactions] == [-2000]
    assert stripe_client.v1.charges.retrieve(charge_id).disputed is True
    events = _dispute_events(sandbox)
    assert [e.type for e in events] == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    created = events[0].data.object
    assert (created["id"], created["charge"], created["status"]) == (
        opened["id"],
        charge_id,
        "needs_response",
    )
    assert events[0].request is not None
    assert events[0].request.id is None


def test_a_payment_intent_id_disputes_its_latest_charge_for_a_part(
    sandbox: Sandbox, paid_intent: stripe.PaymentIntent
) -> None:
    dispute = _dispute(sandbox, paid_intent.id, amount=500, reason="product_not_received")

    assert (dispute["charge"], dispute["payment_intent"]) == (
        paid_intent.latest_charge,
        paid_intent.id,
    )
    assert (dispute["amount"], dispute["reason"]) == (500, "product_not_received")


def test_a_won_dispute_closes_and_reinstates_the_funds(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    dispute = _dispute(sandbox, paid_intent.id)

    won = _decide(sandbox, dispute["id"], "won")

    assert won["status"] == "won"
    assert [t["amount"] for t in won["balance_transactions"]] == [-2000, 2000]
    assert stripe_client.v1.payment_intents.retrieve(paid_intent.id).status == "succeeded"
    events = _dispute_events(sandbox)
    assert [e.type for e in events] == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    assert events[2].data.object["status"] == "won"


def test_a_lost_dispute_closes_leaves_the_intent_and_blocks_refunds(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    dispute = _dispute(sandbox, paid_intent.id)

    lost = _decide(sandbox, dispute["id"], "lost")

    assert lost["status"] == "lost"
    charge = stripe_client.v1.charges.retrieve(str(paid_intent.latest_charge))
    assert (charge.disputed, charge.refunded, charge.amount_refunded) == (True, False, 0)
    intent = stripe_client.v1.payment_intents.retrieve(paid_intent.id)
    assert intent.to_dict() == paid_intent.to_dict()
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create({"payment_intent": paid_intent.id})
    assert raised.value.code == "charge_disputed"
    events = _dispute_events(sandbox)
    assert [e.type for e in events][-1] == "charge.dispute.closed"
    assert events[-1].data.object["status"] == "lost"


def test_the_merchant_closing_a_dispute_through_the_api_loses_it(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    dispute = _dispute(sandbox, paid_intent.id)

    closed = stripe_client.v1.disputes.close(dispute["id"])

    assert closed.status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.disputes.close(dispute["id"])
    last = _dispute_events(sandbox)[-1]
    assert last.type == "charge.dispute.closed"
    assert last.request is not None
    assert last.request.id is not None


def test_disputes_are_listed_by_charge_and_payment_intent(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    other = stripe_client.v1.payment_intents.create(
        {"amount": 700, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    first = _dispute(sandbox, paid_intent.id)
    second = _dispute(sandbox, other.id)

    everything = stripe_client.v1.disputes.list()
    by_intent = stripe_client.v1.disputes.list({"payment_intent": paid_intent.id})
    by_charge = stripe_client.v1.disputes.list({"charge": str(other.latest_charge)})
    one = stripe_client.v1.disputes.list({"limit": 1})

    assert [d.id for d in everything.data] == [second["id"], first["id"]]
    assert [d.id for d in by_intent.data] == [first["id"]]
    assert [d.id for d in by_charge.data] == [second["id"]]
    assert (len(one.data), one.has_more) == (1, True)


def test_disputes_need_a_succeeded_undisputed_charge(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    unpaid = stripe_client.v1.payment_intents.create({"amount": 500, "currency": "usd"})
    _dispute(sandbox, paid_intent.id)

    def control(path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{sandbox.url}/_sandbox{path}", json=body)

    twice = control(f"/stripe/charges/{paid_intent.id}/dispute", {})
    not_paid = control(f"/stripe/charges/{unpaid.id}/dispute", {})
    unknown = control("/stripe/charges/ch_doesnotexist/dispute", {})
    bad_reason = control(f"/stripe/charges/{paid_intent.id}/dispute", {"reason": "bored"})
    bad_status = control("/stripe/disputes/dp_x/close", {"status": "maybe"})

    assert twice.status_code == not_paid.status_code == bad_reason.status_code == 400
    assert "already been disputed" in twice.json()["error"]
    assert unknown.status_code == 404
    assert bad_status.status_code == 400
