"""Refunds through the admin API: requested (202), paid back by the provider, settled by
its answer and webhooks; asking for more than is left is a conflict."""

from __future__ import annotations

import pytest

from infrastructure.webhooks.inbox import InboxStatus
from tests.e2e.payment_shop import PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.waiting import wait_until


def _amounts_at_provider(shop: PaymentShop, provider: str, captured: str) -> list[int]:
    return sorted(r["amount"] for r in shop.refunds_at_provider(provider, captured))


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
def test_a_partial_then_a_full_refund(shop: PaymentShop, provider: str) -> None:
    order_id, buyer, captured = shop.paid_order(provider)

    partial = shop.refund(order_id, {"amount": 1000, "reason": "one cup arrived broken"})

    assert partial.status_code == 202, partial.text
    body = partial.json()
    assert body == {
        "refundId": body["refundId"],
        "orderId": order_id,
        "amount": 1000,
        "status": "pending",
    }
    assert int(partial.headers["X-Log-Position"]) > 0
    shop.wait_order(order_id, buyer, "PARTIALLY_REFUNDED")
    payment = shop.wait_payment(order_id, buyer, "partially_refunded")
    assert payment["refundedAmount"] == 1000
    assert _amounts_at_provider(shop, provider, captured) == [1000]

    too_much = shop.refund(order_id, {"amount": 1501, "reason": "more than is left"})

    assert too_much.status_code == 409, too_much.text
    assert too_much.json()["type"].endswith("/refund-exceeds-captured")
    assert too_much.json()["refundable"] == 1500

    rest = shop.refund(order_id, {"reason": "customer returned everything"})

    assert rest.status_code == 202, rest.text
    assert rest.json()["amount"] == 1500
    shop.wait_order(order_id, buyer, "REFUNDED")
    payment = shop.wait_payment(order_id, buyer, "refunded")
    assert payment["refundedAmount"] == 2500
    wait_until(
        lambda: _amounts_at_provider(shop, provider, captured) == [1000, 1500],
        what="both refunds at the provider",
    )
    shop.flush()
    refund_events = [
        e
        for e in shop.inbox_entries(provider)
        if e.event_type in ("refund.updated", "refund.processed")
    ]
    # The worker records the provider's answer, the webhook confirms it: whichever comes
    # second changes nothing.
    assert len(refund_events) == 2
    assert {e.status for e in refund_events} == {InboxStatus.PROCESSED}
    nothing_left = shop.refund(order_id, {"amount": 1, "reason": "again"})
    assert nothing_left.status_code == 409


def test_refund_requests_that_cannot_be_honoured(shop: PaymentShop) -> None:
    buyer = customer()
    unpaid = shop.checkout(buyer, "stripe")

    not_paid = shop.refund(unpaid, {"amount": 100, "reason": "never paid"})
    assert not_paid.status_code == 409, not_paid.text
    assert not_paid.json()["type"].endswith("/invalid-transition")

    for bad in ({"amount": 0, "reason": "x"}, {"amount": "10", "reason": "x"}, {"amount": 5}):
        response = shop.refund(unpaid, bad)
        assert response.status_code == 400, (bad, response.text)
    assert shop.refund(unpaid, {"reason": "   "}).status_code == 400

    as_customer = shop.api.client.post(
        f"/admin/orders/{unpaid}/refunds",
        json={"reason": "self-service"},
        headers=shop.api.auth(buyer),
    )
    assert as_customer.status_code == 403
    missing = shop.refund("00000000-0000-4000-8000-000000000000", {"reason": "who?"})
    assert missing.status_code == 404
