"""The Razorpay REST API over HTTP: Basic auth with ``rzp_test_`` keys, JSON in and out."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .razorpay_disputes import RazorpayDisputes
from .razorpay_objects import RazorpayApiError
from .razorpay_orders import RazorpayOrders
from .store import JsonObject, OrderCredentials

_NO_KEY = "Please provide your api key for authentication purposes."
_BAD_KEY = "The api key provided is invalid"


class RazorpayApi:
    def __init__(self, orders: RazorpayOrders, disputes: RazorpayDisputes) -> None:
        self._orders = orders
        self._disputes = disputes

    def routes(self) -> list[BaseRoute]:
        orders, disputes = self._orders, self._disputes
        return [
            Route("/v1/orders", self._create_order, methods=["POST"]),
            Route(
                "/v1/orders", self._get(lambda r: orders.list_orders(_query(r))), methods=["GET"]
            ),
            Route(
                "/v1/orders/{id}",
                self._get(lambda r: orders.fetch_order(r.path_params["id"])),
                methods=["GET"],
            ),
            Route(
                "/v1/orders/{id}/payments",
                self._get(lambda r: orders.order_payments(r.path_params["id"])),
                methods=["GET"],
            ),
            Route(
                "/v1/payments",
                self._get(lambda r: orders.list_payments(_query(r))),
                methods=["GET"],
            ),
            Route(
                "/v1/payments/{id}",
                self._get(lambda r: orders.fetch_payment(r.path_params["id"])),
                methods=["GET"],
            ),
            Route(
                "/v1/payments/{id}/refunds",
                self._get(lambda r: orders.payment_refunds(r.path_params["id"])),
                methods=["GET"],
            ),
            Route(
                "/v1/payments/{id}/refunds/{refund_id}",
                self._get(
                    lambda r: orders.fetch_payment_refund(
                        r.path_params["id"], r.path_params["refund_id"]
                    )
                ),
                methods=["GET"],
            ),
            Route("/v1/payments/{id}/refund", self._refund, methods=["POST"]),
            Route("/v1/payments/{id}/capture", self._capture, methods=["POST"]),
            Route(
                "/v1/refunds/{id}",
                self._get(lambda r: orders.fetch_refund(r.path_params["id"])),
                methods=["GET"],
            ),
            Route(
                "/v1/disputes",
                self._get(lambda r: disputes.list_disputes(_query(r))),
                methods=["GET"],
            ),
            Route(
                "/v1/disputes/{id}",
                self._get(lambda r: disputes.fetch(r.path_params["id"])),
                methods=["GET"],
            ),
            Route(
                "/v1/disputes/{id}/accept",
                self._get(lambda r: disputes.accept(r.path_params["id"])),
                methods=["POST"],
            ),
            # checkout.js's part: no secret needed, as the customer's browser has none.
            Route("/v1/sandbox/orders/{id}/pay", self._pay, methods=["POST"]),
            Route("/v1/sandbox/payments/pay", self._pay_without_order, methods=["POST"]),
        ]

    async def not_found(self, request: Request) -> Response:
        """Razorpay answers a path it has no endpoint for with a 400, not a 404."""
        error = RazorpayApiError("The requested URL was not found on the server.")
        return _error_response(error)

    def _get(
        self, fetch: Callable[[Request], JsonObject]
    ) -> Callable[[Request], Awaitable[Response]]:
        """An authenticated call that needs no body (a fetch, a list, an accept)."""

        async def endpoint(request: Request) -> Response:
            try:
                _credentials(request)
                return JSONResponse(fetch(request))
            except RazorpayApiError as exc:
                return _error_response(exc)

        return endpoint

    async def _create_order(self, request: Request) -> Response:
        try:
            credentials = _credentials(request)
            body = await _json_body(request)
            return JSONResponse(self._orders.create_order(body, credentials))
        except RazorpayApiError as exc:
            return _error_response(exc)

    async def _refund(self, request: Request) -> Response:
        try:
            _credentials(request)
            body = await _json_body(request)
            key = request.headers.get("x-refund-idempotency")
            refund = self._orders.refund_payment(request.path_params["id"], body, key)
            return JSONResponse(refund)
        except RazorpayApiError as exc:
            return _error_response(exc)

    async def _capture(self, request: Request) -> Response:
        try:
            _credentials(request)
            body = await _json_body(request)
            return JSONResponse(self._orders.capture_payment(request.path_params["id"], body))
        except RazorpayApiError as exc:
            return _error_response(exc)

    async def _pay(self, request: Request) -> Response:
        try:
            body = await _json_body(request)
            return JSONResponse(self._orders.pay(request.path_params["id"], body))
        except RazorpayApiError as exc:
            return _error_response(exc)

    async def _pay_without_order(self, request: Request) -> Response:
        try:
            return JSONResponse(self._orders.pay_without_order(await _json_body(request)))
        except RazorpayApiError as exc:
            return _error_response(exc)


def _credentials(request: Request) -> OrderCredentials:
    header = request.headers.get("authorization")
    if not header:
        raise RazorpayApiError(_NO_KEY, status=401)
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise RazorpayApiError(_NO_KEY, status=401)
    try:
        key_id, _, key_secret = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise RazorpayApiError(_BAD_KEY, status=401) from None
    if not key_id.startswith("rzp_test_"):
        raise RazorpayApiError(_BAD_KEY, status=401)
    return OrderCredentials(key_id, key_secret)


async def _json_body(request: Request) -> JsonObject:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body: Any = json.loads(raw)
    except ValueError:
        raise RazorpayApiError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise RazorpayApiError("The request body must be a JSON object.")
    return body


def _query(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def _error_response(error: RazorpayApiError) -> Response:
    return JSONResponse(error.body(), status_code=error.status)
