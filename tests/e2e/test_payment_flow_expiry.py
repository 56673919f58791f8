"""An order nobody pays expires: cancelled, its stock released, its intent cancelled."""

from __future__ import annotations

from infrastructure.webhooks.inbox import SETTLED, InboxStatus
from tests.e2e.payment_shop import OpenShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.stock_ledger import held_by_order
from tests.waiting import wait_until


def test_an_unpaid_order_expires_and_its_intent_is_cancelled(open_shop: OpenShop) -> None:
    shop = open_shop(PAYMENT_TTL_SECONDS="3")
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe", [{"sku": "SKU-1", "quantity": 4}])
    assert shop.api.stock("SKU-1").available == 96
    intent_id = shop.payable(order_id, buyer)["gatewayOrderId"]

    shop.wait_order(order_id, buyer, "CANCELLED")
    # The payment ends with its order: a polling frontend sees a terminal status.
    payment = shop.wait_payment(order_id, buyer, "canceled")
    assert payment["failureReason"] == "payment window expired"

    stock = shop.api.stock("SKU-1")
    assert order_id not in held_by_order(shop.api.container.app, "SKU-1")
    assert stock.available == stock.on_hand == 100
    wait_until(
        lambda: shop.stripe_intent(intent_id).status == "canceled",
        timeout=20,
        what="the intent to be cancelled in the sandbox",
    )
    # Stripe echoes the cancellation; the engine knows it already. The row is committed as
    # received before the delivery applies it, so wait for it to be settled.
    canceled = wait_until(
        lambda: [
            e
            for e in shop.inbox_entries("stripe")
            if e.event_type == "payment_intent.canceled" and e.status in SETTLED
        ],
        timeout=20,
        what="the payment_intent.canceled webhook, applied",
    )
    assert [e.status for e in canceled] == [InboxStatus.IGNORED]
    assert shop.order(order_id, buyer)["status"] == "CANCELLED"
