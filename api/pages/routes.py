"""The start page, the API reference, the demo storefront and admin console.

The storefront and console are static pages on the public JSON API.

They hold no logic of their own: the browser calls the same endpoints any frontend
would, with the bearer token the person pasted (or `run` put in the link's fragment,
which never reaches a server log).

Each response carries a strict Content-Security-Policy with a fresh nonce for the page's
own inline script and style, so markup that ever slipped into the page could not run.
"""

from __future__ import annotations

import json
import re
import secrets
from importlib import resources
from typing import Any, get_args
from uuid import UUID

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from api.pages.docs import docs_page
from api.schemas import CaptureReview, WebhooksQuery
from api.services import services_of
from domain import OrderStatus, Provider
from domain.money import ISO_4217_EXPONENTS
from domain.payment import OWN_CAPTURE_REFUNDS

# Real Razorpay (no sandbox configured): checkout.js is loaded from its CDN and opens its
# modal in a frame on the API's origin.
RAZORPAY_CHECKOUT_JS = "https://checkout.razorpay.com"
RAZORPAY_CHECKOUT_FRAME = "https://api.razorpay.com"

_PLACEHOLDER = re.compile(r"__(NONCE|CONFIG|SCRIPT)__")


def content_security_policy(nonce: str, *, razorpay_checkout_js: bool = False) -> str:
    """Only the page's own nonce-carrying script and style run; it talks to its own origin.

    Trusted Types make the browser itself refuse HTML strings in DOM sinks (innerHTML);
    checkout.js is third-party code we cannot hold to that, so it is off on the one page
    that loads it.
    """
    script = [f"'nonce-{nonce}'"]
    connect = ["'self'"]
    directives: dict[str, list[str]] = {}
    if razorpay_checkout_js:
        script.append(RAZORPAY_CHECKOUT_JS)
        connect.append(RAZORPAY_CHECKOUT_FRAME)
        directives["frame-src"] = [RAZORPAY_CHECKOUT_FRAME]
    else:
        directives["require-trusted-types-for"] = ["'script'"]
        directives["trusted-types"] = ["'none'"]
    policy = {
        "default-src": ["'none'"],
        "script-src": script,
        "style-src": [f"'nonce-{nonce}'"],
        "connect-src": connect,
        "img-src": ["'self'", "data:"],
        # No page posts a form: the hosted checkout pages are reached by navigation.
        "form-action": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        **directives,
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


def _headers(nonce: str, *, razorpay_checkout_js: bool = False) -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": content_security_policy(
            nonce, razorpay_checkout_js=razorpay_checkout_js
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def _embed(config: dict[str, Any]) -> str:
    # JSON inside <script>: "<" escaped so no value can close the element.
    return json.dumps(config).replace("<", "\\u003c")


def _page_file(name: str) -> str:
    return resources.files("api.pages").joinpath(name).read_text(encoding="utf-8")


def _render(name: str, nonce: str, config: dict[str, Any], scripts: tuple[str, ...] = ()) -> str:
    """The page with its placeholders filled in one pass, so no value is ever re-scanned.

    ``scripts`` name files of the page's own script, put in order into its one inline
    script under the page's nonce: the one policy every page has holds, and each file
    stays a readable size.
    """
    values = {
        "NONCE": nonce,
        "CONFIG": _embed(config),
        "SCRIPT": "\n".join(_page_file(script) for script in scripts),
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], _page_file(name))


def _nonce() -> str:
    # token_urlsafe is [A-Za-z0-9_-]: safe in an attribute and in the header as it is.
    return secrets.token_urlsafe(18)


async def storefront(request: Request) -> HTMLResponse:
    base = services_of(request).settings.razorpay_api_base
    config: dict[str, Any] = {
        "orderId": None,
        # The sandbox hosts a test page where checkout.js would open; real Razorpay uses
        # checkout.js itself (the page loads it when this is null).
        "razorpayCheckoutBase": f"{base.rstrip('/')}/checkout" if base else None,
        "razorpayResult": None,
        "currencyExponents": ISO_4217_EXPONENTS,
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
    nonce = _nonce()
    html = _render("storefront.html", nonce, config)
    return HTMLResponse(html, headers=_headers(nonce, razorpay_checkout_js=not base))


def _offered_operations(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    """operationId -> method and path of every operation the served API has.

    The console shows an action only when its operation is here, so a button never
    appears before the engine it runs on offers the endpoint.
    """
    return {
        operation["operationId"]: {"method": method.upper(), "path": path}
        for path, methods in document.get("paths", {}).items()
        for method, operation in methods.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def _choices(annotation: Any) -> list[str]:
    """The values of a Literal field, optional or not, in the order the schema names them."""
    values = get_args(annotation)
    if values and not isinstance(values[0], str):  # Literal[...] | None
        values = get_args(values[0])
    return [str(value) for value in values]


CONSOLE_SCRIPTS = (
    "admin.js",
    "admin_order.js",
    "admin_capture.js",
    "admin_reviews.js",
    "admin_webhooks.js",
    "admin_views.js",
)


async def admin_console(request: Request) -> HTMLResponse:
    nonce = _nonce()
    config = {
        "currencyExponents": ISO_4217_EXPONENTS,
        "orderStatuses": [status.value for status in OrderStatus],
        "providers": [provider.value for provider in Provider],
        "reviewKinds": _choices(CaptureReview.model_fields["kind"].annotation),
        "reviewStatuses": _choices(CaptureReview.model_fields["status"].annotation),
        "webhookStatuses": _choices(WebhooksQuery.model_fields["status"].annotation),
        # Refunds that give back the order's own capture (the rest refund extra charges).
        "ownCaptureRefundKinds": sorted(kind.value for kind in OWN_CAPTURE_REFUNDS),
        "operations": _offered_operations(request.app.state.openapi),
    }
    html = _render("admin.html", nonce, config, scripts=CONSOLE_SCRIPTS)
    return HTMLResponse(html, headers=_headers(nonce))


async def start_page(request: Request) -> HTMLResponse:
    """Where a newcomer lands: links to the pages, the reference and the document."""
    nonce = _nonce()
    return HTMLResponse(_render("index.html", nonce, {}), headers=_headers(nonce))


async def api_reference(request: Request) -> HTMLResponse:
    """The served OpenAPI document as HTML (rendered here: the page runs no script)."""
    nonce = _nonce()
    document: dict[str, Any] = request.app.state.openapi
    return HTMLResponse(docs_page(document, nonce), headers=_headers(nonce))


def order_page_path(order_id: UUID) -> str:
    return f"/storefront/orders/{order_id}"


routes = [
    Route("/", start_page, methods=["GET"]),
    Route("/docs", api_reference, methods=["GET"]),
    Route("/storefront", storefront, methods=["GET"]),
    Route("/storefront/orders/{order_id:uuid}", storefront, methods=["GET", "POST"]),
    Route("/admin", admin_console, methods=["GET"]),
]
