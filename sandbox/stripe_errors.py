"""Stripe's error object (``{"error": {...}}``) and the errors the sandbox answers with."""

from __future__ import annotations

from typing import Any

from .store import JsonObject


class StripeApiError(Exception):
    """An answer in Stripe's error shape.

    ``saves_idempotency`` follows Stripe: a request that started executing (a card decline
    included) saves its result under its idempotency key; one rejected by validation does not.
    """

    def __init__(
        self,
        status: int,
        error: JsonObject,
        *,
        saves_idempotency: bool = False,
    ) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error
        self.saves_idempotency = saves_idempotency

    def body(self, request_id: str, created: int) -> JsonObject:
        error = dict(self.error)
        error["request_log_url"] = (
            f"https://dashboard.stripe.com/test/logs/{request_id}?t={created}"
        )
        return {"error": dict(sorted(error.items()))}


def doc_url(code: str) -> str:
    return f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}"


def invalid_request(
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    status: int = 400,
) -> StripeApiError:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if param is not None:
        error["param"] = param
    if code is not None:
        error["code"] = code
        error["doc_url"] = doc_url(code)
    return StripeApiError(status, error)


def resource_missing(kind: str, object_id: str, param: str) -> StripeApiError:
    return invalid_request(
        f"No such {kind}: '{object_id}'", param=param, code="resource_missing", status=404
    )


def missing_param(name: str) -> StripeApiError:
    return invalid_request(f"Missing required param: {name}.", param=name, code="parameter_missing")


def unexpected_state(message: str) -> StripeApiError:
    return invalid_request(message, code="payment_intent_unexpected_state")


def authentication_failed(message: str) -> StripeApiError:
    return StripeApiError(401, {"type": "invalid_request_error", "message": message})


def idempotency_error(message: str) -> StripeApiError:
    return StripeApiError(400, {"type": "idempotency_error", "message": message})


def unrecognized_url(method: str, path: str) -> StripeApiError:
    return invalid_request(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        status=404,
    )
