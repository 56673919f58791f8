"""Razorpay orders created over the lean keep-alive HTTP client (adr/0023), without the SDK.

It sends what razorpay-python sends for the same calls: Basic auth with the key id and
secret, the order (``order_data``, shared with the SDK adapter) as the same JSON, and the
look-up by receipt as ``GET /v1/orders?receipt=...&count=100``. Razorpay takes no
idempotency key for orders, so the payment id is the order's receipt and an earlier
attempt's order is looked up by it first, but only when there was an earlier attempt
(``first_attempt`` False): the worker's first claim of a task cannot have created anything,
which saves a call on every checkout.

Errors are classified as the SDK adapter does (its ClassifyingSession and ``_translated``):
no answer, 409, 429 and 5xx are transient, and so is an answer that is not JSON; any other
status that is not 2xx is permanent, with Razorpay's description.
"""

from __future__ import annotations

import json
from typing import Any

from application.ports import (
    Evidence,
    EvidenceSink,
    PermanentProviderError,
    ProviderError,
    ProviderOrder,
    ProviderOrderRequest,
    TransientProviderError,
)
from domain import Provider
from infrastructure.payments.keepalive import Answer, Http, Unreachable, basic_auth
from infrastructure.payments.minor_units import RAZORPAY_UNITS

RAZORPAY_API = "https://api.razorpay.com"
PROVIDER = Provider.RAZORPAY.value
Entity = dict[str, Any]
# The SDK's classes for an error's code; their names are its message when there is none.
_ERROR_NAMES = {"BAD_REQUEST_ERROR": "BadRequestError", "GATEWAY_ERROR": "GatewayError"}


def order_data(request: ProviderOrderRequest) -> Entity:
    """A payment's Razorpay order, as both the lean client and the SDK adapter create it."""
    receipt = str(request.payment_id)
    data: Entity = {
        "amount": RAZORPAY_UNITS.to_provider(request.amount, request.currency),
        "currency": request.currency.upper(),
        "receipt": receipt,
        "notes": {"orderId": str(request.order_id), "paymentId": receipt},
    }
    if request.capture == "manual":
        # Its payments stay authorized until captured (Orders API capture settings).
        data["payment"] = {"capture": "manual"}
    return data


def earliest_with_receipt(found: Entity, receipt: str) -> Entity | None:
    """The first order made with ``receipt`` in a listing (Razorpay filters, we check)."""
    items = found.get("items")
    orders = [o for o in items or [] if isinstance(o, dict) and o.get("receipt") == receipt]
    return min(orders, key=lambda o: o.get("created_at", 0)) if orders else None


class RazorpayOrders:
    """The lean ``OrderCreator`` for Razorpay (infrastructure.payments.lean_http)."""

    def __init__(
        self, http: Http, key_id: str, key_secret: str, api_base: str | None = None
    ) -> None:
        self._http = http
        self._key_id = key_id
        self._auth = basic_auth(key_id, key_secret)
        self._url = f"{(api_base or RAZORPAY_API).rstrip('/')}/v1/orders"

    def create_order(
        self, request: ProviderOrderRequest, sink: EvidenceSink | None
    ) -> ProviderOrder:
        data = order_data(request)
        answer: Entity | None = None
        try:
            if not request.first_attempt:
                answer = self._order_with_receipt(data["receipt"])
            if answer is None:
                answer = self._call("POST", self._url, body=json.dumps(data).encode())
        except ProviderError as exc:
            if sink is not None:
                sink(Evidence.of_call(PROVIDER, "create_order", None, data, None, exc.reason))
            raise
        order_id = str(answer.get("id") or "")
        if sink is not None:
            sink(Evidence.of_call(PROVIDER, "create_order", order_id or None, data, answer))
        if not order_id:
            raise TransientProviderError("razorpay answer unreadable: an order with no id")
        return ProviderOrder(gateway_order_id=order_id, key_id=self._key_id)

    def _order_with_receipt(self, receipt: str) -> Entity | None:
        found = self._call("GET", self._url, params={"receipt": receipt, "count": 100})
        return earliest_with_receipt(found, receipt)

    def _call(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> Entity:
        headers = {"Authorization": self._auth}
        if method == "POST":
            headers["Content-type"] = "application/json"
        try:
            response = self._http.request(method, url, body=body, headers=headers, params=params)
        except Unreachable as exc:
            raise TransientProviderError(f"razorpay unreachable: {exc}") from None
        return answer_of(response)


def answer_of(response: Answer) -> Entity:
    """Razorpay's JSON entity, or the ProviderError the SDK adapter would raise for it."""
    status = response.status
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    description = error.get("description") if isinstance(error, dict) else None
    if status in (409, 429) or status >= 500:
        reason = description or response.reason or "no description"
        raise TransientProviderError(f"razorpay answered {status}: {reason}")
    if not isinstance(body, dict):
        raise TransientProviderError(f"razorpay answer unreadable (HTTP {status})")
    if 200 <= status < 300:
        return body
    code = str(error.get("code") or "").upper() if isinstance(error, dict) else ""
    raise PermanentProviderError(str(description or _ERROR_NAMES.get(code, "ServerError")))
