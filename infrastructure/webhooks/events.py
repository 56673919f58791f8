"""What a webhook handler is given, what it may call, and what it answers.

Handlers translate one provider event into one use case call. They trust nothing in the
payload beyond what the signature proved (it came from the provider): ids are parsed
defensively, and an event that names no payment of the engine is ignored, on record.
Every call names the event as its origin: the actor ``provider:<provider>:<event id>`` and
the SHA-256 of the raw body, which the evidence table keeps (adr/0016).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from application.application import CheckoutApplication
from application.captures import ForeignCaptureNotice, ForeignCaptures
from application.disputes import Disputes
from application.payments import Outcome, PaymentOutcomes
from application.refunds import Refunds
from domain import DomainError
from domain.actors import Origin
from infrastructure.payments.minor_units import MinorUnits
from infrastructure.webhooks.inbox import InboxStatus
from infrastructure.webhooks.metrics import FOREIGN_CAPTURES

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class ProviderEvent:
    provider: str
    event_id: str
    event_type: str
    payload: JsonObject
    body_digest: str | None = None  # SHA-256 of the raw body, as the evidence table keys it

    @property
    def origin(self) -> Origin:
        return Origin.webhook(self.provider, self.event_id, self.body_digest)


@dataclass(frozen=True)
class Applied:
    status: InboxStatus  # PROCESSED or IGNORED
    outcome: str


def processed(outcome: str) -> Applied:
    return Applied(InboxStatus.PROCESSED, outcome)


def ignored(why: str) -> Applied:
    return Applied(InboxStatus.IGNORED, why)


class PaymentDirectory(Protocol):
    """Finds the engine's payment behind a provider object id (the payment status view)."""

    def payment_for_gateway_order(self, gateway_order_id: str) -> UUID | None: ...

    def payment_for_charge(self, gateway_payment_id: str) -> UUID | None:
        """By the provider order/intent id or the captured charge the engine recorded."""
        ...


@dataclass(frozen=True)
class WebhookEffects:
    """The use cases handlers call, and read access to the aggregates they decide on."""

    app: CheckoutApplication
    payments: PaymentOutcomes
    refunds: Refunds
    directory: PaymentDirectory
    captures: ForeignCaptures
    disputes: Disputes


Handler = Callable[[ProviderEvent, WebhookEffects], Applied]
DispatchTable = Mapping[str, Handler]


class PaymentNotYetKnown(Exception):
    """The event names a provider object the engine cannot match to a payment (yet)."""


class Ignore:
    """A table entry for event types the engine deliberately does not act on.

    Reception answers these without an inbox write (nothing to apply, nothing to keep);
    a type missing from the table is still stored, so a provider's new event stays
    visible to operators.
    """

    def __init__(self, why: str) -> None:
        self.why = why

    def __call__(self, event: ProviderEvent, effects: WebhookEffects) -> Applied:
        return ignored(self.why)


def ignore(why: str) -> Handler:
    return Ignore(why)


def unhandled(event: ProviderEvent, effects: WebhookEffects) -> Applied:
    return ignored(f"no handler for {event.event_type}")


def mapping(value: object) -> Mapping[str, Any]:
    """Metadata and notes as a mapping (Razorpay renders empty notes as ``[]``)."""
    return value if isinstance(value, dict) else {}


def engine_id(value: object) -> UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def failure_reason(code: object, detail: object, message: object) -> str:
    """``card_declined (generic_decline): Your card was declined.``, from what is present."""
    head = text(code) or "declined"
    if text(detail) and detail != code:
        head += f" ({detail})"
    return f"{head}: {message}" if text(message) else head


def engine_amount(units: MinorUnits, amount: object, currency: object) -> tuple[int, str] | None:
    """A provider's amount as ISO 4217 minor units and currency; None if it cannot be read."""
    if type(amount) is not int or not isinstance(currency, str):
        return None
    try:
        return units.from_provider(amount, currency), currency.upper()
    except (DomainError, ValueError):
        return None


def foreign_capture(effects: WebhookEffects, notice: ForeignCaptureNotice) -> Applied:
    """Record money that is no engine payment's: it confirms nothing, a person looks at it."""
    outcome = effects.captures.record(notice)
    if outcome.changed:
        FOREIGN_CAPTURES.labels(notice.provider).inc()
    return processed(
        f"capture {notice.gateway_payment_id} matches no engine payment ({notice.detail}): "
        "recorded for review, nothing confirmed"
    )


def success_applied(outcome: Outcome, gateway_payment_id: str) -> Applied:
    if outcome.extra is not None:
        return processed(
            f"capture {gateway_payment_id} does not pay for the order ({outcome.extra}): "
            f"recorded, refund {outcome.refund_requested} requested"
        )
    if outcome.refund_requested is not None:
        return processed(
            f"late success of {gateway_payment_id}: the order had ended, "
            f"refund {outcome.refund_requested} requested"
        )
    if outcome.changed:
        return processed(f"payment succeeded with {gateway_payment_id}")
    return processed(f"success of {gateway_payment_id} already recorded")


def authorization_applied(outcome: Outcome, gateway_payment_id: str) -> Applied:
    """What a manual-capture authorization did. One that does not match the payment raised
    AuthorizationMismatch before this: the inbox parks its notice for a person."""
    if outcome.changed:
        return processed(f"authorized by {gateway_payment_id}: waiting for an operator's capture")
    if outcome.extra is not None:
        return processed(f"{outcome.extra}: the provider releases it uncaptured")
    return ignored(f"authorization {gateway_payment_id} changes nothing")


def failure_applied(outcome: Outcome, reason: str) -> Applied:
    if outcome.changed:
        return processed(f"attempt failed: {reason}")
    return processed(f"failure not recorded: the payment is already captured ({reason})")


def settle_refund(
    effects: WebhookEffects,
    payment_id: UUID | None,
    refund_id: str | None,
    gateway_refund_id: str,
    status: str,
    reason: str | None = None,
    *,
    origin: Origin,
) -> Applied:
    """Record a provider's final word on a refund the engine asked for.

    ``status`` is the provider-neutral ``succeeded``, ``failed`` or anything else (still
    pending: the provider will send another event).
    """
    if payment_id is None or refund_id is None:
        return ignored(f"refund {gateway_refund_id} names no engine refund")
    if status == "succeeded":
        outcome = effects.refunds.succeeded(payment_id, refund_id, gateway_refund_id, origin)
        done = "completed" if outcome.changed else "already recorded as completed"
        return processed(f"refund {refund_id} {done}")
    if status == "failed":
        why = reason or "the provider reported the refund failed"
        outcome = effects.refunds.failed(payment_id, refund_id, why, origin)
        done = "failed" if outcome.changed else "already recorded as failed"
        return processed(f"refund {refund_id} {done}: {why}")
    return ignored(f"refund {refund_id} is {status}: its outcome comes later")
