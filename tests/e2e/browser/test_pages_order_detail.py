"""An admin opens an order from the console's list and reads its timeline: who checked out,
who refunded and why, the evidence it rests on; then the order as it stood at an instant
chosen before the refund, and before the order existed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import Locator, Page, expect

from tests.e2e.browser.conftest import Visit
from tests.e2e.browser.demo_pages import admin_link, table, text
from tests.e2e.payment_shop import OpenShop, PaidOrder, PaymentShop

REASON = "one cup arrived broken"


def partly_refunded(shop: PaymentShop) -> PaidOrder:
    """2 x $12.50 paid with Stripe, $10.00 of it refunded by the admin `ops`."""
    paid = shop.paid_order("stripe")
    response = shop.refund(paid.order_id, {"amount": 1000, "reason": REASON})
    assert response.status_code == 202, response.text
    shop.wait_order(paid.order_id, paid.customer, "PARTIALLY_REFUNDED")
    return paid


def timeline_row(page: Page, event: str) -> Locator:
    return page.locator("#timeline tbody tr").filter(
        has=page.get_by_role("cell", name=event, exact=True)
    )


def state(page: Page) -> dict[str, str]:
    return {row[0]: row[1] for row in table(page, "#state")}


def test_the_admin_reads_an_orders_timeline_and_its_state_before_the_refund(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    paid = partly_refunded(shop)
    page = visit.page
    page.goto(admin_link(shop.api))

    page.get_by_role("link", name=paid.order_id).click()

    expect(page).to_have_url(re.compile(rf"/admin#order={paid.order_id}$"))
    expect(page.locator("#detail-id")).to_have_text(paid.order_id)
    expect(page.locator("#orders")).to_be_hidden()
    created = timeline_row(page, "Order.Created")
    expect(created.locator("td").nth(1)).to_have_text(f"customer:{paid.customer}")
    refund = timeline_row(page, "Payment.RefundRequested")
    expect(refund.locator("td").nth(1)).to_have_text("admin:ops")
    expect(refund.locator("td").nth(4)).to_contain_text(REASON)
    expect(timeline_row(page, "Order.Refunded")).to_have_count(1)
    # What the provider's webhook changed refers to it by its SHA-256 digest, shown as text.
    digest = page.locator("#timeline td.evidence code").first
    expect(digest).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    times = [row[0] for row in table(page, "#timeline")]
    assert times == sorted(times, key=datetime.fromisoformat)

    asked = datetime.fromisoformat(refund.locator("td").first.text_content() or "")
    page.get_by_label("State at").fill((asked - timedelta(microseconds=1)).isoformat())
    page.get_by_role("button", name="Show state").click()

    expect(page.locator("#state")).to_be_visible()
    expect(page.locator("#state-note")).to_have_text(re.compile(r"^At \S+:$"))
    before_refund = state(page)
    assert before_refund["Order"] == "PAYMENT_CONFIRMED"
    assert before_refund["Amount"] == "$25.00"
    assert before_refund["Refunded"] == "$0.00"
    assert before_refund["Payment"] == "succeeded (stripe)"
    assert before_refund["Payment refunded"] == "$0.00"
    # The timeline stays whole whatever instant is chosen.
    expect(timeline_row(page, "Payment.RefundRequested")).to_have_count(1)

    page.get_by_label("State at").fill("2001-01-01T00:00:00Z")
    page.get_by_label("State at").press("Enter")
    expect(page.locator("#state-note")).to_have_text(
        re.compile(r"^At 2001-01-01T00:00:00(\.0+)?(Z|\+00:00) the order did not exist yet\.$")
    )
    expect(page.locator("#state")).to_be_hidden()

    page.get_by_role("link", name="Back to orders").click()
    expect(page.get_by_role("link", name=paid.order_id)).to_be_visible()
    expect(page.locator("#detail")).to_be_hidden()
    assert text(page, "#error") == ""
    assert visit.csp_violations() == []
    assert visit.errors() == []
    assert visit.dialogs == []


def test_an_instant_that_is_not_iso_8601_is_refused_with_the_apis_reason(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    order_id = shop.checkout("cust-detail-bad-at", "stripe")
    visit.page.goto(f"{admin_link(shop.api)}&order={order_id}")
    expect(timeline_row(visit.page, "Order.Created")).to_have_count(1)

    visit.page.get_by_label("State at").fill("yesterday")
    visit.page.get_by_role("button", name="Show state").click()

    expect(visit.page.locator("#error")).not_to_be_empty()
    expect(visit.page.locator("#state")).to_be_hidden()
    assert visit.dialogs == []
    assert visit.csp_violations() == []
