"""A person shops on the storefront, pays on the provider's hosted test page, sees the
order confirmed, and an admin refunds it from the console after confirming what goes back;
all under the pages' policy."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import OpenVisit, Visit
from tests.e2e.browser.demo_pages import admin_link, storefront_link, table, text
from tests.e2e.payment_shop import OpenShop, PaymentShop, customer
from tests.waiting import wait_until


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


def refund_from_console(page: Page, amount: str, reason: str, confirmation: str) -> None:
    page.get_by_label("Refund amount").fill(amount)
    page.locator("#refund-form").get_by_label("Reason").fill(reason)
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#refund-summary")).to_have_text(confirmation)
    page.get_by_role("button", name="Confirm refund").click()
    expect(page.locator("#refund-confirm")).to_be_hidden()


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
    admin.page.goto(admin_link(shop.api))
    expect(admin.page.get_by_role("cell", name=order_id)).to_be_visible()
    [row] = table(admin.page, "#orders")
    assert row[:5] == [order_id, buyer, "PAYMENT_CONFIRMED", "succeeded (stripe)", "$25.00"]
    admin.page.get_by_role("link", name=order_id).click()

    # Part of it, typed as the console shows amounts: 5.00 dollars are 500 cents.
    refund_from_console(
        admin.page, "5.00", "one cup arrived broken", "Refund $5.00 of $25.00 left to refund"
    )
    expect(admin.page.locator("#notice")).to_have_text(re.compile(r"^Refund \S+ succeeded\.$"))
    [partial] = wait_refunds(shop, order_id, 1)
    assert (partial["amount"], partial["reason"]) == (500, "one cup arrived broken")
    status = admin.page.locator("#summary tr").filter(has_text="Status").locator("td")
    expect(status).to_have_text("PARTIALLY_REFUNDED")

    # The rest: an empty amount is everything left, which the confirmation says in full.
    refund_from_console(admin.page, "", "customer returned the rest", "Full refund of $20.00")
    expect(admin.page.locator("#notice")).to_have_text(re.compile(r"^Refund \S+ succeeded\.$"))
    [_, rest] = wait_refunds(shop, order_id, 2)
    assert (rest["amount"], rest["reason"]) == (2000, "customer returned the rest")
    expect(status).to_have_text("REFUNDED")
    # Nothing is left to refund: the console offers no refund any more.
    expect(admin.page.get_by_role("button", name="Review refund")).to_be_hidden()
    expect(admin.page.locator("#no-actions")).to_be_visible()
    assert admin.dialogs == []
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

    posts: list[str] = []
    visit.page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    visit.page.goto(f"{admin_link(shop.api)}&order={order_id}")
    visit.page.get_by_label("Refund amount").fill("5.001")
    visit.page.locator("#refund-form").get_by_label("Reason").fill("a fraction of a cent")
    visit.page.get_by_role("button", name="Review refund").click()
    expect(visit.page.locator("#error")).to_have_text(
        'Not an amount in USD: "5.001" (a positive number with at most 2 decimals).'
    )
    expect(visit.page.locator("#refund-confirm")).to_be_hidden()
    assert posts == []
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
