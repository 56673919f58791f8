"""Razorpay's events, and the use case each one calls.

The engine's Razorpay orders carry the payment id as ``receipt`` and in ``notes``; a
payment's own notes are whatever checkout.js was given, so the payment behind a
``payment.*`` event is found, in turn, by its notes, by the order entity in the payload,
or by the order id in the payment status view. Refunds carry ``notes.refundId`` and
``notes.paymentId`` (and the refund id as ``receipt`` when it fits).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from infrastructure.webhooks.events import (
    Applied,
    DispatchTable,
    PaymentNotYetKnown,
    ProviderEvent,
    WebhookEffects,
    engine_id,
    failure_applied,
    failure_reason,
    ignore,
    ignored,
    mapping,
    settle_refund,
    success_applied,
    text,
)

NOT_OURS = "not a payment of an engine order"
REFUND_OUTCOMES = {"processed": "succeeded", "failed": "failed"}


def _entity(event: ProviderEvent, name: str) -> Mapping[str, Any]:
    payload = mapping(event.payload.get("payload"))
    return mapping(mapping(payload.get(name)).get("entity"))


def _payment_of(
    effects: WebhookEffects, payment: Mapping[str, Any], order: Mapping[str, Any]
) -> UUID | None:
    """The engine payment id; None if the payment belongs to no order at all."""
    found = engine_id(mapping(payment.get("notes")).get("paymentId"))
    found = found or engine_id(order.get("receipt"))
    found = found or engine_id(mapping(order.get("notes")).get("paymentId"))
    if found is not None:
        return found
    gateway_order_id = text(payment.get("order_id")) or text(order.get("id"))
    if gateway_order_id is None:
        return None
    found = effects.directory.payment_for_gateway_order(gateway_order_id)
    if found is None:
        raise PaymentNotYetKnown(f"no engine payment for Razorpay order {gateway_order_id} yet")
    return found


def payment_captured(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """``payment.captured`` and ``order.paid`` (which also carries the order entity)."""
    payment = _entity(event, "payment")
    gateway_payment_id = text(payment.get("id"))
    payment_id = _payment_of(effects, payment, _entity(event, "order"))
    if payment_id is None or gateway_payment_id is None:
        return ignored(NOT_OURS)
    outcome = effects.payments.succeeded(payment_id, gateway_payment_id, event.event_id)
    return success_applied(outcome, gateway_payment_id)


def payment_failed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    payment = _entity(event, "payment")
    payment_id = _payment_of(effects, payment, _entity(event, "order"))
    if payment_id is None:
        return ignored(NOT_OURS)
    reason = failure_reason(
        payment.get("error_code"), payment.get("error_reason"), payment.get("error_description")
    )
    outcome = effects.payments.attempt_failed(payment_id, reason, text(payment.get("id")))
    return failure_applied(outcome, reason)


def refund_settled(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """``refund.processed`` and ``refund.failed``."""
    refund = _entity(event, "refund")
    notes = mapping(refund.get("notes"))
    payment_id = engine_id(notes.get("paymentId"))
    if payment_id is None and _entity(event, "payment"):
        payment_id = _payment_of(effects, _entity(event, "payment"), {})
    status = text(refund.get("status")) or event.event_type.removeprefix("refund.")
    return settle_refund(
        effects,
        payment_id,
        text(notes.get("refundId")) or text(refund.get("receipt")),
        text(refund.get("id")) or "(no id)",
        REFUND_OUTCOMES.get(status, status),
        "Razorpay reported the refund failed",
    )


RAZORPAY_HANDLERS: DispatchTable = {
    "payment.authorized": ignore("orders are auto-captured: payment.captured follows"),
    "payment.captured": payment_captured,
    "order.paid": payment_captured,
    "payment.failed": payment_failed,
    "refund.created": ignore("refund.processed or refund.failed settles it"),
    "refund.processed": refund_settled,
    "refund.failed": refund_settled,
    "refund.speed_changed": ignore("the refund's speed does not matter to the engine"),
}
