"""Razorpay entities (order, payment, refund, event) and its error object."""

from __future__ import annotations

import time
from typing import Any

from .ids import random_token, razorpay_id
from .store import JsonObject


class RazorpayApiError(Exception):
    """An answer in Razorpay's error shape: ``{"error": {"code", "description", ...}}``."""

    def __init__(
        self,
        description: str,
        *,
        status: int = 400,
        code: str = "BAD_REQUEST_ERROR",
        field: str | None = None,
        source: str = "NA",
        step: str = "NA",
        reason: str = "NA",
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.field = field
        self.source = source
        self.step = step
        self.reason = reason
        self.metadata = metadata or {}

    def body(self) -> JsonObject:
        return {
            "error": {
                "code": self.code,
                "description": self.description,
                "source": self.source,
                "step": self.step,
                "reason": self.reason,
                "metadata": self.metadata,
                "field": self.field,
            }
        }


def not_found() -> RazorpayApiError:
    return RazorpayApiError(
        "The id provided does not exist",
        field="id",
        source="business",
        step="payment_initiation",
        reason="input_validation_failed",
    )


def now() -> int:
    return int(time.time())


def notes_value(notes: dict[str, str]) -> Any:
    """Razorpay renders empty notes as ``[]`` (a PHP empty array), otherwise as an object."""
    return dict(notes) if notes else []


def order(amount: int, currency: str, receipt: str | None, notes: dict[str, str]) -> JsonObject:
    return {
        "id": razorpay_id("order"),
        "entity": "order",
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": currency,
        "receipt": receipt,
        "offer_id": None,
        "status": "created",
        "attempts": 0,
        "notes": notes_value(notes),
        "created_at": now(),
    }


def payment(order_obj: JsonObject) -> JsonObject:
    """A card payment for ``order_obj`` as checkout.js starts it; the caller sets its status."""
    return {
        "id": razorpay_id("pay"),
        "entity": "payment",
        "amount": order_obj["amount_due"],
        "currency": order_obj["currency"],
        "status": "created",
        "order_id": order_obj["id"],
        "invoice_id": None,
        "international": False,
        "method": "card",
        "amount_refunded": 0,
        "refund_status": None,
        "captured": False,
        "description": None,
        "card_id": razorpay_id("card"),
        "bank": None,
        "wallet": None,
        "vpa": None,
        "email": "void@razorpay.com",
        "contact": "+919000090000",
        "notes": order_obj["notes"],
        "fee": None,
        "tax": None,
        "error_code": None,
        "error_description": None,
        "error_source": None,
        "error_step": None,
        "error_reason": None,
        "acquirer_data": {"auth_code": random_token(6).upper()},
        "created_at": now(),
    }


def refund(
    payment_obj: JsonObject, amount: int, notes: dict[str, str], receipt: str | None
) -> JsonObject:
    return {
        "id": razorpay_id("rfnd"),
        "entity": "refund",
        "amount": amount,
        "currency": payment_obj["currency"],
        "payment_id": payment_obj["id"],
        "notes": notes_value(notes),
        "receipt": receipt,
        "acquirer_data": {"arn": None},
        "created_at": now(),
        "batch_id": None,
        "status": "processed",
        "speed_processed": "normal",
        "speed_requested": "normal",
    }


def event(account_id: str, event_type: str, entities: dict[str, JsonObject]) -> JsonObject:
    return {
        "entity": "event",
        "account_id": account_id,
        "event": event_type,
        "contains": list(entities),
        "payload": {name: {"entity": entity} for name, entity in entities.items()},
        "created_at": now(),
    }


def collection(items: list[JsonObject]) -> JsonObject:
    return {"entity": "collection", "count": len(items), "items": items}
