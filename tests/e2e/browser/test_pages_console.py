"""The admin console as an operator uses it: finding orders (by id, status, a provider's id,
placing day) a page at a time, reading one (lines, payment, refunds, timeline with actors),
refunding with a confirmation that says what goes back, capture reviews, and all of it at a
phone's width."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from playwright.sync_api import Page, Request, Route, ViewportSize, expect

from application.catalog import CatalogEntry
from tests.e2e.browser.conftest import OpenVisit, Visit
from tests.e2e.browser.demo_pages import admin_link, table, text
from tests.e2e.conftest import RunningApi
from tests.e2e.payment_shop import OpenShop, customer
from tests.waiting import wait_until

PAGE_SIZE = 25  # the console's page of orders
PHONE = ViewportSize(width=390, height=844)
REASON = "one <b>cup</b> arrived broken"  # markup an operator typed shows as typed


@dataclass
class Sent:
    """The API requests a tab made, with their method and headers."""

    requests: list[Request] = field(default_factory=list)

    def to(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and urlsplit(r.url).path == path]

    def queries(self, path: str) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(r.url).query) for r in self.to("GET", path)]


def sent_by(page: Page) -> Sent:
    sent = Sent()
    page.on("request", lambda request: sent.requests.append(request))
    return sent


def listed_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator("#orders tbody tr").evaluate_all(
        "rows => rows.map((row) => row.dataset.orderId)"
    )
    return ids


def assert_clean(visit: Visit) -> None:
    assert visit.csp_violations() == []
    assert visit.errors() == []
    assert visit.dialogs == []


def cancel(api: RunningApi, order_id: str, buyer: str) -> str:
    response = api.client.post(f"/orders/{order_id}/cancel", headers=api.auth(buyer))
    assert response.status_code == 200, response.text
    position: str = response.headers["X-Log-Position"]
    return position


def caught_up(api: RunningApi, position: str) -> None:
    """The listing reflects the writes before the page reads it."""
    response = api.client.get(
        "/admin/orders", params={"minPosition": position, "limit": 1}, headers=api.admin()
    )
    assert response.status_code == 200, response.text


def test_the_admin_finds_orders_by_status_and_id_a_page_at_a_time(
    api: RunningApi, visit: Visit
) -> None:
    api.container.catalog.upsert([CatalogEntry("SKU-JPY", "Tea bowl", "vendor-j", 1500, "JPY", 5)])
    buyer = customer()
    placed = [
        api.checkout(buyer, [{"sku": "SKU-1", "quantity": 1}]).json()["orderId"]
        for _ in range(PAGE_SIZE + 1)
    ]
    yen = api.checkout(buyer, [{"sku": "SKU-JPY", "quantity": 2}]).json()["orderId"]
    cancel(api, placed[3], buyer)
    caught_up(api, cancel(api, placed[10], buyer))
    newest_first = [yen, *placed[::-1]]
    page = visit.page
    sent = sent_by(page)
    page.goto(admin_link(api))

    # Every order, newest first, a page at a time both ways.
    expect(page.locator("#orders tbody tr")).to_have_count(PAGE_SIZE)
    assert listed_ids(page) == newest_first[:PAGE_SIZE]
    newer, older = (page.get_by_role("button", name=n) for n in ("Newer", "Older"))
    expect(newer).to_be_disabled()
    older.click()
    expect(page.locator("#orders tbody tr")).to_have_count(2)
    assert listed_ids(page) == newest_first[PAGE_SIZE:]
    expect(older).to_be_disabled()
    expect(page.locator("#page-number")).to_have_text("Page 2")
    newer.click()
    expect(page.locator("#orders tbody tr")).to_have_count(PAGE_SIZE)
    assert listed_ids(page) == newest_first[:PAGE_SIZE]

    # By status: the cancelled two, newest first, each row saying so.
    page.locator("#search").get_by_label("Status").select_option("CANCELLED")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#orders tbody tr")).to_have_count(2)
    assert listed_ids(page) == [placed[10], placed[3]]
    assert {row[2] for row in table(page, "#orders")} == {"CANCELLED"}
    # The search is in the address: a reload (or a link someone shared) shows it again.
    expect(page).to_have_url(re.compile(r"/admin#status=CANCELLED$"))
    page.reload()
    expect(page.locator("#search").get_by_label("Status")).to_have_value("CANCELLED")
    expect(page.locator("#orders tbody tr")).to_have_count(2)
    assert listed_ids(page) == [placed[10], placed[3]]
    # A day range around today keeps them; from a day to come there is nothing.
    page.get_by_label("Placed from").fill("2000-01-01")
    page.get_by_label("Placed until").fill("2099-12-31")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#list-note")).to_have_text("")
    assert listed_ids(page) == [placed[10], placed[3]]
    [*_, ranged] = sent.queries("/admin/orders")
    assert ranged["status"] == ["CANCELLED"]
    assert re.fullmatch(r"2000-01-0[12]T\d\d:\d\d:00\.000Z", ranged["createdFrom"][0])
    assert re.fullmatch(r"2100-01-0[12]T\d\d:\d\d:00\.000Z", ranged["createdTo"][0])
    page.get_by_label("Placed from").fill("2099-01-01")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#list-note")).to_have_text("No order matches.")
    expect(page.locator("#orders tbody tr")).to_have_count(0)

    # By id, typed and sent with the keyboard; its amount in yen, which have no decimals.
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#orders tbody tr")).to_have_count(PAGE_SIZE)
    page.get_by_label("Order id").fill(yen)
    page.get_by_label("Order id").press("Enter")
    expect(page.locator("#orders tbody tr")).to_have_count(1)
    [row] = table(page, "#orders")
    assert row[:3] == [yen, buyer, "PENDING_PAYMENT"]
    assert row[4] == "¥3,000"
    assert text(page, "#error") == ""
    # Into the order and back: the search it was found by is still there.
    page.get_by_role("link", name=yen).click()
    expect(page.locator("#summary")).to_contain_text("¥3,000")
    assert table(page, "#lines") == [["SKU-JPY", "vendor-j", "2", "¥1,500", "¥3,000"]]
    page.get_by_role("link", name="Back to orders").click()
    expect(page).to_have_url(re.compile(rf"/admin#orderId={yen}$"))
    expect(page.get_by_label("Order id")).to_have_value(yen)
    assert listed_ids(page) == [yen]

    # What is not an order id is the API's 400, shown with the parameter it names.
    page.get_by_label("Order id").fill("not-an-order")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#error")).to_contain_text("Invalid Request")
    expect(page.locator("#error")).to_contain_text("order: ")
    assert visit.dialogs == []
    assert visit.csp_violations() == []


def lost_once() -> Callable[[Route], None]:
    """Drops the first POST on the way to the engine, as a failing network would."""
    lost: list[Request] = []

    def handle(route: Route) -> None:
        if route.request.method == "POST" and not lost:
            lost.append(route.request)
            route.abort("failed")
        else:
            route.continue_()

    return handle


def left_to_refund(page: Page) -> str:
    return {row[0]: row[1] for row in table(page, "#summary")}["Left to refund"]


def test_the_admin_refunds_from_the_console_after_confirming_what_goes_back(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    paid = shop.paid_order("stripe")  # 2 x $12.50
    page = visit.page
    sent = sent_by(page)
    page.goto(admin_link(shop.api))

    # Found by the provider's id support was handed.
    page.get_by_label("Provider's id").fill(paid.captured)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#orders tbody tr")).to_have_count(1)
    page.get_by_role("link", name=paid.order_id).click()

    expect(page.locator("#detail-id")).to_have_text(paid.order_id)
    expect(page.locator("#payment")).to_contain_text(paid.captured)
    payment = {row[0]: row[1] for row in table(page, "#payment")}
    assert payment["Status"] == "succeeded"
    assert payment["Provider"] == "stripe"
    expect(page.locator("#summary")).to_contain_text(paid.customer)
    assert table(page, "#lines") == [["SKU-1", "vendor-a", "2", "$12.50", "$25.00"]]
    assert left_to_refund(page) == "$25.00"
    created = page.locator("#timeline tbody tr").filter(has_text="Order.Created")
    expect(created.locator("td").nth(1)).to_have_text(f"customer:{paid.customer}")

    # Empty amount: the confirmation says it is the full refund, and cancelling sends nothing.
    page.locator("#refund-form").get_by_label("Reason").fill("customer asked")
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#refund-summary")).to_have_text("Full refund of $25.00")
    expect(page.get_by_role("button", name="Confirm refund")).to_be_focused()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#refund-confirm")).to_be_hidden()
    # More decimals than dollars have is refused in the page, naming the currency.
    page.get_by_label("Refund amount").fill("10.005")
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#error")).to_contain_text('Not an amount in USD: "10.005"')
    expect(page.locator("#refund-confirm")).to_be_hidden()

    # A part: what goes back and what stays, confirmed once however often it is clicked.
    page.get_by_label("Refund amount").fill("10")
    page.locator("#refund-form").get_by_label("Reason").fill(REASON)
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#refund-summary")).to_have_text("Refund $10.00 of $25.00 left to refund")
    expect(page.locator("#refund-detail")).to_contain_text("afterwards: $15.00")
    refunds_path = f"/admin/orders/{paid.order_id}/refunds"
    assert sent.to("POST", refunds_path) == []
    # The first try gets no answer: the same refund is sent again under the same key, once
    # however often it is clicked (the button is disabled while a request is out).
    page.route(f"**{refunds_path}", lost_once())
    page.get_by_role("button", name="Confirm refund").click()
    expect(page.locator("#error")).to_contain_text("Nothing was decided")
    expect(page.locator("#refund-summary")).to_have_text("Refund $10.00 of $25.00 left to refund")
    page.get_by_role("button", name="Confirm refund").dblclick()

    refund_rows = page.locator("#refunds tbody tr")
    expect(refund_rows).to_have_count(1)
    expect(page.locator("#notice")).to_contain_text("requested")
    expect(refund_rows.locator("td").nth(2)).to_have_text("succeeded")
    lost, posted = sent.to("POST", refunds_path)
    assert posted.post_data_json == {"amount": 1000, "reason": REASON}
    assert lost.post_data_json == posted.post_data_json
    key = posted.headers["idempotency-key"]
    assert lost.headers["idempotency-key"] == key
    [refund] = table(page, "#refunds")
    assert refund[1:6] == [
        "$10.00",
        "succeeded",
        "requested",
        REASON,
        "admin:ops",
    ]
    assert [r["status"] for r in shop.refunds(paid.order_id)] == ["succeeded"]
    expect(page.locator("#summary")).to_contain_text("$15.00")
    assert left_to_refund(page) == "$15.00"
    asked = page.locator("#timeline tbody tr").filter(has_text="Payment.RefundRequested")
    expect(asked.locator("td").nth(1)).to_have_text("admin:ops")
    expect(asked.locator("td").nth(4)).to_contain_text(REASON)
    # The reason's markup is text wherever it shows.
    assert page.locator("#detail b, #notice b").count() == 0

    # The rest goes back elsewhere while the confirmation is open: the engine refuses (409)
    # what the person confirmed, shown as the problem it is; the key was the refund's own.
    page.get_by_label("Refund amount").fill("")
    page.locator("#refund-form").get_by_label("Reason").fill("the rest")
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#refund-summary")).to_have_text("Full refund of $15.00")
    behind = shop.refund(paid.order_id, {"reason": "refunded by phone"})
    assert behind.status_code == 202, behind.text
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.get_by_role("button", name="Confirm refund").click()
    assert answered.value.status == 409
    problem = answered.value.json()
    expect(page.locator("#error")).to_contain_text(f"{problem['title']}: {problem['detail']}")
    [*_, refused] = sent.to("POST", refunds_path)
    assert refused.post_data_json == {"amount": 1500, "reason": "the rest"}
    assert refused.headers["idempotency-key"] not in ("", key)
    assert len(shop.refunds(paid.order_id)) == 2
    # The browser logs the lost and the refused request itself; nothing else went wrong.
    lost_log, refused_log = visit.errors()
    assert "net::ERR_FAILED" in lost_log
    assert "status of 409" in refused_log
    assert refused_log.endswith(f"{refunds_path})")
    assert visit.csp_violations() == []
    assert visit.dialogs == []


def test_capture_reviews_show_money_that_paid_for_no_order(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    stray = httpx.post(
        f"{shop.sandbox_url}/razorpay/v1/sandbox/payments/pay",
        json={"amount": 499, "currency": "USD", "notes": {}},
        timeout=30,
    )
    assert stray.status_code == 200, stray.text
    stray_id = stray.json()["razorpay_payment_id"]
    # The review is in its view before the page asks (it lands with the provider's webhook).
    wait_until(
        lambda: [r for r in shop.reviews() if r["gatewayPaymentId"] == stray_id],
        what="the foreign capture's review",
    )
    page = visit.page
    page.goto(admin_link(shop.api))

    page.get_by_role("link", name="Capture reviews").click()
    expect(page.get_by_role("heading", name="Capture reviews")).to_be_visible()
    review = page.locator("#review-list tbody tr").filter(has_text=stray_id)
    expect(review).to_have_count(1)
    cells: list[Any] = review.locator("td").all_text_contents()
    assert cells[1:5] == ["foreign", "razorpay", stray_id, "$4.99"]
    assert cells[7] == "a person decides"
    expect(page.get_by_role("link", name="Capture reviews")).to_have_attribute(
        "aria-current", "page"
    )
    assert_clean(visit)


def overflow(page: Page) -> int:
    """How far the page is wider than the screen (0: nothing scrolls sideways)."""
    width: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def test_at_a_phones_width_the_console_fits_and_works_by_keyboard(
    api: RunningApi, open_visit: OpenVisit
) -> None:
    buyer = customer()
    order_id = api.checkout(buyer, [{"sku": "SKU-1", "quantity": 3}]).json()["orderId"]
    caught_up(api, str(api.head()))
    visit = open_visit(viewport=PHONE)
    page = visit.page
    page.goto(admin_link(api))
    expect(page.locator("#orders tbody tr")).to_have_count(1)
    assert overflow(page) == 0

    # The search is reached and sent with the keyboard alone.
    page.get_by_label("Order id").focus()
    page.keyboard.type(order_id)
    with page.expect_response(lambda r: f"order={order_id}" in r.url) as searched:
        page.keyboard.press("Enter")
    assert searched.value.status == 200
    expect(page.locator("#orders tbody tr")).to_have_count(1)
    row = page.locator("#orders tbody tr").first
    # Each row is a card of labelled values, inside the screen.
    box = row.bounding_box()
    assert box is not None
    assert 0 <= box["x"] < box["x"] + box["width"] <= PHONE["width"]
    amount = row.locator("td").nth(4)
    expect(amount).to_have_text("$37.50")
    assert amount.evaluate("cell => getComputedStyle(cell, '::before').content") == '"Amount"'
    for control in ("Order id", "Status", "Placed until"):
        expect(page.locator("#search").get_by_label(control)).to_be_in_viewport()

    link = page.get_by_role("link", name=order_id)
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#detail-id")).to_have_text(order_id)
    created = page.locator("#timeline tbody tr").filter(has_text="Order.Created")
    expect(created).to_have_count(1)
    expect(page.locator("#lines tbody tr")).to_have_count(1)
    assert table(page, "#lines") == [["SKU-1", "vendor-a", "3", "$12.50", "$37.50"]]
    expect(page.get_by_role("button", name="Show state")).to_be_visible()
    assert overflow(page) == 0
    back = page.get_by_role("link", name="Back to orders")
    back.scroll_into_view_if_needed()
    expect(back).to_be_in_viewport()
    assert_clean(visit)
