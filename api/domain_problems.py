"""How domain and application errors become problem responses.

One table from error type to status and title, looked up along the exception's MRO so a
new subclass inherits its parent's answer. Errors that name skus list each sku as a field
error, so a client can point at the offending cart lines.
"""

from __future__ import annotations

from typing import Any

from api.problems import Problem
from application.errors import (
    ApplicationError,
    ContentionExhausted,
    IdempotencyConflict,
    OrderNotFound,
)
from application.parked_webhooks import (
    WebhookAlreadyApplied,
    WebhookBeingApplied,
    WebhookDismissed,
    WebhookNotFound,
)
from domain import (
    CaptureConflict,
    CaptureExceedsAuthorized,
    DomainError,
    EmptyCart,
    InsufficientStock,
    InvalidQuantity,
    InvalidTransition,
    MarkConflict,
    MixedCurrencies,
    OnHandBelowReserved,
    OutOfBounds,
    ProductInactive,
    UnknownProduct,
)

# (status, title); the problem type slug is the error's `code` when it has one.
_STATUS: dict[type[Exception], tuple[int, str]] = {
    InsufficientStock: (409, "Insufficient Stock"),
    InvalidTransition: (409, "Conflict"),
    CaptureConflict: (409, "Capture Conflict"),
    MarkConflict: (409, "Idempotency Key Reused"),
    CaptureExceedsAuthorized: (409, "Capture Exceeds Authorized"),
    OnHandBelowReserved: (409, "Conflict"),
    IdempotencyConflict: (409, "Idempotency Key Reused"),
    OrderNotFound: (404, "Not Found"),
    WebhookNotFound: (404, "Not Found"),
    WebhookAlreadyApplied: (409, "Webhook Already Applied"),
    WebhookDismissed: (409, "Webhook Dismissed"),
    WebhookBeingApplied: (409, "Webhook Being Applied"),
    ContentionExhausted: (503, "Service Busy"),
    DomainError: (422, "Unprocessable Content"),
}

_SKU_MESSAGES: dict[type[DomainError], str] = {
    InsufficientStock: "not enough stock",
    UnknownProduct: "unknown sku",
    ProductInactive: "product is not for sale",
}

RETRY_AFTER_SECONDS = 1


def _status(error: Exception) -> tuple[int, str]:
    for kind in type(error).__mro__:
        if kind in _STATUS:
            return _STATUS[kind]
    return 500, "Internal Server Error"


def _field_errors(error: Exception) -> list[dict[str, Any]]:
    for kind, message in _SKU_MESSAGES.items():
        if isinstance(error, kind):
            skus: list[str] = getattr(error, "skus", [])
            return [{"field": "items", "sku": sku, "message": message} for sku in skus]
    if isinstance(error, InvalidQuantity):
        entry: dict[str, Any] = {"field": "items", "message": str(error)}
        if error.sku:
            entry["sku"] = error.sku
        return [entry]
    if isinstance(error, EmptyCart | MixedCurrencies):
        return [{"field": "items", "message": str(error)}]
    if isinstance(error, OutOfBounds):
        return [{"field": error.field, "message": error.requirement}]
    return []


def problem_for(error: DomainError | ApplicationError) -> Problem:
    status, title = _status(error)
    kind = error.code if isinstance(error, DomainError) else title.lower().replace(" ", "-")
    headers = {}
    if isinstance(error, ContentionExhausted | WebhookBeingApplied):
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    extra: dict[str, Any] = {}
    if isinstance(error, InsufficientStock | UnknownProduct | ProductInactive):
        extra["skus"] = list(error.skus)
    return Problem(
        status,
        title,
        str(error),
        kind=kind,
        errors=_field_errors(error),
        headers=headers,
        **extra,
    )
