"""The demo storefront and admin console are served, and stay out of the API's way."""

from __future__ import annotations

import json
import re
import uuid

from tests.e2e.conftest import RunningApi


def embedded_config(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="config">(.*?)</script>', html)
    assert match is not None
    config: dict[str, object] = json.loads(match.group(1))
    return config


def test_storefront_and_admin_pages(api: RunningApi) -> None:
    page = api.client.get("/storefront")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert embedded_config(page.text)["orderId"] is None
    admin = api.client.get("/admin")
    assert admin.status_code == 200
    assert "/admin/orders" in admin.text


def test_razorpay_redirect_result_is_handed_to_the_page(api: RunningApi) -> None:
    order_id = uuid.uuid4()
    fields = {
        "razorpay_order_id": "order_X",
        "razorpay_payment_id": "pay_Y",
        "razorpay_signature": "</script><script>alert(1)</script>",
    }
    page = api.client.post(f"/storefront/orders/{order_id}", data=fields)
    assert page.status_code == 200
    config = embedded_config(page.text)
    assert config["orderId"] == str(order_id)
    assert config["razorpayResult"] == fields
    assert "<script>alert(1)" not in page.text


def test_unknown_paths_are_still_problems(api: RunningApi) -> None:
    response = api.client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
