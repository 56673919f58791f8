"""GET / points a newcomer to the pages and the reference; GET /docs is the OpenAPI document
as a page a person reads, under the same policy as the other pages."""

from __future__ import annotations

import html
import re

import httpx

from tests.e2e.conftest import RunningApi


def _links(page: httpx.Response) -> set[str]:
    return set(re.findall(r'<a href="([^"]+)"', page.text))


def _assert_page_headers(page: httpx.Response) -> None:
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    csp = page.headers["content-security-policy"]
    [nonce] = re.findall(r"'nonce-([\w-]+)'", csp.split("script-src", 1)[1].split(";", 1)[0])
    assert "default-src 'none'" in csp
    assert f"style-src 'nonce-{nonce}'" in csp
    assert "unsafe" not in csp
    # Nothing but the page's own nonce-carrying style; no script, nothing from elsewhere.
    assert re.findall(r"<style([^>]*)>", page.text) == [f' nonce="{nonce}"']
    assert "<script" not in page.text
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page.text)


def test_the_start_page_links_the_pages_the_docs_and_the_document(api: RunningApi) -> None:
    page = api.client.get("/")

    _assert_page_headers(page)
    assert {"/storefront", "/admin", "/docs", "/openapi.json"} <= _links(page)
    for link in ("/storefront", "/admin", "/docs", "/openapi.json"):
        assert api.client.get(link).status_code == 200, link


def test_the_docs_page_shows_every_operation_of_the_document(api: RunningApi) -> None:
    document = api.client.get("/openapi.json").json()

    page = api.client.get("/docs")

    _assert_page_headers(page)
    text = html.unescape(page.text)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert f'id="op-{operation["operationId"]}"' in page.text
            assert f"{method.upper()}</span> <code>{path}</code>" in text, (method, path)
            assert operation["summary"].replace("`", "") in re.sub(r"</?code>", "", text)
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in page.text
    assert "/openapi.json" in _links(page)


def test_the_docs_page_describes_parameters_bodies_and_problems(api: RunningApi) -> None:
    page = api.client.get("/docs").text
    listing = page[page.index('id="op-listOwnOrders"') :]
    listing = listing[: listing.index("</section>")]

    for parameter in ("limit", "cursor", "X-Log-Position"):
        assert f"<code>{parameter}</code>" in listing
    assert "≥ 1, ≤ 200" in listing
    assert '<a href="#schema-CustomerOrderPage">CustomerOrderPage</a>' in listing
    for status in ("400", "401", "403", "429"):
        assert f"<code>{status}</code>" in listing
    assert "<code>service</code> or <code>auditor</code>" in listing
    checkout = page[page.index('id="op-checkout"') :]
    assert "Request body (required)" in checkout[: checkout.index("</section>")]
