"""Razorpay's events, and the use case each one calls.

A Razorpay payment belongs to the engine payment whose stored ``gatewayOrderId`` is the
payment's ``order_id`` (adr/0009). The engine created that order server-side with the
payment id as ``receipt``, so an ``order.paid`` event's order entity names it too. A
payment's ``notes`` never identify anything: checkout.js takes them from options the
customer's browser controls. A payment with no order, or on an order the engine did not
make, is a foreign capture: recorded for review, nothing confirmed. The money is checked
on every capture: amount and currency must be what the engine asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from application.captures import ForeignCaptureNotice
from application.disputes import DisputeNotice
from domain import AuthorizationMismatch, Provider
from infrastructure.payments.minor_units import RAZORPAY_UNITS
from infrastructure.webhooks.events import (
    Applied,
    DispatchTable,
    PaymentNotYetKnown,
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

NOT_OURS = "not a payment of an engine order"
REFUND_OUTCOMES = {"processed": "succeeded", "failed": "failed"}
DISPUTE_OUTCOMES = {
    "payment.dispute.created": "open",
    "payment.dispute.won": "won",
    "payment.dispute.lost": "lost",
    "payment.dispute.closed": "closed",
    "payment.dispute.under_review": "open",
    "payment.dispute.action_required": "open",
}
RAZORPAY = Provider.RAZORPAY.value


def _entity(event: ProviderEvent, name: str) -> Mapping[str, Any]:
    payload = mapping(event.payload.get("payload"))
    return mapping(mapping(payload.get(name)).get("entity"))


def _payment_of(
    effects: WebhookEffects, payment: Mapping[str, Any], order: Mapping[str, Any]
) -> UUID | None:
    """The engine payment behind a Razorpay payment; None if it has no Razorpay order.

    Raises PaymentNotYetKnown for an order the engine has not recorded (yet): the view
    may lag the worker by a moment, so the inbox tries again before it parks the event.
    """
    gateway_order_id = text(payment.get("order_id"))
    if gateway_order_id is None:
        return None
    found = effects.directory.payment_for_gateway_order(gateway_order_id)
    if found is None and text(order.get("id")) == gateway_order_id:
        found = engine_id(order.get("receipt"))  # set by the engine, server-side
    if found is None:
        raise PaymentNotYetKnown(f"no engine payment for Razorpay order {gateway_order_id} yet")
    return found


def _known_payment(effects: WebhookEffects, payment: Mapping[str, Any]) -> UUID | None:
    """For refunds and disputes, which come long after the capture: no waiting."""
    try:
        return _payment_of(effects, payment, {}) if payment else None
    except PaymentNotYetKnown:
        return None


def _foreign(
    event: ProviderEvent, effects: WebhookEffects, payment: Mapping[str, Any], why: str
) -> Applied:
    notes = mapping(payment.get("notes"))
    amount = payment.get("amount")
    return foreign_capture(
        effects,
        ForeignCaptureNotice(
            provider=RAZORPAY,
            gateway_payment_id=text(payment.get("id")) or "(no id)",
            gateway_order_id=text(payment.get("order_id")),
            amount=amount if type(amount) is int else 0,
            currency=text(payment.get("currency")) or "???",
            claimed_payment_id=text(notes.get("paymentId")),
            detail=why,
            provider_event_id=event.event_id,
        ),
    )


def payment_captured(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """``payment.captured`` and ``order.paid`` (which also carries the order entity)."""
    payment = _entity(event, "payment")
    gateway_payment_id = text(payment.get("id"))
    if gateway_payment_id is None:
        return ignored("the event names no payment")
    payment_id = _payment_of(effects, payment, _entity(event, "order"))
    if payment_id is None:
        return _foreign(event, effects, payment, "a payment with no Razorpay order")
    money = engine_amount(RAZORPAY_UNITS, payment.get("amount"), payment.get("currency"))
    if money is None:
        return _foreign(event, effects, payment, "an amount the engine cannot read")
    amount, currency = money
    outcome = effects.payments.succeeded(
        payment_id, gateway_payment_id, amount, currency, event.event_id, event.origin
    )
    return success_applied(outcome, gateway_payment_id)


def payment_authorized(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """A payment of a manual-capture order waits for the operator's capture; for an
    auto-captured order ``payment.captured`` follows by itself (nothing to do)."""
    payment = _entity(event, "payment")
    gateway_payment_id = text(payment.get("id"))
    if gateway_payment_id is None:
        return ignored("the event names no payment")
    payment_id = _payment_of(effects, payment, _entity(event, "order"))
    if payment_id is None:
        return ignored("a payment with no Razorpay order: nothing was captured")
    money = engine_amount(RAZORPAY_UNITS, payment.get("amount"), payment.get("currency"))
    if money is None:
        raise AuthorizationMismatch(gateway_payment_id, 0, "???", "an amount the engine can read")
    outcome = effects.payments.authorized(payment_id, gateway_payment_id, *money, event.origin)
    return authorization_applied(outcome, gateway_payment_id)


def payment_failed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    payment = _entity(event, "payment")
    payment_id = _payment_of(effects, payment, _entity(event, "order"))
    if payment_id is None:
        return ignored(NOT_OURS)
    reason = failure_reason(
        payment.get("error_code"), payment.get("error_reason"), payment.get("error_description")
    )
    outcome = effects.payments.attempt_failed(
        payment_id, reason, text(payment.get("id")), event.origin
    )
    return failure_applied(outcome, reason)


def refund_settled(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    """``refund.processed`` and ``refund.failed``; a refund the engine did not ask for is
    one made in the dashboard, recorded once processed."""
    refund = _entity(event, "refund")
    notes = mapping(refund.get("notes"))
    refund_id = text(notes.get("refundId")) or text(refund.get("receipt"))
    payment_id = _known_payment(effects, _entity(event, "payment"))
    status = text(refund.get("status")) or event.event_type.removeprefix("refund.")
    outcome = REFUND_OUTCOMES.get(status, status)
    gateway_refund_id = text(refund.get("id")) or "(no id)"
    if payment_id is not None and refund_id is None:
        return _external_refund(event, effects, payment_id, refund, outcome)
    return settle_refund(
        effects,
        payment_id or engine_id(notes.get("paymentId")),
        refund_id,
        gateway_refund_id,
        outcome,
        "Razorpay reported the refund failed",
        origin=event.origin,
    )


def _external_refund(
    event: ProviderEvent,
    effects: WebhookEffects,
    payment_id: UUID,
    refund: Mapping[str, Any],
    outcome: str,
) -> Applied:
    gateway_refund_id = text(refund.get("id")) or "(no id)"
    if outcome != "succeeded":
        return ignored(f"refund {gateway_refund_id} made at Razorpay is {outcome}")
    money = engine_amount(RAZORPAY_UNITS, refund.get("amount"), refund.get("currency"))
    charge = text(refund.get("payment_id"))
    if money is None or charge is None:
        return ignored(f"refund {gateway_refund_id} has no amount or payment the engine can read")
    recorded = effects.refunds.external(
        payment_id, gateway_refund_id, money[0], charge, event.event_id, event.origin
    )
    done = "recorded" if recorded.changed else "already recorded"
    return processed(f"refund {gateway_refund_id} made at Razorpay {done}")


def dispute_changed(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    dispute = _entity(event, "dispute")
    dispute_id = text(dispute.get("id"))
    payment_id = _known_payment(effects, _entity(event, "payment"))
    if dispute_id is None or payment_id is None:
        return ignored(f"dispute {dispute_id} is not on an engine payment")
    money = engine_amount(RAZORPAY_UNITS, dispute.get("amount"), dispute.get("currency"))
    if money is None:
        return ignored(f"dispute {dispute_id} has an amount the engine cannot read")
    status = DISPUTE_OUTCOMES.get(event.event_type, text(dispute.get("status")) or "open")
    notice = DisputeNotice(
        dispute_id=dispute_id,
        status=status,
        amount=money[0],
        currency=money[1],
        reason=text(dispute.get("reason_code")) or text(dispute.get("reason_description")),
        gateway_payment_id=text(dispute.get("payment_id")),
        provider_event_id=event.event_id,
    )
    outcome = effects.disputes.update(payment_id, notice, event.origin)
    done = "recorded" if outcome.changed else "already recorded"
    return processed(f"dispute {dispute_id} {status} {done}")


RAZORPAY_HANDLERS: DispatchTable = {
    "payment.authorized": payment_authorized,
    "payment.captured": payment_captured,
    "order.paid": payment_captured,
    "payment.failed": payment_failed,
    "refund.created": ignore("refund.processed or refund.failed settles it"),
    "refund.processed": refund_settled,
    "refund.failed": refund_settled,
    "refund.speed_changed": ignore("the refund's speed does not matter to the engine"),
    **dict.fromkeys(DISPUTE_OUTCOMES, dispute_changed),
}
