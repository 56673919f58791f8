"""The pages' responses: a strict Content-Security-Policy with a fresh nonce each time,
the nonce on the page's own script and style, and the other protective headers."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from application.catalog import CatalogEntry
from tests.e2e.browser.conftest import Visit
from tests.e2e.browser.demo_pages import admin_link, storefront_link, table, text
from tests.e2e.conftest import RunningApi, StartApi
from tests.e2e.payment_shop import OpenShop, customer

PAGES = [
    "/",
    "/docs",
    "/storefront",
    "/storefront/orders/6b0d9a8e-4f4e-4a57-9d1c-0d6f8f5f9e21",
    "/admin",
]


def policy(response: httpx.Response) -> dict[str, list[str]]:
    header = response.headers["content-security-policy"]
    directives = [d.split() for d in header.split(";") if d.strip()]
    return {name: sources for name, *sources in directives}


def nonce_of(csp: dict[str, list[str]]) -> str:
    [source] = [s for s in csp["script-src"] if s.startswith("'nonce-")]
    return source.removeprefix("'nonce-").removesuffix("'")


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_a_strict_policy_with_a_fresh_nonce(api: RunningApi, path: str) -> None:
    first, second = api.client.get(path), api.client.get(path)
    assert first.status_code == second.status_code == 200
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["referrer-policy"] == "no-referrer"
    assert first.headers["x-frame-options"] == "DENY"
    csp = policy(first)
    nonce = nonce_of(csp)
    assert len(nonce) >= 22
    assert nonce != nonce_of(policy(second))
    assert csp["default-src"] == ["'none'"]
    assert csp["style-src"] == [f"'nonce-{nonce}'"]
    assert csp["connect-src"][0] == "'self'"
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert not [s for sources in csp.values() for s in sources if "unsafe" in s]
    # Every executable script and every style carries the nonce; the config is data.
    tags = re.findall(r"<(script|style)([^>]*)>", first.text)
    assert tags
    for tag, attributes in tags:
        if 'type="application/json"' not in attributes:
            assert f'nonce="{nonce}"' in attributes, (tag, attributes)
    assert " on" not in " ".join(a for _, a in tags)


def test_policy_allows_checkout_js_only_where_the_storefront_loads_it(
    start_api: StartApi, open_shop: OpenShop
) -> None:
    # No Razorpay sandbox: the storefront loads the real checkout.js and opens its frame.
    real = policy(start_api().client.get("/storefront"))
    assert "https://checkout.razorpay.com" in real["script-src"]
    assert real["frame-src"] == ["https://api.razorpay.com"]
    assert "require-trusted-types-for" not in real
    # With the sandbox, the pages load nothing from elsewhere and refuse HTML strings.
    shop = open_shop()
    for path in PAGES:
        sandboxed = policy(shop.api.client.get(path))
        assert sandboxed["script-src"] == [f"'nonce-{nonce_of(sandboxed)}'"]
        assert sandboxed["connect-src"] == ["'self'"]
        assert "frame-src" not in sandboxed
        assert sandboxed["require-trusted-types-for"] == ["'script'"]
        assert sandboxed["trusted-types"] == ["'none'"]


def test_amounts_use_the_currencys_own_exponent(open_shop: OpenShop, visit: Visit) -> None:
    shop = open_shop()
    shop.api.container.catalog.upsert(
        [
            CatalogEntry("SKU-JPY", "Tea bowl", "vendor-j", 1500, "JPY", 10),
            CatalogEntry("SKU-KWD", "Dates", "vendor-k", 12345, "KWD", 10),
            CatalogEntry("SKU-BHD", "Coffee pot", "vendor-k", 5, "BHD", 10),
        ]
    )
    buyer = customer()
    kwd_order = shop.checkout(buyer, "stripe", [{"sku": "SKU-KWD", "quantity": 2}])

    response = visit.page.goto(storefront_link(shop.api, shop.api.token(buyer), kwd_order))
    assert response is not None
    assert "'nonce-" in response.headers["content-security-policy"]
    # The order's lines name the product too: the catalog's row is the one to wait for.
    products = visit.page.locator("#products")
    expect(products.get_by_role("cell", name="Dates", exact=True)).to_be_visible()
    prices = {row[0]: row[2] for row in table(visit.page, "#products")}
    assert prices["SKU-1"] == "$12.50"
    assert prices["SKU-2"] == "$4.99"
    assert prices["SKU-EUR"] == "€30.00"
    assert prices["SKU-JPY"] == "¥1,500"
    assert prices["SKU-KWD"] == "KWD 12.345"
    assert prices["SKU-BHD"] == "BHD 0.005"
    expect(visit.page.locator("#amount")).to_have_text(re.compile("Total"))
    assert text(visit.page, "#amount") == "Total KWD 24.690, refunded KWD 0.000"

    visit.page.goto(admin_link(shop.api))
    expect(visit.page.get_by_role("cell", name=buyer, exact=True)).to_be_visible()
    [row] = table(visit.page, "#orders")
    assert row[4] == "KWD 24.690"
    assert visit.csp_violations() == []
    assert visit.errors() == []
