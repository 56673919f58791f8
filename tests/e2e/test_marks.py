"""An operator's marks: decisions on record, once per Idempotency-Key; a hold stops captures
and is published; a payment made out of band confirms the order and closes the provider's."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import httpx
import pytest
import stripe
from jsonschema import Draft202012Validator

from domain import Order
from infrastructure.relay import RelayTopics, to_message
from tests.e2e.payment_shop import PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.waiting import wait_until

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _post(
    shop: PaymentShop, order_id: str, path: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = shop.api.admin() | {"Idempotency-Key": key or f"k-{uuid.uuid4()}"}
    return shop.api.client.post(f"/admin/orders/{order_id}/{path}", json=body, headers=headers)


def _records(shop: PaymentShop, order_id: str, topic: str) -> list[tuple[str, dict[str, Any]]]:
    """(ce_type, value) of the records the relay publishes for the order on ``topic``."""
    topics = RelayTopics(confirmed=shop.api.container.settings.kafka_topic_order_confirmed)
    order: Order | None = None
    found = []
    for event in shop.api.container.app.repository.event_store.get(UUID(order_id)):
        order = cast(Any, event).mutate(order)
        assert isinstance(order, Order)
        message = to_message(cast(Any, event), order, topics)
        if message is not None and message.topic == topic:
            found.append((dict(message.headers)["ce_type"].decode(), json.loads(message.value)))
    return found


def _history_names(shop: PaymentShop, order_id: str) -> list[tuple[str, str]]:
    response = shop.api.client.get(f"/admin/orders/{order_id}/history", headers=shop.api.admin())
    assert response.status_code == 200, response.text
    return [(e["name"], e["actor"]) for e in response.json()["entries"]]


def test_a_note_is_recorded_once_per_key(shop: PaymentShop) -> None:
    paid = shop.paid_order("stripe")
    body = {"mark": "fulfilled_manually", "reason": "handed over at the counter"}
    first = _post(shop, paid.order_id, "marks", body, "mark-1")
    again = _post(shop, paid.order_id, "marks", body, "mark-1")
    other = _post(shop, paid.order_id, "marks", body | {"reason": "other"}, "mark-1")

    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["markId"] == first.json()["markId"]
    assert other.status_code == 409, other.text
    assert _history_names(shop, paid.order_id).count(("Order.Marked", "admin:ops")) == 1
    bad = _post(shop, paid.order_id, "marks", {"mark": "delete", "reason": "x"})
    assert bad.status_code == 400, bad.text


def test_a_hold_stops_captures_and_is_published(shop: PaymentShop) -> None:
    order_id, buyer, _ = shop.authorized_order()

    held = _post(shop, order_id, "marks", {"mark": "hold", "reason": "fraud check"})
    assert held.status_code == 201, held.text
    twice = _post(shop, order_id, "marks", {"mark": "hold", "reason": "again"})
    assert twice.status_code == 409, twice.text
    refused = _post(shop, order_id, "capture", {"reason": "ship it"})
    assert refused.status_code == 409, refused.text
    assert "hold" in refused.json()["detail"]

    released = _post(shop, order_id, "marks", {"mark": "release", "reason": "check passed"})
    assert released.status_code == 201, released.text
    assert _post(shop, order_id, "capture", {"reason": "ship it"}).status_code == 202
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")

    records = _records(shop, order_id, "orders.held")
    assert [(t, v["held"], v["reason"]) for t, v in records] == [
        ("checkout.order.held.v1", True, "fraud check"),
        ("checkout.order.held.v1", False, "check passed"),
    ]
    schema = json.loads((SCHEMAS / "orders.held.v1.json").read_text())
    for _, value in records:
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
            value
        )


def test_a_payment_made_out_of_band_confirms_and_closes_the_provider(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    intent_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    body = {"mark": "paid_out_of_band", "reason": "paid by bank transfer"}
    missing = _post(shop, order_id, "marks", body)
    assert missing.status_code == 422, missing.text

    marked = _post(shop, order_id, "marks", body | {"evidence": "NEFT UTR 4471"})

    assert marked.status_code == 201, marked.text
    assert shop.order(order_id, buyer)["status"] == "PAYMENT_CONFIRMED"
    [(_, confirmed)] = _records(shop, order_id, "orders.confirmed")
    assert confirmed["payment"]["gatewayPaymentId"] == "out_of_band:NEFT UTR 4471"
    wait_until(
        lambda: shop.stripe_intent(intent_id).status == "canceled",
        what="the worker to close the intent nobody may pay any more",
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        shop.stripe.v1.payment_intents.confirm(intent_id, {"payment_method": "pm_card_visa"})
    assert refused.value.code == "payment_intent_unexpected_state"
    refund = shop.refund(order_id, {"reason": "returned"})
    assert refund.status_code == 409, refund.text
    names = _history_names(shop, order_id)
    assert ("Payment.PaidOutOfBand", "admin:ops") in names
    assert ("Order.Confirmed", "admin:ops") in names
