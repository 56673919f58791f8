"""The hosted test pages: Stripe Checkout (Pay / Decline) and Razorpay checkout (Pay / Fail)."""

from __future__ import annotations

import json
from html import escape
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .razorpay_objects import RazorpayApiError
from .razorpay_orders import PaymentOutcome, RazorpayOrders
from .store import JsonObject
from .stripe_checkout import StripeCheckout
from .stripe_errors import StripeApiError

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; color: #1a1f36; }
.card { border: 1px solid #e3e8ee; border-radius: 8px; padding: 1.5rem; }
.amount { font-size: 2rem; font-weight: 600; margin: .5rem 0 1rem; }
.badge { background: #ffde92; border-radius: 4px; padding: 2px 6px; font-size: .75rem; }
button { font-size: 1rem; padding: .6rem 1.2rem; margin-right: .5rem; border-radius: 6px;
         border: 0; cursor: pointer; }
.pay { background: #635bff; color: white; } .fail { background: #df1b41; color: white; }
td { padding: .2rem .5rem .2rem 0; }
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><div class='card'>"
        f"<span class='badge'>TEST MODE · provider sandbox</span><h1>{escape(title)}</h1>"
        f"{body}</div></body></html>"
    )
    return HTMLResponse(html, status_code=status)


# How Stripe and Razorpay write amounts: zero-decimal and three-decimal currencies (their
# docs' lists); every other currency has two decimals.
_ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])


def _money(amount: int, currency: str) -> str:
    code = currency.upper()
    decimals = 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2
    return f"{amount / 10**decimals:,.{decimals}f} {escape(code)}"


async def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


class StripeCheckoutPage:
    def __init__(self, checkout: StripeCheckout) -> None:
        self._checkout = checkout

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/pay/{session_id}", self._show, methods=["GET"]),
            Route("/pay/{session_id}", self._submit, methods=["POST"]),
        ]

    async def _show(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        try:
            session = self._checkout.retrieve_session(session_id)
            items = self._checkout.line_items(session_id)["data"]
        except StripeApiError:
            return _page("Checkout session not found", "<p>No such session.</p>", 404)
        if session["status"] != "open":
            return _page("Checkout", f"<p>This session is {escape(session['status'])}.</p>")
        rows = "".join(
            f"<tr><td>{escape(str(item['description']))}</td><td>&times; {item['quantity']}</td>"
            f"<td>{_money(item['amount_total'], item['currency'])}</td></tr>"
            for item in items
        )
        body = (
            f"<div class='amount'>{_money(session['amount_total'], session['currency'])}</div>"
            f"<table>{rows}</table><form method='post'>"
            "<p>Test card 4242 4242 4242 4242 (Pay) or 4000 0000 0000 0002 (Decline).</p>"
            "<button class='pay' name='action' value='pay'>Pay</button>"
            "<button class='fail' name='action' value='decline'>Decline</button></form>"
        )
        return _page("Pay with Stripe Checkout", body)

    async def _submit(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        action = (await _form(request)).get("action", "pay")
        if action not in ("pay", "decline"):
            return _page("Checkout", "<p>Unknown action.</p>", 400)
        try:
            session = self._checkout.submit(session_id, "pay" if action == "pay" else "decline")
        except StripeApiError as exc:
            status = 404 if exc.status == 404 else 409
            return _page("Checkout", f"<p>{escape(str(exc))}</p>", status)
        if session["status"] == "complete":
            return _redirect_or_page(
                _success_url(session), "Payment complete", "<p>Payment succeeded.</p>"
            )
        return _redirect_or_page(
            session["cancel_url"], "Payment declined", "<p>Your card was declined.</p>"
        )


def _success_url(session: JsonObject) -> str | None:
    url = session["success_url"]
    if url is None:
        return None
    return str(url).replace("{CHECKOUT_SESSION_ID}", session["id"])


def _redirect_or_page(url: str | None, title: str, body: str) -> Response:
    if url:
        return RedirectResponse(url, status_code=303)
    return _page(title, body)


class RazorpayCheckoutPage:
    def __init__(self, orders: RazorpayOrders) -> None:
        self._orders = orders

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/checkout/{order_id}", self._show, methods=["GET"]),
            Route("/checkout/{order_id}", self._submit, methods=["POST"]),
        ]

    async def _show(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        try:
            order = self._orders.fetch_order(order_id)
            key_id = self._orders.key_id_for(order_id)
        except RazorpayApiError:
            return _page("Order not found", "<p>No such order.</p>", 404)
        callback = escape(request.query_params.get("callback_url", ""), quote=True)
        body = (
            f"<div class='amount'>{_money(order['amount_due'], order['currency'])}</div>"
            f"<table><tr><td>Order</td><td>{escape(order_id)}</td></tr>"
            f"<tr><td>Key</td><td>{escape(key_id)}</td></tr>"
            f"<tr><td>Status</td><td>{escape(order['status'])}</td></tr></table>"
            f"<form method='post'><input type='hidden' name='callback_url' value='{callback}'>"
            "<button class='pay' name='outcome' value='success'>Pay</button>"
            "<button class='fail' name='outcome' value='failure'>Fail</button></form>"
        )
        return _page("Razorpay Checkout", body)

    async def _submit(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        form = await _form(request)
        outcome: PaymentOutcome = "failure" if form.get("outcome") == "failure" else "success"
        callback_url = form.get("callback_url") or None
        try:
            handed_over = self._orders.pay(order_id, {"outcome": outcome})
            fields = {k: str(v) for k, v in handed_over.items()}
            title, status = "Payment successful", 200
        except RazorpayApiError as exc:
            error = exc.body()["error"]
            fields = {f"error[{k}]": _field(v) for k, v in error.items() if k != "field"}
            title, status = "Payment failed", (404 if exc.status == 404 else 200)
        if callback_url is None:
            rows = "".join(
                f"<tr><td>{escape(k)}</td><td><code>{escape(v)}</code></td></tr>"
                for k, v in fields.items()
            )
            return _page(title, f"<table>{rows}</table>", status)
        return _autosubmit(callback_url, fields)


def _field(value: object) -> str:
    return json.dumps(value) if isinstance(value, dict) else str(value)


def _autosubmit(url: str, fields: dict[str, str]) -> HTMLResponse:
    """Razorpay's redirect mode: the browser POSTs the result to the merchant's callback URL."""
    inputs = "".join(
        f"<input type='hidden' name='{escape(k, quote=True)}' value='{escape(v, quote=True)}'>"
        for k, v in fields.items()
    )
    html = (
        "<!doctype html><html><body onload='document.forms[0].submit()'>"
        f"<form method='post' action='{escape(url, quote=True)}'>{inputs}"
        "<noscript><button>Continue</button></noscript></form></body></html>"
    )
    return HTMLResponse(html)
