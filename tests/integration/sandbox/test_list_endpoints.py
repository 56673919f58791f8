"""The list endpoints an auditor walks: Stripe's PaymentIntents and Charges, Razorpay's payments,
through the SDKs and their pagination, as the real APIs page them (newest first)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import razorpay
import stripe

from .conftest import Sandbox, unique


def _paid_intent(client: stripe.StripeClient, amount: int, tag: str) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        {
            "amount": amount,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"tag": tag},
        }
    )


def test_payment_intents_list_pages_newest_first(stripe_client: stripe.StripeClient) -> None:
    tag = unique("list")
    created = [_paid_intent(stripe_client, 1000 + n, tag).id for n in range(5)]

    first = stripe_client.v1.payment_intents.list({"limit": 2})
    walked = [intent.id for intent in first.auto_paging_iter()]

    assert [intent.id for intent in first.data] == created[::-1][:2]
    assert first.has_more
    assert walked == created[::-1]


def test_payment_intents_list_starts_after_a_cursor(stripe_client: stripe.StripeClient) -> None:
    created = [_paid_intent(stripe_client, 1000, "cursor").id for _ in range(3)]

    page = stripe_client.v1.payment_intents.list({"limit": 10, "starting_after": created[2]})

    assert [intent.id for intent in page.data] == [created[1], created[0]]
    assert not page.has_more


def test_charges_list_carries_the_intents_metadata_and_filters_by_intent(
    stripe_client: stripe.StripeClient,
) -> None:
    tag = unique("charges")
    intents = [_paid_intent(stripe_client, 2000, tag) for _ in range(3)]

    every = list(stripe_client.v1.charges.list({"limit": 1}).auto_paging_iter())
    one = stripe_client.v1.charges.list({"payment_intent": intents[1].id})

    assert [c.payment_intent for c in every] == [i.id for i in intents[::-1]]
    assert all(c.metadata["tag"] == tag and c.amount_captured == 2000 for c in every)
    assert [c.id for c in one.data] == [intents[1].latest_charge]


def test_lists_filter_by_created(stripe_client: stripe.StripeClient) -> None:
    _paid_intent(stripe_client, 1500, "old")
    future = int(time.time()) + 3600

    intents = stripe_client.v1.payment_intents.list({"created": {"gte": future}})
    charges = stripe_client.v1.charges.list({"created": {"gte": future}})
    now_on = stripe_client.v1.charges.list({"created": {"gte": int(time.time()) - 60}})

    assert intents.data == []
    assert charges.data == []
    assert len(now_on.data) == 1


def test_lists_refuse_what_stripe_refuses(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as limit:
        stripe_client.v1.charges.list({"limit": 101})
    with pytest.raises(stripe.InvalidRequestError) as cursor:
        stripe_client.v1.payment_intents.list({"starting_after": "pi_missing"})

    assert limit.value.param == "limit"
    assert cursor.value.code == "resource_missing"


def _razorpay_payment(sandbox: Sandbox, client: razorpay.Client, amount: int) -> str:
    order = client.order.create({"amount": amount, "currency": "INR", "receipt": unique("r")})
    paid = httpx.post(
        f"{sandbox.razorpay_base}/v1/sandbox/orders/{order['id']}/pay",
        json={"outcome": "success"},
        timeout=30,
    )
    paid.raise_for_status()
    payment_id: str = paid.json()["razorpay_payment_id"]
    return payment_id


def _all_payments(client: razorpay.Client, count: int, **query: Any) -> list[dict[str, Any]]:
    """What an auditor does: ``skip`` forward a page at a time until a short page."""
    found: list[dict[str, Any]] = []
    while True:
        page = client.payment.all({"count": count, "skip": len(found), **query})
        found += page["items"]
        if len(page["items"]) < count:
            return found


def test_razorpay_payments_list_pages_newest_first(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    paid = [_razorpay_payment(sandbox, razorpay_client, 10000 + n * 100) for n in range(3)]

    first = razorpay_client.payment.all({"count": 2})
    walked = _all_payments(razorpay_client, 2)

    assert first["entity"] == "collection"
    assert first["count"] == 2
    assert [p["id"] for p in first["items"]] == paid[::-1][:2]
    assert [p["id"] for p in walked] == paid[::-1]
    assert all(p["captured"] and p["status"] == "captured" for p in walked)


def test_razorpay_payments_list_filters_by_time(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    _razorpay_payment(sandbox, razorpay_client, 10000)
    now = int(time.time())

    later = razorpay_client.payment.all({"from": now + 3600})
    around = razorpay_client.payment.all({"from": now - 60, "to": now + 60})

    assert later["items"] == []
    assert len(around["items"]) == 1


def test_razorpay_payments_list_refuses_a_bad_count(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    with pytest.raises(razorpay.errors.BadRequestError):
        razorpay_client.payment.all({"count": 101})
