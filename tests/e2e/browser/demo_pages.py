"""Reading the demo pages the way a person sees them: links with the token in the
fragment (as `checkout-engine run` prints them) and tables as rows of visible text."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.e2e.conftest import RunningApi


def storefront_link(api: RunningApi, token: str, order_id: str | None = None) -> str:
    path = f"/storefront/orders/{order_id}" if order_id else "/storefront"
    return f"{api.base_url}{path}#token={token}"


def admin_link(api: RunningApi) -> str:
    token = api.token("ops", ["admin"])
    return f"{api.base_url}/admin#token={token}"


def table(page: Page, selector: str) -> list[list[str]]:
    """The table's body as text, cell by cell (no-break spaces as plain spaces)."""
    rows: list[list[str]] = page.locator(f"{selector} tbody tr").evaluate_all(
        "rows => rows.map((row) => [...row.cells].map((cell) => cell.textContent))"
    )
    return [[text.replace("\xa0", " ").replace("\u202f", " ") for text in row] for row in rows]


def text(page: Page, selector: str) -> str:
    content = page.locator(selector).text_content() or ""
    return content.replace("\xa0", " ").replace("\u202f", " ")
