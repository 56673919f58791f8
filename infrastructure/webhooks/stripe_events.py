"""Stripe's events, and the use case each one calls.

The engine's PaymentIntents and Checkout Sessions carry ``metadata.paymentId``, set by the
engine server-side with its secret key (see ``infrastructure.payments.stripe.client``): a
customer's browser cannot set it. Stripe copies a session's ``payment_intent_data.metadata``
to the intent it creates when the customer pays. Refunds the engine asks for carry
``metadata.refundId`` and ``paymentId``; a refund of an engine charge without them was made
in the Dashboard. Every capture's amount and currency are checked against the payment's
(adr/0009); money on an intent that is no engine payment's is a foreign capture.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.captures import ForeignCaptureNotice
from application.disputes import DisputeNotice
from domain import AuthorizationMismatch, Order, OrderStatus, Payment, PaymentStatus, Provider
from infrastructure.payments.minor_units import STRIPE_UNITS
from infrastructure.webhooks.events import (
    Applied,
    DispatchTable,
    JsonObject,
    ProviderEvent,
    WebhookEffects,
    authorization_applied,
    engine_amount,
    engine_id,
    failure_applied,
    failure_reason,
    foreign_capture,
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


def _engine_payment(effects: WebhookEffects, metadata: object, *ids: str | None) -> UUID | None:
    """The payment named by server-set metadata, or by an id the engine recorded."""
    payment_id = engine_id(mapping(metadata).get("paymentId"))
    if payment_id is not None:
        try:
            effects.app.load(Payment, payment_id)
        except AggregateNotFoundError:
            return None
        return payment_id
    for gateway_id in ids:
        if gateway_id is not None:
            found = effects.directory.payment_for_charge(gateway_id)
            if found is not None:
                return found
    return None


def _captured(
    event: ProviderEvent,
    effects: WebhookEffects,
    payment_id: UUID | None,
    intent_id: str,
    amount: object,
    currency: object,
) -> Applied:
    money = engine_amount(STRIPE_UNITS, amount, currency)
    if payment_id is None or money is None:
        why = "no engine payment" if payment_id is None else "an amount the engine cannot read"
        notice = ForeignCaptureNotice(
            provider=Provider.STRIPE.value,
            gateway_payment_id=intent_id,
            gateway_order_id=None,
            amount=amount if type(amount) is int else 0,
            currency=currency if isinstance(currency, str) else "???",
            claimed_payment_id=None,
            detail=why,
            provider_event_id=event.event_id,
        )
        return foreign_capture(effects, notice)
    outcome = effects.payments.succeeded(
        payment_id, intent_id, *money, event.event_id, event.origin
    )
    return success_applied(outcome, intent_id)


def intent_succeeded(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    intent = _object(event)
    intent_id = text(intent.get("id"))
    if intent_id is None:
        return ignored("the event names no payment intent")
    payment_id = _engine_payment(effects, intent.get("metadata"), intent_id)
    received = intent.get("amount_received") or intent.get("amount")
    return _captured(event, effects, payment_id, intent_id, received, intent.get("currency"))


def intent_authorized(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """``payment_intent.amount_capturable_updated``: a manual-capture intent was confirmed
    and waits in ``requires_capture`` for the operator's capture."""
    intent = _object(event)
    intent_id = text(intent.get("id"))
    if intent_id is None:
        return ignored("the event names no payment intent")
    payment_id = _engine_payment(effects, intent.get("metadata"), intent_id)
    if payment_id is None:
        return ignored(f"{NOT_OURS}: nothing was captured")
    if intent.get("status") != "requires_capture":
        return ignored(f"intent is {text(intent.get('status'))}, not waiting for a capture")
    money = engine_amount(STRIPE_UNITS, intent.get("amount_capturable"), intent.get("currency"))
    if money is None:
        raise AuthorizationMismatch(intent_id, 0, "???", "an amount the engine can read")
    outcome = effects.payments.authorized(payment_id, intent_id, *money, event.origin)
    return authorization_applied(outcome, intent_id)


def intent_failed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    intent = _object(event)
    payment_id = _engine_payment(effects, intent.get("metadata"), text(intent.get("id")))
    if payment_id is None:
        return ignored(NOT_OURS)
    error = mapping(intent.get("last_payment_error"))
    reason = failure_reason(error.get("code"), error.get("decline_code"), error.get("message"))
    # Each attempt on an intent is its own charge: a retry's decline is a new failure.
    charge = _id_of(error.get("charge")) or _id_of(intent.get("latest_charge"))
    outcome = effects.payments.attempt_failed(payment_id, reason, charge, event.origin)
    return failure_applied(outcome, reason)


def intent_canceled(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """Usually the echo of the engine's own cancel; a failed attempt only while still open."""
    intent = _object(event)
    payment_id = _engine_payment(effects, intent.get("metadata"), text(intent.get("id")))
    if payment_id is None:
        return ignored(NOT_OURS)
    payment = effects.app.load(Payment, payment_id)
    if payment.is_captured:
        return ignored(f"payment is already {payment.status.value}")
    if payment.status is PaymentStatus.AUTHORIZED:
        why = text(intent.get("cancellation_reason")) or "at the provider"
        lapsed = effects.payments.authorization_lapsed(
            payment_id, f"authorization cancelled by Stripe ({why})", event.origin
        )
        if lapsed.changed:
            return processed("the authorization lapsed at Stripe: the order is cancelled")
        return ignored("a capture of the authorization is under way")
    order = effects.app.load(Order, payment.order_id)
    if order.status is not OrderStatus.PENDING_PAYMENT:
        return ignored(f"order is {order.status.value}: the engine cancelled the intent")
    reason = f"canceled ({text(intent.get('cancellation_reason')) or 'at the provider'})"
    outcome = effects.payments.attempt_failed(
        payment_id, reason, text(intent.get("id")), event.origin
    )
    return failure_applied(outcome, reason)


def session_paid(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    session = _object(event)
    session_id = text(session.get("id"))
    payment_id = _engine_payment(effects, session.get("metadata"))
    if payment_id is not None and session_id is not None:
        effects.payments.session_closed(payment_id, session_id, "complete", event.origin)
    if session.get("payment_status") != "paid":
        return ignored(f"session payment_status is {session.get('payment_status')}: not paid yet")
    intent_id = _id_of(session.get("payment_intent"))
    if intent_id is None:
        return ignored("the session names no payment intent")
    amount, currency = session.get("amount_total"), session.get("currency")
    return _captured(event, effects, payment_id, intent_id, amount, currency)


def session_expired(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """The page can no longer be paid: the next request for one opens a new session."""
    session = _object(event)
    session_id = text(session.get("id"))
    payment_id = _engine_payment(effects, session.get("metadata"))
    if payment_id is None or session_id is None:
        return ignored(NOT_OURS)
    outcome = effects.payments.session_closed(payment_id, session_id, "expired", event.origin)
    done = "recorded" if outcome.changed else "already closed"
    return processed(f"session {session_id} expired: {done}; the order keeps its own expiry")


def session_payment_failed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    session = _object(event)
    payment_id = _engine_payment(effects, session.get("metadata"))
    if payment_id is None:
        return ignored(NOT_OURS)
    reason = "async_payment_failed: the delayed payment did not complete"
    intent_id = _id_of(session.get("payment_intent"))
    outcome = effects.payments.attempt_failed(payment_id, reason, intent_id, event.origin)
    return failure_applied(outcome, reason)


def _settle(refund: JsonObject, effects: WebhookEffects, event: ProviderEvent) -> Applied:
    metadata = mapping(refund.get("metadata"))
    status = text(refund.get("status")) or "unknown"
    if text(metadata.get("refundId")) is None:
        return _external_refund(refund, effects, event, REFUND_OUTCOMES.get(status, status))
    return settle_refund(
        effects,
        engine_id(metadata.get("paymentId")),
        text(metadata.get("refundId")),
        text(refund.get("id")) or "(no id)",
        REFUND_OUTCOMES.get(status, status),
        text(refund.get("failure_reason")),
        origin=event.origin,
    )


def _external_refund(
    refund: JsonObject, effects: WebhookEffects, event: ProviderEvent, outcome: str
) -> Applied:
    """A refund made in the Dashboard: recorded on the payment once it has succeeded."""
    gateway_refund_id = text(refund.get("id")) or "(no id)"
    intent_id = _id_of(refund.get("payment_intent"))
    charge_id = _id_of(refund.get("charge"))
    payment_id = _engine_payment(effects, None, intent_id, charge_id)
    if payment_id is None:
        return ignored(f"refund {gateway_refund_id} is not of an engine payment")
    if outcome != "succeeded":
        return ignored(f"refund {gateway_refund_id} made at Stripe is {outcome}")
    money = engine_amount(STRIPE_UNITS, refund.get("amount"), refund.get("currency"))
    charge = intent_id or charge_id
    if money is None or charge is None:
        return ignored(f"refund {gateway_refund_id} has no amount or charge the engine can read")
    recorded = effects.refunds.external(
        payment_id, gateway_refund_id, money[0], charge, event.event_id, event.origin
    )
    done = "recorded" if recorded.changed else "already recorded"
    return processed(f"refund {gateway_refund_id} made at Stripe {done}")


def refund_changed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    return _settle(_object(event), effects, event)


def charge_refunded(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """Older API versions list the charge's refunds; newer ones leave it to refund.*."""
    refunds = mapping(_object(event).get("refunds")).get("data")
    if not isinstance(refunds, list) or not refunds:
        return ignored("the refund.* events settle refunds")
    outcomes = [_settle(dict(mapping(refund)), effects, event) for refund in refunds]
    summary = "; ".join(applied.outcome for applied in outcomes)
    if any(applied.status is InboxStatus.PROCESSED for applied in outcomes):
        return processed(summary)
    return ignored(summary)


def dispute_changed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """``charge.dispute.*``: recorded on the payment and published on ``orders.disputed``."""
    dispute = _object(event)
    dispute_id = text(dispute.get("id"))
    intent_id = _id_of(dispute.get("payment_intent"))
    charge_id = _id_of(dispute.get("charge"))
    payment_id = _engine_payment(effects, None, intent_id, charge_id)
    if dispute_id is None or payment_id is None:
        return ignored(f"dispute {dispute_id} is not on an engine payment")
    money = engine_amount(STRIPE_UNITS, dispute.get("amount"), dispute.get("currency"))
    if money is None:
        return ignored(f"dispute {dispute_id} has an amount the engine cannot read")
    stripe_status = text(dispute.get("status")) or "needs_response"
    closed = event.event_type == "charge.dispute.closed"
    status = stripe_status if closed and stripe_status in ("won", "lost") else "open"
    if closed and status == "open":
        status = "closed"
    notice = DisputeNotice(
        dispute_id=dispute_id,
        status=status,
        amount=money[0],
        currency=money[1],
        reason=text(dispute.get("reason")),
        gateway_payment_id=intent_id or charge_id,
        provider_event_id=event.event_id,
    )
    outcome = effects.disputes.update(payment_id, notice, event.origin)
    done = "recorded" if outcome.changed else "already recorded"
    return processed(f"dispute {dispute_id} {status} {done}")


STRIPE_HANDLERS: DispatchTable = {
    "payment_intent.succeeded": intent_succeeded,
    "payment_intent.payment_failed": intent_failed,
    "payment_intent.canceled": intent_canceled,
    "payment_intent.amount_capturable_updated": intent_authorized,
    "checkout.session.completed": session_paid,
    "checkout.session.async_payment_succeeded": session_paid,
    "checkout.session.async_payment_failed": session_payment_failed,
    "checkout.session.expired": session_expired,
    "charge.dispute.created": dispute_changed,
    "charge.dispute.updated": dispute_changed,
    "charge.dispute.closed": dispute_changed,
    "charge.dispute.funds_withdrawn": ignore("the dispute's own events record it"),
    "charge.dispute.funds_reinstated": ignore("the dispute's own events record it"),
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
