"""What the API hands the pages is shown as text: markup in a product's name, sku or a
customer id (also as the actor in an order's timeline) shows literally, creates no element
and runs nothing, with the pages' policy enforced and (to see the escaping alone) with it
bypassed."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from application.catalog import CatalogEntry
from tests.e2e.browser.conftest import OpenVisit, Visit
from tests.e2e.browser.demo_pages import admin_link, storefront_link, table
from tests.e2e.payment_shop import OpenShop

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
# Would hand the customer's token to whoever reads the server's request log.
STEALING_NAME = "<svg onload=\"fetch('/stolen?t='+sessionStorage.getItem('token'))\">"
HOSTILE_SKU = 'SKU-"><img src=/stolen-sku onerror=alert(3)>'
HOSTILE_CUSTOMER = "<img src=/stolen-sub onerror=alert(4)>"

HOSTILE_CATALOG = [
    CatalogEntry(HOSTILE_SKU, HOSTILE_NAME, "<b>vendor</b>", 1250, "USD", 10),
    CatalogEntry("SKU-STEAL", STEALING_NAME, "vendor-x", 99, "USD", 10),
    CatalogEntry("SKU-JPY", "Tea bowl", "vendor-j", 1500, "JPY", 10),
]


def assert_nothing_ran(visit: Visit) -> None:
    assert visit.dialogs == []
    paths = [urlsplit(url).path for url in visit.requests]
    assert not [p for p in paths if "stolen" in p or p.endswith("/x")], paths
    assert visit.page.locator("table img, table svg").count() == 0
    assert visit.csp_violations() == []
    assert visit.errors() == []


@pytest.mark.parametrize("policy", ["enforced", "bypassed"])
def test_hostile_values_show_as_text(
    open_shop: OpenShop, open_visit: OpenVisit, policy: str
) -> None:
    shop = open_shop()
    shop.api.container.catalog.upsert(HOSTILE_CATALOG)
    order_id = shop.checkout(HOSTILE_CUSTOMER, "stripe", [{"sku": "SKU-JPY", "quantity": 1}])

    store = open_visit(bypass_csp=policy == "bypassed")
    token = shop.api.token(HOSTILE_CUSTOMER)
    store.page.goto(storefront_link(shop.api, token, order_id))
    expect(store.page.get_by_role("cell", name=HOSTILE_NAME, exact=True)).to_be_visible()
    expect(store.page.get_by_role("cell", name=STEALING_NAME, exact=True)).to_be_visible()
    expect(store.page.get_by_role("cell", name=HOSTILE_SKU, exact=True)).to_be_visible()
    expect(store.page.locator("#order-id")).to_have_text(order_id)
    products = {row[0]: row for row in table(store.page, "#products")}
    assert products[HOSTILE_SKU][1:4] == [HOSTILE_NAME, "$12.50", "10"]
    # The quantity box still names the sku the customer buys, markup and all.
    sku_box = store.page.get_by_label(f"Quantity of {HOSTILE_NAME}")
    assert sku_box.get_attribute("data-sku") == HOSTILE_SKU
    assert_nothing_ran(store)

    admin = open_visit(bypass_csp=policy == "bypassed")
    admin.page.goto(admin_link(shop.api))
    expect(admin.page.get_by_role("cell", name=HOSTILE_CUSTOMER, exact=True)).to_be_visible()
    [row] = table(admin.page, "#orders")
    assert row[:3] == [order_id, HOSTILE_CUSTOMER, "PENDING_PAYMENT"]
    assert row[4] == "¥1,500"
    assert_nothing_ran(admin)

    # The order's timeline names the customer as its actor, markup and all.
    admin.page.get_by_role("link", name=order_id).click()
    actor = admin.page.get_by_role("cell", name=f"customer:{HOSTILE_CUSTOMER}", exact=True)
    expect(actor.first).to_be_visible()
    assert_nothing_ran(admin)
