"""Razorpay entities (order, payment, refund, dispute, event) and its error object."""

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


def payment(order_id: str | None, amount: int, currency: str, notes: dict[str, str]) -> JsonObject:
    """A card payment as checkout.js starts it; the caller sets its status.

    Its ``notes`` are checkout's ``notes`` option, which the customer's browser controls; Razorpay
    does not copy the order's notes onto it. ``order_id`` is ``None`` for a payment without one.
    """
    return {
        "id": razorpay_id("pay"),
        "entity": "payment",
        "amount": amount,
        "currency": currency,
        "status": "created",
        "order_id": order_id,
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
        "notes": notes_value(notes),
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


DISPUTE_RESPONSE_SECONDS = 7 * 86400  # how long the merchant has to answer, as in test mode


def dispute(payment_obj: JsonObject, amount: int, reason_code: str, phase: str) -> JsonObject:
    """A dispute the customer's bank raised against ``payment_obj``: open, nothing deducted yet."""
    created = now()
    return {
        "id": razorpay_id("disp"),
        "entity": "dispute",
        "payment_id": payment_obj["id"],
        "amount": amount,
        "currency": payment_obj["currency"],
        "amount_deducted": 0,
        "reason_code": reason_code,
        "reason_description": "The customer's bank raised a dispute against this payment.",
        "respond_by": created + DISPUTE_RESPONSE_SECONDS,
        "status": "open",
        "phase": phase,
        "comments": None,
        "created_at": created,
        "evidence": {
            "amount": None,
            "summary": None,
            "shipping_proof": None,
            "billing_proof": None,
            "cancellation_proof": None,
            "customer_communication": None,
            "proof_of_service": None,
            "explanation_letter": None,
            "refund_confirmation": None,
            "access_activity_log": None,
            "refund_cancellation_policy": None,
            "term_and_conditions": None,
            "others": None,
            "submitted_at": None,
        },
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


def reject_unknown(body: JsonObject, allowed: tuple[str, ...]) -> None:
    """Razorpay refuses fields it does not know, naming the first one."""
    for name in body:
        if name not in allowed:
            raise RazorpayApiError(f"{name} is/are not required and should not be sent", field=name)
