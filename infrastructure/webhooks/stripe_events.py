"""Stripe's events, and the use case each one calls.

The engine's PaymentIntents and Checkout Sessions carry ``metadata.paymentId`` (see the
adapter, ``infrastructure.payments.stripe.client``); Stripe copies a session's
``payment_intent_data.metadata`` to the intent it creates when the customer pays. Refunds
carry ``metadata.refundId`` and ``paymentId``. An event without them is not the engine's.
"""

from __future__ import annotations

from typing import Any

from domain import Order, OrderStatus, Payment
from infrastructure.webhooks.events import (
    Applied,
    DispatchTable,
    JsonObject,
    ProviderEvent,
    WebhookEffects,
    engine_id,
    failure_applied,
    failure_reason,
    ignore,
    ignored,
    mapping,
    processed,
    settle_refund,
    success_applied,
    text,
)
from infrastructure.webhooks.inbox import InboxStatus

NOT_OURS = "no engine paymentId in its metadata"
# Stripe refund statuses, as the engine's provider-neutral settle_refund words.
REFUND_OUTCOMES = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}


def _object(event: ProviderEvent) -> JsonObject:
    data = mapping(event.payload.get("data"))
    return dict(mapping(data.get("object")))


def _id_of(value: Any) -> str | None:
    """An id field, whether Stripe sent the id or (expanded) the object."""
    if isinstance(value, dict):
        return text(value.get("id"))
    return text(value)


def intent_succeeded(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    intent = _object(event)
    payment_id = engine_id(mapping(intent.get("metadata")).get("paymentId"))
    intent_id = text(intent.get("id"))
    if payment_id is None or intent_id is None:
        return ignored(NOT_OURS)
    outcome = effects.payments.succeeded(payment_id, intent_id, event.event_id)
    return success_applied(outcome, intent_id)


def intent_failed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    intent = _object(event)
    payment_id = engine_id(mapping(intent.get("metadata")).get("paymentId"))
    if payment_id is None:
        return ignored(NOT_OURS)
    error = mapping(intent.get("last_payment_error"))
    reason = failure_reason(error.get("code"), error.get("decline_code"), error.get("message"))
    outcome = effects.payments.attempt_failed(payment_id, reason, text(intent.get("id")))
    return failure_applied(outcome, reason)


def intent_canceled(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """Usually the echo of the engine's own cancel; a failed attempt only while still open."""
    intent = _object(event)
    payment_id = engine_id(mapping(intent.get("metadata")).get("paymentId"))
    if payment_id is None:
        return ignored(NOT_OURS)
    payment = effects.app.load(Payment, payment_id)
    if payment.is_captured:
        return ignored(f"payment is already {payment.status.value}")
    order = effects.app.load(Order, payment.order_id)
    if order.status is not OrderStatus.PENDING_PAYMENT:
        return ignored(f"order is {order.status.value}: the engine cancelled the intent")
    reason = f"canceled ({text(intent.get('cancellation_reason')) or 'at the provider'})"
    outcome = effects.payments.attempt_failed(payment_id, reason, text(intent.get("id")))
    return failure_applied(outcome, reason)


def session_paid(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    session = _object(event)
    if session.get("payment_status") != "paid":
        return ignored(f"session payment_status is {session.get('payment_status')}: not paid yet")
    payment_id = engine_id(mapping(session.get("metadata")).get("paymentId"))
    intent_id = _id_of(session.get("payment_intent"))
    if payment_id is None or intent_id is None:
        return ignored(NOT_OURS)
    outcome = effects.payments.succeeded(payment_id, intent_id, event.event_id)
    return success_applied(outcome, intent_id)


def session_payment_failed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    session = _object(event)
    payment_id = engine_id(mapping(session.get("metadata")).get("paymentId"))
    if payment_id is None:
        return ignored(NOT_OURS)
    reason = "async_payment_failed: the delayed payment did not complete"
    intent_id = _id_of(session.get("payment_intent"))
    outcome = effects.payments.attempt_failed(payment_id, reason, intent_id)
    return failure_applied(outcome, reason)


def _settle(refund: JsonObject, effects: WebhookEffects) -> Applied:
    metadata = mapping(refund.get("metadata"))
    status = text(refund.get("status")) or "unknown"
    return settle_refund(
        effects,
        engine_id(metadata.get("paymentId")),
        text(metadata.get("refundId")),
        text(refund.get("id")) or "(no id)",
        REFUND_OUTCOMES.get(status, status),
        text(refund.get("failure_reason")),
    )


def refund_changed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    return _settle(_object(event), effects)


def charge_refunded(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """Older API versions list the charge's refunds; newer ones leave it to refund.*."""
    refunds = mapping(_object(event).get("refunds")).get("data")
    if not isinstance(refunds, list) or not refunds:
        return ignored("the refund.* events settle refunds")
    outcomes = [_settle(dict(mapping(refund)), effects) for refund in refunds]
    summary = "; ".join(applied.outcome for applied in outcomes)
    if any(applied.status is InboxStatus.PROCESSED for applied in outcomes):
        return processed(summary)
    return ignored(summary)


STRIPE_HANDLERS: DispatchTable = {
    "payment_intent.succeeded": intent_succeeded,
    "payment_intent.payment_failed": intent_failed,
    "payment_intent.canceled": intent_canceled,
    "checkout.session.completed": session_paid,
    "checkout.session.async_payment_succeeded": session_paid,
    "checkout.session.async_payment_failed": session_payment_failed,
    "checkout.session.expired": ignore("an expired session leaves the order to its own expiry"),
    "refund.created": refund_changed,
    "refund.updated": refund_changed,
    "refund.failed": refund_changed,
    "charge.refunded": charge_refunded,
    "payment_intent.created": ignore("the engine created it"),
    "payment_intent.processing": ignore("the outcome comes later"),
    "payment_intent.requires_action": ignore("the customer's browser handles it"),
    "charge.succeeded": ignore("payment_intent.succeeded records the payment"),
    "charge.failed": ignore("payment_intent.payment_failed records the attempt"),
    "charge.updated": ignore("nothing the engine keeps changed"),
}
