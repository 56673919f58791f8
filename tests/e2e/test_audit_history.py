"""GET /admin/orders/{id}/history and /admin/audit/export for auditors (adr/0015): a paid,
partly refunded order's whole history, its state between payment and refund, the export's
lines against their schema; an auditor reads all of it and changes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from infrastructure.relay import cloud_event_id
from projections.stock_movements import StockMovements
from projections.tracking import position
from tests.cli import REPO
from tests.e2e.openapi_schemas import validate
from tests.e2e.payment_shop import PaidOrder, PaymentShop
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.waiting import wait_until

REASON = "one cup arrived broken"
EXPORT_SCHEMA = json.loads((REPO / "schemas" / "audit.export.v1.json").read_text())


def auditor(shop: PaymentShop) -> dict[str, str]:
    return shop.api.auth("audit-1", ["auditor"])


@pytest.fixture
def refunded(shop: PaymentShop) -> PaidOrder:
    paid = shop.paid_order("stripe")
    response = shop.refund(paid.order_id, {"amount": 1000, "reason": REASON})
    assert response.status_code == 202, response.text
    shop.wait_order(paid.order_id, paid.customer, "PARTIALLY_REFUNDED")
    # The stock index is a follower of the log: wait until it has read all of it.
    head = shop.api.head()
    wait_until(
        lambda: position(shop.api.container.db, StockMovements.name) >= head,
        what="the stock movements index to catch up",
    )
    return paid


def history(shop: PaymentShop, order_id: str, **params: str) -> dict[str, Any]:
    response = shop.api.client.get(
        f"/admin/orders/{order_id}/history", params=params, headers=auditor(shop)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_auditor_reads_the_whole_history(shop: PaymentShop, refunded: PaidOrder) -> None:
    body = history(shop, refunded.order_id)
    entries = body["entries"]
    names = {e["name"] for e in entries if e["kind"] == "event"}
    assert {
        "Order.Created",
        "Payment.Initiated",
        "Payment.ProviderOrderCreated",
        "Payment.Succeeded",
        "Order.Confirmed",
        "Payment.RefundRequested",
        "Order.Refunded",
    } <= names
    assert [e["time"] for e in entries] == sorted(e["time"] for e in entries)
    [refund] = [e for e in entries if e["name"] == "Payment.RefundRequested"]
    assert refund["actor"] == "admin:ops"
    assert REASON in refund["summary"]
    stock = [e for e in entries if e["stream"] == "stock"]
    assert {e["name"] for e in stock} == {"Stock.Reserved", "Stock.Committed"}
    publications = [e for e in entries if e["kind"] == "publication"]
    assert {p["data"]["topic"] for p in publications} == {"orders.confirmed", "orders.refunded"}
    for publication in publications:
        expected = cloud_event_id(uuid.UUID(refunded.order_id), publication["version"])
        assert publication["data"]["ceId"] == expected
    webhooks = [e for e in entries if e["kind"] == "webhook"]
    assert webhooks, "the capture's webhook is linked by its provider event id"
    assert all(e["actor"] == "provider:stripe" for e in webhooks)
    calls = {e["data"]["kind"] for e in entries if e["kind"] == "provider_call"}
    assert {"create_order", "refund"} <= calls


def test_at_an_instant_between_payment_and_refund(shop: PaymentShop, refunded: PaidOrder) -> None:
    entries = history(shop, refunded.order_id)["entries"]
    [refund] = [e for e in entries if e["name"] == "Payment.RefundRequested"]
    asked = datetime.fromisoformat(refund["time"])
    at = (asked - timedelta(microseconds=1)).isoformat()

    state = history(shop, refunded.order_id, at=at)["state"]

    assert state["existed"] is True
    assert state["order"]["status"] == "PAYMENT_CONFIRMED"
    assert state["order"]["refundedTotal"] == 0
    assert state["payment"]["status"] == "succeeded"
    assert state["payment"]["refundedAmount"] == 0
    assert state["payment"]["refunds"] == {}
    before = history(shop, refunded.order_id, at="2001-01-01T00:00:00Z")["state"]
    assert (before["existed"], before["order"]) == (False, None)


def test_the_history_matches_its_documented_schema(shop: PaymentShop, refunded: PaidOrder) -> None:
    document = shop.api.client.get("/openapi.json").json()
    operation = document["paths"]["/admin/orders/{orderId}/history"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    body = history(shop, refunded.order_id, at="2030-01-01T00:00:00Z", evidence="true")
    assert validate(schema, body, document) == []
    assert "auditor" in operation["description"]
    assert "/admin/audit/export" in document["paths"]


def test_an_auditor_cannot_refund(shop: PaymentShop, refunded: PaidOrder) -> None:
    before = shop.api.head()
    headers = auditor(shop) | {"Idempotency-Key": f"audit-{uuid.uuid4()}"}
    response = shop.api.client.post(
        f"/admin/orders/{refunded.order_id}/refunds",
        json={"amount": 100, "reason": "an auditor tries"},
        headers=headers,
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert shop.api.head() == before


def test_unknown_orders_and_bad_instants(shop: PaymentShop) -> None:
    client, headers = shop.api.client, auditor(shop)
    unknown = client.get(f"/admin/orders/{uuid.uuid4()}/history", headers=headers)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    for bad in ("yesterday", "2026-11-21T14:02:00", "2026-13-01T00:00:00Z"):
        response = client.get(
            f"/admin/orders/{uuid.uuid4()}/history", params={"at": bad}, headers=headers
        )
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "at"
    customer = shop.api.auth("cust-nosy")
    assert client.get(f"/admin/orders/{uuid.uuid4()}/history", headers=customer).status_code == 403


def test_the_export_streams_lines_that_validate(shop: PaymentShop, refunded: PaidOrder) -> None:
    validator = Draft202012Validator(EXPORT_SCHEMA)
    with shop.api.client.stream("GET", "/admin/audit/export", headers=auditor(shop)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines
    for line in lines:
        assert list(validator.iter_errors(line)) == [], line
    mine = [line for line in lines if line["originatorId"] == refunded.order_id]
    assert mine[0]["event"] == "Order.Created"
    one = shop.api.client.get(
        "/admin/audit/export", params={"order": refunded.order_id}, headers=auditor(shop)
    )
    assert one.status_code == 200
    assert {json.loads(line)["event"] for line in one.text.splitlines()} >= {
        "Order.Created",
        "Payment.RefundRequested",
        "Stock.Reserved",
    }
    missing = shop.api.client.get(
        "/admin/audit/export", params={"order": str(uuid.uuid4())}, headers=auditor(shop)
    )
    assert missing.status_code == 404
    bad = shop.api.client.get(
        "/admin/audit/export", params={"since": "nope"}, headers=auditor(shop)
    )
    assert bad.status_code == 400
