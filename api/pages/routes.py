"""The demo storefront and admin console: static pages on the public JSON API.

They hold no logic of their own: the browser calls the same endpoints any frontend
would, with the bearer token the person pasted (or `run` put in the link's fragment,
which never reaches a server log).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from infrastructure.bootstrap import Container

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _page(name: str) -> str:
    return resources.files("api.pages").joinpath(name).read_text(encoding="utf-8")


def _embed(config: dict[str, Any]) -> str:
    # JSON inside <script>: "<" escaped so no value can close the element.
    return json.dumps(config).replace("<", "\\u003c")


async def storefront(request: Request) -> HTMLResponse:
    container: Container = request.app.state.container
    base = container.settings.razorpay_api_base
    config: dict[str, Any] = {
        "orderId": None,
        # The sandbox hosts a test page where checkout.js would open; real Razorpay uses
        # checkout.js itself (the page loads it when this is null).
        "razorpayCheckoutBase": f"{base.rstrip('/')}/checkout" if base else None,
        "razorpayResult": None,
    }
    order_id = request.path_params.get("order_id")
    if order_id is not None:
        config["orderId"] = str(order_id)
    if request.method == "POST":
        # Razorpay's redirect mode posts what checkout.js hands its handler.
        form = await request.form()
        fields = ("razorpay_order_id", "razorpay_payment_id", "razorpay_signature")
        if all(isinstance(form.get(f), str) for f in fields):
            config["razorpayResult"] = {f: form.get(f) for f in fields}
    html = _page("storefront.html").replace("__CONFIG__", _embed(config))
    return HTMLResponse(html, headers=_SECURITY_HEADERS)


async def admin_console(request: Request) -> HTMLResponse:
    return HTMLResponse(_page("admin.html"), headers=_SECURITY_HEADERS)


def order_page_path(order_id: UUID) -> str:
    return f"/storefront/orders/{order_id}"


routes = [
    Route("/storefront", storefront, methods=["GET"]),
    Route("/storefront/orders/{order_id:uuid}", storefront, methods=["GET", "POST"]),
    Route("/admin", admin_console, methods=["GET"]),
]
