"""Ports the application needs from the outside world, injected by the composition root
(entrypoints.bootstrap): a clock, and the payment providers.

The payment-provider port is what the engine asks of Stripe, Razorpay or any other gateway.

Amounts cross this port as ISO 4217 minor units of the payment's currency, like everywhere
else in the engine. A provider that writes some currency differently (Stripe keeps ISK as
two-decimal and MGA as zero-decimal, ...) converts inside its adapter, never here.

Every call must be safe to repeat: the worker calls again after a timeout, a crash or an
expired lease, so an adapter makes a repeated ``create_order`` or ``refund`` for the same
payment or refund id answer with the object the first call created (idempotency keys, or a
look-up by receipt where the provider has no such keys).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, cast, runtime_checkable
from uuid import UUID


class ProviderError(Exception):
    """A provider call did not do what was asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientProviderError(ProviderError):
    """Worth repeating as is: a timeout, a lost connection, 429, 5xx, a lock conflict."""


class PermanentProviderError(ProviderError):
    """The provider refused the request itself (other 4xx): repeating it cannot help."""


class ProviderNotConfigured(ProviderError):
    """No credentials for this provider in this process: the call waits for configuration."""

    def __init__(self, provider: str) -> None:
        super().__init__("provider not configured")
        self.provider = provider


@dataclass(frozen=True)
class ProviderOrderRequest:
    payment_id: UUID
    order_id: UUID
    amount: int  # ISO 4217 minor units
    currency: str
    customer_id: str | None = None
    # "manual": the provider only authorizes; an operator's capture takes the money.
    capture: str = "automatic"
    # True only when the caller knows no earlier call can have created anything for this
    # payment (the worker's first claim of the task): an adapter that must look an earlier
    # object up first (Razorpay, by receipt) may then skip the look-up. False, the safe
    # default, always looks.
    first_attempt: bool = False


@dataclass(frozen=True)
class ProviderOrder:
    """What the customer needs to pay: a Razorpay order, or a Stripe PaymentIntent.

    Stripe has no order object: ``gateway_order_id`` and ``gateway_payment_id`` are both
    the PaymentIntent's id (the id the intent is cancelled and refunded by), and
    ``client_secret`` is what stripe.js confirms. Razorpay's order id is what checkout.js
    opens, with ``key_id``; its payment id only exists once the customer has paid.
    """

    gateway_order_id: str
    gateway_payment_id: str | None = None
    client_secret: str | None = None
    key_id: str | None = None


@dataclass(frozen=True)
class ProviderRefundRequest:
    """Refund ``amount`` of the captured ``gateway_payment_id``, once per ``refund_id``.

    Adapters tag the provider's refund with ``refund_id`` and ``payment_id``, so the
    provider's refund webhooks name both without a look-up on our side.
    """

    payment_id: UUID
    refund_id: str
    gateway_payment_id: str
    amount: int  # ISO 4217 minor units
    currency: str


@dataclass(frozen=True)
class ProviderCaptureRequest:
    """Capture ``amount`` of the authorized ``gateway_payment_id``, once per ``capture_id``
    however often asked (a partial capture releases the rest, where the provider can)."""

    payment_id: UUID
    capture_id: str
    gateway_payment_id: str
    amount: int  # ISO 4217 minor units
    currency: str


class ProviderRefundStatus(StrEnum):
    PENDING = "pending"  # the provider's webhook will tell how it ends
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class ProviderRefund:
    gateway_refund_id: str
    status: ProviderRefundStatus


@dataclass(frozen=True)
class ProviderCharge:
    """A payment as the provider reports it, read back to check what a client claims."""

    gateway_payment_id: str
    gateway_order_id: str | None  # Razorpay's order; Stripe: the intent itself
    amount: int  # ISO 4217 minor units
    currency: str
    status: str  # the provider's own word ("captured", "succeeded", ...)
    captured: bool


class PaymentGateway(Protocol):
    """One payment provider, as the worker calls it."""

    @property
    def provider(self) -> str:
        """The domain's name for it: a ``domain.Provider`` value."""
        ...

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        """Create (or, on a repeat for the same payment, find) the provider's object."""
        ...

    def cancel(self, gateway_order_id: str) -> None:
        """Make the provider object unpayable; a no-op where the provider cannot do that."""
        ...

    def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        """Refund a captured payment, once per refund id however often asked."""
        ...

    def charge(self, gateway_payment_id: str) -> ProviderCharge:
        """Read a payment back from the provider (PermanentProviderError if unknown)."""
        ...

    def capture(self, request: ProviderCaptureRequest) -> ProviderCharge:
        """Capture an authorization; a repeat answers the capture the first call made.

        Answers the charge as captured (its ``amount`` is what was taken); a provider that
        refuses (the authorization lapsed, another amount) raises PermanentProviderError.
        """
        ...


@dataclass(frozen=True)
class LedgerRefund:
    """A refund as the provider lists it; ``engine_refund_id``: the engine's tag on it."""

    gateway_refund_id: str
    amount: int  # ISO 4217 minor units
    status: str  # "succeeded" | "pending" | "failed"
    engine_refund_id: str | None = None


@dataclass(frozen=True)
class LedgerPayment:
    """A payment as the provider lists it, for reconciliation.

    Stripe: a PaymentIntent (``gateway_payment_id`` is the intent, as the engine records
    it); Razorpay: a payment of an order. ``engine_payment_id`` is what the engine's own
    server-set metadata names (Stripe), never anything a customer could set; None where
    only the provider order the engine stored can say (Razorpay).
    """

    gateway_payment_id: str
    gateway_order_id: str | None
    engine_payment_id: UUID | None
    amount: int  # what was captured, or is held; ISO 4217 minor units
    currency: str
    status: str  # the provider's own word
    captured: bool
    authorized: bool  # held for a manual capture, not captured
    refunds: tuple[LedgerRefund, ...] = ()


class ProviderLedger(Protocol):
    """What a provider lists, for reconciliation (adr/0028)."""

    @property
    def provider(self) -> str: ...

    def payments(self, since: datetime, until: datetime) -> Sequence[LedgerPayment]:
        """Every payment made in ``[since, until)``, all pages of it, with its refunds.

        Raises TransientProviderError when the listing could not be completed.
        """
        ...

    def payment(self, gateway_payment_id: str) -> LedgerPayment | None:
        """One payment read back; None if the provider does not know it."""
        ...


@dataclass(frozen=True)
class CheckoutSessionLine:
    name: str
    quantity: int
    unit_amount: int  # ISO 4217 minor units


@dataclass(frozen=True)
class CheckoutSessionRequest:
    """One hosted page for a payment; ``attempt`` numbers the payment's sessions.

    The adapter derives its idempotency key from the payment and the attempt, so two
    concurrent requests for a payment's next session get the same session back.
    """

    payment_id: UUID
    order_id: UUID
    currency: str
    lines: tuple[CheckoutSessionLine, ...]
    success_url: str
    cancel_url: str
    expires_at: int  # unix seconds
    attempt: int = 0
    customer_id: str | None = None
    capture: str = "automatic"  # "manual": the page only authorizes, as the intent would


@dataclass(frozen=True)
class CheckoutSession:
    url: str
    session_id: str
    expires_at: int = 0  # unix seconds; 0 when the provider did not say


class CheckoutSessions(Protocol):
    """Hosted payment pages (Stripe Checkout); Razorpay's checkout.js needs no such call."""

    def create(self, request: CheckoutSessionRequest) -> CheckoutSession: ...

    def expire(self, session_id: str) -> str:
        """Make the session unpayable; answers its final status (``expired`` or ``complete``)."""
        ...


class PaymentProofSignatures(Protocol):
    """The signature Razorpay's checkout.js hands over with a payment, checked with the key
    secret by the Razorpay adapter (adr/0008: the checks live with each provider's client).
    """

    def matches(self, gateway_order_id: str, gateway_payment_id: str, signature: str) -> bool:
        """Whether ``signature`` signs this order and payment; ``gateway_order_id`` is the
        order id the engine stored, never the one the client sent."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


# -- the webhook deliveries the API hands on (application.webhook_deliveries) ------------


class DeliveryReceipt(Protocol):
    """A recorded delivery: ``duplicate`` when the inbox had the event already."""

    @property
    def duplicate(self) -> bool: ...

    @property
    def status(self) -> str:
        """The inbox row's status: received, processed, ignored, failed or dismissed."""
        ...


class DeliveryReception(Protocol):
    def receive(self, provider: str, body: bytes, headers: Mapping[str, str]) -> DeliveryReceipt:
        """Verify, record and apply one delivery; raises InvalidSignature, recording nothing.

        ``provider`` is a ``domain.Provider`` value; ``headers`` are case-insensitive.
        """
        ...


# -- evidence: what a provider said, kept for auditors (adr/0016) -------------------------


class EvidenceKind(StrEnum):
    WEBHOOK = "webhook"
    PROVIDER_CALL = "provider_call"


@dataclass(frozen=True)
class Evidence:
    """A provider's raw text: a verified webhook body, or one call's request and answer.

    ``digest`` is the SHA-256 of ``body`` (UTF-8): the events a provider caused carry it,
    and the evidence store keeps the body under it.
    """

    kind: EvidenceKind
    provider: str
    object_id: str | None  # the provider's id of what it is about
    body: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()

    @classmethod
    def of_call(
        cls,
        provider: str,
        operation: str,
        object_id: str | None,
        request: Mapping[str, Any],
        response: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> Evidence:
        """One provider call as canonical JSON: the same call and answer, the same digest."""
        record: dict[str, Any] = {
            "provider": provider,
            "operation": operation,
            "request": request,
            "response": response,
        }
        if error is not None:
            record["error"] = error
        body = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
        # PostgreSQL text cannot hold NUL; JSON escapes it as \u0000, so none is left.
        return cls(EvidenceKind.PROVIDER_CALL, provider, object_id, body)


EvidenceSink = Callable[[Evidence], None]


@runtime_checkable
class EvidencingGateway(Protocol):
    """A PaymentGateway that can hand back the raw request and answer of every call."""

    def with_evidence(self, sink: EvidenceSink) -> PaymentGateway:
        """This gateway, handing one ``Evidence`` per call (answered or refused) to ``sink``.

        A view per caller, so concurrent executors never see each other's evidence.
        """
        ...


def evidencing(gateway: object) -> EvidencingGateway | None:
    """``gateway`` as an EvidencingGateway, or None: what ``isinstance`` on the runtime
    Protocol answers, at the cost of one attribute look-up (the worker asks once per call,
    and Python 3.11's Protocol check walks every attribute of the Protocol each time)."""
    return cast(EvidencingGateway, gateway) if hasattr(gateway, "with_evidence") else None


@runtime_checkable
class EvidencingSessions(Protocol):
    """CheckoutSessions that can hand back the raw request and answer of every call."""

    def with_evidence(self, sink: EvidenceSink) -> CheckoutSessions:
        """These sessions, handing one ``Evidence`` per call (answered or refused) to
        ``sink``; a view per caller, as ``EvidencingGateway.with_evidence``."""
        ...


class EvidenceStore(Protocol):
    """Keeps evidence for ``EVIDENCE_RETENTION_DAYS`` (infrastructure.evidence)."""

    def keep(self, evidence: Evidence) -> None:
        """Store it once per digest; keeping the same evidence again changes nothing."""
        ...


@runtime_checkable
class BatchEvidenceStore(Protocol):
    """An EvidenceStore that can keep several items in one write (the batched worker)."""

    def keep_all(self, items: Sequence[Evidence]) -> None:
        """``keep`` for each of ``items``, all at once."""
        ...


def keep_all(store: EvidenceStore, items: Sequence[Evidence]) -> None:
    """Keep ``items`` in one write where ``store`` can, else one by one."""
    if not items:
        return
    if isinstance(store, BatchEvidenceStore):
        store.keep_all(items)
        return
    for item in items:
        store.keep(item)
