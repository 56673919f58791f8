"""Reconciliation against the sandbox, through the real SDKs: each discrepancy a provider
can leave behind is found, repaired when that is safe, or queued for a person, and every
step shows in the order's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from infrastructure.reconciliation import LOCK_KEY, ReconciliationBusy, RunRecord
from tests.e2e.payment_shop import PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.waiting import wait_until

OPERATOR = "cli:ops"


def _reconcile(shop: PaymentShop, provider: str = "stripe") -> RunRecord:
    now = datetime.now(UTC)
    job = shop.api.container.reconciliation_job
    [record] = job.run(OPERATOR, provider, now - timedelta(hours=1), now + timedelta(minutes=1))
    return record


def _reviews(shop: PaymentShop, **params: str) -> list[dict[str, Any]]:
    response = shop.api.client.get("/admin/reviews", params=params, headers=shop.api.admin())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _history(shop: PaymentShop, order_id: str) -> list[dict[str, Any]]:
    response = shop.api.client.get(f"/admin/orders/{order_id}/history", headers=shop.api.admin())
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def _held_payment(shop: PaymentShop, provider: str) -> tuple[str, str, dict[str, Any]]:
    """A new customer's order, paid while the sandbox holds every webhook back."""
    buyer = customer()
    order_id = shop.checkout(buyer, provider)
    payable = shop.payable(order_id, buyer)
    shop.control("POST", "/webhooks/hold")
    if provider == "stripe":
        assert shop.confirm_card(payable["gatewayOrderId"]) == "succeeded"
    else:
        assert shop.pay_razorpay(payable["gatewayOrderId"]).status_code == 200
    return order_id, buyer, payable


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
def test_a_capture_whose_webhook_never_came_is_found_and_applied(
    shop: PaymentShop, provider: str
) -> None:
    order_id, buyer, _ = _held_payment(shop, provider)
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"

    record = _reconcile(shop, provider)

    assert record.status == "completed"
    assert record.discrepancies == {"missed_capture": 1}
    assert record.repairs == 1
    assert shop.order(order_id, buyer)["status"] == "PAYMENT_CONFIRMED"
    [review] = [r for r in _reviews(shop) if r["orderId"] == order_id]
    assert (review["kind"], review["status"]) == ("missed_capture", "repaired")
    names = {(e["name"], e["actor"]) for e in _history(shop, order_id)}
    assert ("Payment.Succeeded", "system:reconciliation") in names
    assert ("Payment.DiscrepancyFound", "system:reconciliation") in names
    assert ("Order.Confirmed", "system:reconciliation") in names

    # A rerun finds nothing new; the late webhooks change nothing.
    assert _reconcile(shop, provider).discrepancies == {}
    shop.control("POST", "/webhooks/release", json={"order": "fifo"})
    shop.flush()
    assert shop.payment(order_id, buyer)["status"] == "succeeded"


def test_an_amount_mismatch_waits_for_a_person_and_is_resolved_once(shop: PaymentShop) -> None:
    order_id, buyer, payment = shop.authorized_order()
    intent_id = payment["gatewayOrderId"]
    # Captured in the dashboard, for less, while its webhooks are lost.
    shop.control("POST", "/webhooks/hold")
    shop.stripe.v1.payment_intents.capture(intent_id, {"amount_to_capture": 1000})

    record = _reconcile(shop)

    assert record.discrepancies == {"amount_mismatch": 1}
    assert record.repairs == 0
    assert shop.payment(order_id, buyer)["status"] == "authorized"  # nothing applied
    [review] = _reviews(shop, status="open")
    assert (review["kind"], review["orderId"], review["amount"]) == (
        "amount_mismatch",
        order_id,
        1000,
    )

    path = f"/admin/reviews/{review['reviewId']}/resolve"
    reason = "captured 1000 by hand for the one item shipped; customer agreed"
    resolved = shop.api.client.post(path, json={"reason": reason}, headers=shop.api.admin())
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    again = shop.api.client.post(path, json={"reason": reason}, headers=shop.api.admin())
    assert again.status_code == 409, again.text
    empty = shop.api.client.post(path, json={"reason": " "}, headers=shop.api.admin())
    assert empty.status_code in (400, 422), empty.text
    unknown = shop.api.client.post(
        "/admin/reviews/stripe:nothing/resolve", json={"reason": reason}, headers=shop.api.admin()
    )
    assert unknown.status_code == 404, unknown.text

    entries = _history(shop, order_id)
    found = [e for e in entries if e["name"] == "Payment.DiscrepancyFound"]
    settled = [e for e in entries if e["name"] == "Payment.DiscrepancyResolved"]
    assert [e["actor"] for e in found] == ["system:reconciliation"]
    assert [e["actor"] for e in settled] == ["admin:ops"]
    wait_until(
        lambda: (
            next(r for r in _reviews(shop) if r["reviewId"] == review["reviewId"])["status"]
            == "resolved"
        ),
        what="the review view to follow the resolution",
    )
    shop.control("POST", "/webhooks/release", json={"order": "fifo"})


def test_a_refund_made_in_the_dashboard_is_recorded(shop: PaymentShop) -> None:
    paid = shop.paid_order("stripe")
    shop.control("POST", "/webhooks/hold")
    shop.stripe.v1.refunds.create({"payment_intent": paid.captured, "amount": 500})

    record = _reconcile(shop)

    assert record.discrepancies == {"refund_only_at_provider": 1}
    refunds = shop.refunds(paid.order_id)
    assert [(r["amount"], r["status"]) for r in refunds] == [(500, "succeeded")]
    assert shop.order(paid.order_id, paid.customer)["status"] == "PARTIALLY_REFUNDED"
    shop.control("POST", "/webhooks/release", json={"order": "fifo"})


def test_a_provider_outage_records_a_partial_run_and_repairs_nothing(shop: PaymentShop) -> None:
    order_id, buyer, _ = _held_payment(shop, "stripe")
    fault = {"path_prefix": "/v1/refunds", "status": 500, "count": None, "method": "GET"}
    shop.control("POST", "/faults", json=fault)

    record = _reconcile(shop)

    assert record.status == "partial"
    assert record.error is not None
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"  # nothing repaired
    shop.control("DELETE", "/faults")
    assert _reconcile(shop).discrepancies == {"missed_capture": 1}
    runs = shop.api.client.get("/admin/reconciliations", headers=shop.api.admin()).json()
    assert [run["status"] for run in runs["items"][:2]] == ["completed", "partial"]
    shop.control("POST", "/webhooks/release", json={"order": "fifo"})


def test_a_second_run_while_one_holds_the_lock_is_refused(shop: PaymentShop) -> None:
    with shop.api.container.db.connect() as holder:
        holder.execute(sa.select(sa.func.pg_advisory_lock(LOCK_KEY)))
        with pytest.raises(ReconciliationBusy):
            _reconcile(shop)
        holder.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_KEY)))
    assert _reconcile(shop).status == "completed"
