"""What the webhook endpoints do: verify the raw bytes, record the event, apply it at once.

Nothing is recorded for a request that fails verification (a counter and a log line
only), so forged requests cannot fill the inbox. A verified event is committed to the
inbox before anything else happens to it: from then on the engine owns it, and the
provider is answered 2xx even if applying it fails, because the sweeper will try again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import structlog
from pydantic import BaseModel, ValidationError

from application.crash_points import crash_point
from application.webhook_deliveries import (
    RAZORPAY_EVENT_ID,
    RAZORPAY_SIGNATURE,
    STRIPE_SIGNATURE,
    InvalidSignature,
    RazorpayEventEnvelope,
    RejectReason,
    StripeEventEnvelope,
)
from domain import Provider
from infrastructure.payments.razorpay import client as razorpay_payments
from infrastructure.payments.stripe import client as stripe_payments
from infrastructure.webhooks.applier import WebhookApplier
from infrastructure.webhooks.inbox import InboxStatus, WebhookInbox
from infrastructure.webhooks.metrics import WEBHOOKS_RECEIVED, WEBHOOKS_REJECTED

log = structlog.get_logger(__name__)


Headers = Mapping[str, str]  # case-insensitive, like Starlette's
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Receipt:
    event_id: str
    duplicate: bool
    status: InboxStatus


@dataclass(frozen=True)
class Intake:
    """How one provider's deliveries are checked and named."""

    provider: str
    verify: Callable[[bytes, Headers], None]
    identify: Callable[[bytes, Headers], tuple[str, str]]  # (event id, event type)
    kept_headers: tuple[str, ...]


def _envelope(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidSignature(
            RejectReason.MALFORMED, f"signed, but not a provider event: {where}: {first['msg']}"
        ) from None


def _unconfigured(variable: str) -> InvalidSignature:
    return InvalidSignature(RejectReason.NOT_CONFIGURED, f"{variable} is not set")


def stripe_intake(secret: str | None, tolerance: int) -> Intake:
    def verify(body: bytes, headers: Headers) -> None:
        if not secret:
            raise _unconfigured("STRIPE_WEBHOOK_SECRET")
        stripe_payments.verify_webhook(body, headers.get(STRIPE_SIGNATURE), secret, tolerance)

    def identify(body: bytes, headers: Headers) -> tuple[str, str]:
        event = _envelope(StripeEventEnvelope, body)
        return event.id, event.type

    return Intake(Provider.STRIPE.value, verify, identify, (STRIPE_SIGNATURE, "User-Agent"))


def razorpay_event_id(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def razorpay_intake(secret: str | None) -> Intake:
    def verify(body: bytes, headers: Headers) -> None:
        if not secret:
            raise _unconfigured("RAZORPAY_WEBHOOK_SECRET")
        razorpay_payments.verify_webhook(body, headers.get(RAZORPAY_SIGNATURE), secret)

    def identify(body: bytes, headers: Headers) -> tuple[str, str]:
        event = _envelope(RazorpayEventEnvelope, body)
        # The signature covers the body only, not X-Razorpay-Event-Id: anyone holding one
        # signed body could replay it under new header values. So the body names the
        # event (a redelivery is byte-identical); the header is kept as metadata.
        return razorpay_event_id(body), event.event

    kept = (RAZORPAY_SIGNATURE, RAZORPAY_EVENT_ID, "User-Agent")
    return Intake(Provider.RAZORPAY.value, verify, identify, kept)


class WebhookReception:
    def __init__(
        self, inbox: WebhookInbox, applier: WebhookApplier, intakes: Mapping[str, Intake]
    ) -> None:
        self.inbox = inbox
        self.applier = applier
        self.intakes = dict(intakes)

    def receive(self, provider: str, body: bytes, headers: Headers) -> Receipt:
        """Verify, record and apply one delivery; raises InvalidSignature, recording nothing.

        A type the dispatch tables deliberately ignore (``payment_intent.created``, ...) is
        answered once verified, without an inbox write."""
        intake = self.intakes[provider]
        try:
            intake.verify(body, headers)
            event_id, event_type = intake.identify(body, headers)
        except InvalidSignature as exc:
            WEBHOOKS_REJECTED.labels(provider, exc.reason.value).inc()
            log.warning(
                "webhook rejected", provider=provider, reason=exc.reason.value, detail=exc.detail
            )
            raise
        why = self.applier.ignores(provider, event_type)
        if why is not None:
            # Verified, and of a type the engine never acts on: answered, not stored.
            WEBHOOKS_RECEIVED.labels(provider, "ignored").inc()
            log.debug("webhook ignored", provider=provider, event_type=event_type, why=why)
            return Receipt(event_id, False, InboxStatus.IGNORED)
        kept = {name: headers[name] for name in intake.kept_headers if name in headers}
        accepted = self.inbox.accept(provider, event_id, event_type, body, kept)
        if accepted.duplicate:
            WEBHOOKS_RECEIVED.labels(provider, "duplicate").inc()
            log.info("webhook duplicate", provider=provider, event_id=event_id)
            return Receipt(event_id, True, accepted.entry.status)
        WEBHOOKS_RECEIVED.labels(provider, "new").inc()
        crash_point("webhooks.before_apply")
        try:
            status = self.applier.apply(accepted.entry)
        except Exception:
            # Recording the outcome failed (the database went away): the row is still
            # leased as received, and the sweeper applies it once the lease runs out.
            log.exception("webhook recorded, not applied", provider=provider, event_id=event_id)
            status = InboxStatus.RECEIVED
        return Receipt(event_id, False, status)
