"""The storefront as a person reads it: their own orders, an order's lines, and what its
state means (paid, declined and payable again, cancelled, expired), also on the way back
from Stripe's hosted checkout."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import Visit
from tests.e2e.browser.demo_pages import storefront_link, table
from tests.e2e.conftest import RunningApi
from tests.e2e.payment_shop import OpenShop, PaymentShop, customer

PAGE_SIZE = 10  # the storefront's page of orders


def assert_clean(visit: Visit) -> None:
    assert visit.csp_violations() == []
    assert visit.errors() == []
    assert visit.dialogs == []


def listed_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator("#my-orders tbody tr").evaluate_all(
        "rows => rows.map((row) => row.dataset.orderId)"
    )
    return ids


def returned_link(shop: PaymentShop, buyer: str, order_id: str, outcome: str) -> str:
    """Where Stripe's hosted checkout sends the customer back (the default return URLs)."""
    token = shop.api.token(buyer)
    return f"{shop.api.base_url}/storefront/orders/{order_id}?checkout={outcome}#token={token}"


def expect_lines(page: Page, rows: list[list[str]]) -> None:
    """The order's lines; names come from the catalog, which may arrive after the order."""
    expect(page.locator("#lines tbody tr td:nth-child(2)").first).to_have_text(rows[0][1])
    assert table(page, "#lines") == rows


def expect_state(page: Page, headline: str, note: str | re.Pattern[str] = "") -> None:
    expect(page.locator("#order-state")).to_have_text(headline)
    if note:
        expect(page.locator("#order-note")).to_contain_text(note)


def test_the_customer_sees_their_own_orders_newest_first_and_more_on_request(
    api: RunningApi, visit: Visit
) -> None:
    buyer, other = customer(), customer()
    mine: list[str] = []
    others: list[str] = []
    for n in range(PAGE_SIZE + 2):
        placed = api.checkout(buyer, [{"sku": "SKU-1", "quantity": 1}])
        mine.append(placed.json()["orderId"])
        if n % 5 == 0:
            others.append(api.checkout(other, [{"sku": "SKU-2", "quantity": 1}]).json()["orderId"])
    # A list reflects writes once its view has them: let it catch up before the page asks.
    caught_up = api.client.get(
        "/orders", headers=api.auth(buyer) | {"X-Log-Position": str(api.head())}
    )
    assert caught_up.status_code == 200

    visit.page.goto(storefront_link(api, api.token(buyer)))

    expect(visit.page.locator("#my-orders tbody tr")).to_have_count(PAGE_SIZE)
    assert listed_ids(visit.page) == mine[::-1][:PAGE_SIZE]
    newest = table(visit.page, "#my-orders")[0]
    assert newest[1:] == [mine[-1], "1 \u00d7 Espresso cup", "$12.50", "Preparing the payment…"]
    more = visit.page.get_by_role("button", name="More orders")
    more.click()
    expect(visit.page.locator("#my-orders tbody tr")).to_have_count(PAGE_SIZE + 2)
    assert listed_ids(visit.page) == mine[::-1]
    expect(more).to_be_hidden()
    assert not set(others) & set(listed_ids(visit.page))

    visit.page.get_by_role("link", name=mine[0]).click()
    visit.page.wait_for_url(re.compile(rf"/storefront/orders/{mine[0]}$"))
    expect(visit.page.locator("#order-id")).to_have_text(mine[0])
    expect_lines(visit.page, [["SKU-1", "Espresso cup", "1", "$12.50", "$12.50"]])
    assert_clean(visit)


def test_a_declined_payment_shows_the_reason_and_paying_again_succeeds(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    shop.payable(order_id, buyer)
    visit.page.goto(storefront_link(shop.api, shop.api.token(buyer), order_id))
    expect_state(visit.page, "Awaiting payment")
    expect_lines(visit.page, [["SKU-1", "Espresso cup", "2", "$12.50", "$25.00"]])

    visit.page.get_by_role("button", name="Pay").click()
    visit.page.get_by_role("button", name="Decline").click()
    visit.page.wait_for_url(re.compile(rf"/storefront/orders/{order_id}\?checkout=cancel$"))

    expect_state(visit.page, "Payment declined", "card_declined")
    expect(visit.page.locator("#order-note")).to_contain_text("you can try again")
    expect(visit.page.locator("#order-state")).to_have_class(re.compile(r"\bdeclined\b"))
    again = visit.page.get_by_role("button", name="Pay again")
    expect(again).to_be_visible()
    expect(visit.page.get_by_role("button", name="Cancel order")).to_be_visible()

    again.click()
    expect(visit.page.get_by_role("heading", name="Pay with Stripe Checkout")).to_be_visible()
    visit.page.get_by_role("button", name="Pay").click()
    visit.page.wait_for_url(re.compile(rf"/storefront/orders/{order_id}\?checkout=success$"))
    expect_state(visit.page, "Paid", "confirmed")
    expect(visit.page.locator("#order-status")).to_have_text("PAYMENT_CONFIRMED")
    expect(visit.page.get_by_role("button", name="Pay")).to_be_hidden()
    row = visit.page.locator(f'#my-orders tr[data-order-id="{order_id}"] td').nth(4)
    expect(row).to_have_text("Paid")
    assert_clean(visit)


def test_a_cancelled_order_shows_as_cancelled(open_shop: OpenShop, visit: Visit) -> None:
    shop = open_shop()
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    shop.payable(order_id, buyer)
    visit.page.goto(storefront_link(shop.api, shop.api.token(buyer), order_id))
    expect_state(visit.page, "Awaiting payment")

    visit.page.get_by_role("button", name="Cancel order").click()

    expect_state(visit.page, "Cancelled", "cancelled by customer")
    expect(visit.page.get_by_role("button", name="Pay")).to_be_hidden()
    expect(visit.page.get_by_role("button", name="Cancel order")).to_be_hidden()
    expect(visit.page.locator("#payment-status")).to_have_text("canceled (stripe)")
    row = visit.page.locator(f'#my-orders tr[data-order-id="{order_id}"] td').nth(4)
    expect(row).to_have_text("Cancelled")
    assert_clean(visit)


def test_an_order_nobody_paid_shows_as_expired(open_shop: OpenShop, visit: Visit) -> None:
    shop = open_shop(PAYMENT_TTL_SECONDS="2")
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    visit.page.goto(storefront_link(shop.api, shop.api.token(buyer), order_id))

    expect_state(visit.page, "Expired", "payment window expired")
    expect(visit.page.get_by_role("button", name="Pay")).to_be_hidden()
    assert_clean(visit)


def test_back_from_hosted_checkout_paid_the_page_confirms_when_the_payment_lands(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    intent = shop.payable(order_id, buyer)["gatewayPaymentId"]

    # Back before the provider's webhook: the payment is still pending in the engine.
    visit.page.goto(returned_link(shop, buyer, order_id, "success"))
    expect_state(visit.page, "Payment received, confirming…")
    expect(visit.page.get_by_role("button", name="Pay")).to_be_hidden()
    expect(visit.page.locator("#payment-status")).to_have_text("pending (stripe)")

    assert shop.confirm_card(intent) == "succeeded"

    expect_state(visit.page, "Paid")
    expect(visit.page.locator("#order-state")).to_have_class(re.compile(r"\bpaid\b"))
    assert_clean(visit)


def test_back_from_hosted_checkout_cancelled_the_customer_can_try_again(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    shop.payable(order_id, buyer)

    visit.page.goto(returned_link(shop, buyer, order_id, "cancel"))

    expect_state(visit.page, "Payment cancelled", "you can try again")
    visit.page.get_by_role("button", name="Pay again").click()
    expect(visit.page.get_by_role("heading", name="Pay with Stripe Checkout")).to_be_visible()
    assert visit.page.url.startswith(shop.sandbox_url)
    assert_clean(visit)
