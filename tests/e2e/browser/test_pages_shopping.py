"""A person shops on the storefront, pays on the provider's hosted test page, sees the
order confirmed, and an admin refunds it from the console; all under the pages' policy."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import OpenVisit, Visit
from tests.e2e.browser.demo_pages import admin_link, storefront_link, table, text
from tests.e2e.payment_shop import OpenShop, PaymentShop, customer
from tests.waiting import wait_until

REFUND_PROMPT = "Reason for the refund (kept on the order's record):"
REFUND_ALL = "Refund everything still refundable on this order?"


def check_out(page: Page, quantities: dict[str, str], provider: str) -> str:
    for name, quantity in quantities.items():
        page.get_by_label(f"Quantity of {name}").fill(quantity)
    page.get_by_label("Pay with").select_option(provider)
    page.get_by_role("button", name="Check out").click()
    expect(page.locator("#order-status")).to_have_text("PENDING_PAYMENT")
    order_id = page.locator("#order-id").text_content()
    assert order_id
    assert page.url.endswith(f"/storefront/orders/{order_id}")
    return order_id


def assert_clean(visit: Visit) -> None:
    assert visit.csp_violations() == []
    assert visit.errors() == []


def wait_refunds(shop: PaymentShop, order_id: str, count: int) -> list[dict[str, object]]:
    def settled() -> list[dict[str, object]] | None:
        items = shop.refunds(order_id)
        done = len(items) == count and all(r["status"] == "succeeded" for r in items)
        return items if done else None

    found: list[dict[str, object]] = wait_until(settled, timeout=20, what=f"{count} refunds")
    return found


def reload_until(page: Page, status: str) -> None:
    """Press Load until the order view shows the status (it follows the webhooks)."""

    def shown() -> bool:
        page.get_by_role("button", name="Load").click()
        cells = page.get_by_role("cell", name=status, exact=True)
        try:
            expect(cells).to_be_visible(timeout=1000)
        except AssertionError:
            return False
        return True

    wait_until(shown, timeout=20, what=f"the console showing {status}")


def test_customer_pays_on_stripe_checkout_and_admin_refunds(
    open_shop: OpenShop, open_visit: OpenVisit
) -> None:
    shop = open_shop()
    buyer = customer()
    store = open_visit()
    store.page.goto(storefront_link(shop.api, shop.api.token(buyer)))
    order_id = check_out(store.page, {"Espresso cup": "2"}, "stripe")
    expect(store.page.locator("#amount")).to_have_text("Total $25.00, refunded $0.00")

    store.page.get_by_role("button", name="Pay").click()
    expect(store.page.get_by_role("heading", name="Pay with Stripe Checkout")).to_be_visible()
    assert store.page.url.startswith(shop.sandbox_url)
    store.page.get_by_role("button", name="Pay").click()
    store.page.wait_for_url(re.compile(rf"/storefront/orders/{order_id}\?checkout=success$"))
    expect(store.page.locator("#order-status")).to_have_text("PAYMENT_CONFIRMED")
    expect(store.page.locator("#payment-status")).to_have_text("succeeded (stripe)")
    expect(store.page.get_by_role("button", name="Pay")).to_be_hidden()
    assert store.dialogs == []
    assert_clean(store)

    admin = open_visit()
    admin.prompt_answer = "one cup arrived broken"
    admin.page.goto(admin_link(shop.api))
    expect(admin.page.get_by_role("cell", name=order_id)).to_be_visible()
    [row] = table(admin.page, "#orders")
    assert row[:5] == [order_id, buyer, "PAYMENT_CONFIRMED", "succeeded (stripe)", "$25.00"]

    # Part of it, typed as the console shows amounts: 5.00 dollars are 500 cents.
    admin.page.get_by_label("Refund amount in USD").fill("5.00")
    admin.page.get_by_role("button", name="Refund").click()
    requested = re.compile(r"^refund \S+ of \$5\.00 requested$")
    expect(admin.page.locator("#error")).to_have_text(requested)
    assert admin.dialogs == [("prompt", REFUND_PROMPT)]
    [partial] = wait_refunds(shop, order_id, 1)
    assert (partial["amount"], partial["reason"]) == (500, "one cup arrived broken")

    # The rest: no amount means everything still refundable, which the console confirms.
    reload_until(admin.page, "PARTIALLY_REFUNDED")
    admin.prompt_answer = "customer returned the rest"
    admin.page.get_by_role("button", name="Refund").click()
    expect(admin.page.locator("#error")).to_have_text(re.compile(r"of \$20\.00 requested$"))
    assert admin.dialogs[1:] == [("confirm", REFUND_ALL), ("prompt", REFUND_PROMPT)]
    wait_refunds(shop, order_id, 2)
    reload_until(admin.page, "REFUNDED")
    expect(admin.page.get_by_role("button", name="Refund")).to_have_count(0)
    assert_clean(admin)


def test_amount_not_in_the_currency_is_refused_before_any_refund(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    intent = shop.payable(order_id, buyer)["gatewayPaymentId"]
    assert shop.confirm_card(intent) == "succeeded"
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")

    visit.page.goto(admin_link(shop.api))
    visit.page.get_by_label("Refund amount in USD").fill("5.001")
    visit.page.get_by_role("button", name="Refund").click()
    expect(visit.page.locator("#error")).to_have_text("not an amount in USD: 5.001")
    assert visit.dialogs == []
    assert shop.refunds(order_id) == []
    assert_clean(visit)


def test_customer_pays_on_razorpay_checkout(open_shop: OpenShop, visit: Visit) -> None:
    shop = open_shop()
    buyer = customer()
    visit.page.goto(storefront_link(shop.api, shop.api.token(buyer)))
    order_id = check_out(visit.page, {"Saucer": "1"}, "razorpay")
    expect(visit.page.locator("#amount")).to_have_text("Total $4.99, refunded $0.00")

    visit.page.get_by_role("button", name="Pay").click()
    expect(visit.page.get_by_role("heading", name="Razorpay Checkout")).to_be_visible()
    visit.page.get_by_role("button", name="Pay").click()
    # The sandbox posts checkout.js's result back to the order page, which verifies it.
    visit.page.wait_for_url(re.compile(rf"/storefront/orders/{order_id}$"))
    expect(visit.page.locator("#order-status")).to_have_text("PAYMENT_CONFIRMED")
    expect(visit.page.locator("#payment-status")).to_have_text("succeeded (razorpay)")
    assert text(visit.page, "#error") == ""
    assert visit.dialogs == []
    assert_clean(visit)
