"""Through the API, every change names the authenticated principal: ``customer:<sub>`` for
checkout and cancel, ``admin:<sub>`` for catalog changes and refunds (adr/0016)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.engine import Engine

from api.app import create_app
from application.application import CheckoutApplication
from domain import Order, Payment, Product, Stock
from entrypoints.bootstrap import Container, Services
from entrypoints.tokens import mint_token

SECRET = "integration-test-secret-0123456789-abc"


@pytest.fixture
def services(database_url: str) -> Services:
    return Services(database_url, "", SECRET)


def _events(app: CheckoutApplication, aggregate_id: UUID, kind: type) -> list[Any]:
    return [e for e in app.events.get(aggregate_id) if isinstance(e, kind)]


def _call(container: Container, requests: list[tuple[str, str, str, Any]]) -> list[Any]:
    """(method, path, token, json) in order; the answers' JSON bodies."""

    async def run() -> list[Any]:
        transport = httpx.ASGITransport(app=create_app(container))
        answers = []
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            for method, path, token, body in requests:
                response = await client.request(
                    method, path, json=body, headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code < 300, response.text
                answers.append(response.json())
        return answers

    return asyncio.run(run())


def test_checkout_cancel_and_catalog_changes_name_the_principal(
    container: Container, db: Engine
) -> None:
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    admin = mint_token(SECRET, "ann", roles=["admin"])
    alice = mint_token(SECRET, customer)
    product = {
        "sku": sku,
        "name": "Mug",
        "vendorId": "vendor-a",
        "unitAmount": 1250,
        "currency": "USD",
        "stock": 5,
    }
    cart = {"items": [{"sku": sku, "quantity": 2}], "provider": "stripe"}
    _, _, placed = _call(
        container,
        [
            ("POST", "/admin/products", admin, product),
            ("POST", f"/admin/products/{sku}/stock", admin, {"delta": 3}),
            ("POST", "/checkout", alice, cart),
        ],
    )
    order_id = UUID(placed["orderId"])
    _call(container, [("POST", f"/orders/{order_id}/cancel", alice, None)])

    app = container.app
    [created] = _events(app, order_id, Order.Created)
    [cancelled] = _events(app, order_id, Order.Cancelled)
    assert created.actor == cancelled.actor == f"customer:{customer}"
    [initiated] = _events(app, Payment.id_for(order_id), Payment.Initiated)
    assert initiated.actor == f"customer:{customer}"
    [registered] = _events(app, Product.id_for(sku), Product.Registered)
    assert registered.actor == "admin:ann"
    stock: list[Any] = list(app.events.get(Stock.id_for(sku)))
    assert [type(e).__name__ for e in stock] == ["Created", "Restocked", "Reserved", "Released"]
    assert [e.actor for e in stock] == ["admin:ann", "admin:ann"] + [f"customer:{customer}"] * 2
