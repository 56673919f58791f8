"""The payment of one order: provider order, attempts, captures, sessions and the refund ledger.

Provider notifications arrive late, duplicated and out of order, so the command methods that
react to them return False (or ``Capture.ALREADY_RECORDED``) and record nothing for a notice
that changes nothing, instead of raising.

Money that arrives but does not pay for the order (a second charge, a charge of the wrong
amount or currency) is never dropped: it is recorded as an extra charge, and its refund is
requested in the same breath (adr/0010).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.domain import Snapshot as LibrarySnapshot

from domain import actors, bounds
from domain.actors import UNKNOWN_ORIGIN, Origin, upcast_adding
from domain.errors import (
    AuthorizationMismatch,
    CaptureConflict,
    CaptureExceedsAuthorized,
    InvalidAmount,
    InvalidTransition,
    OutOfBounds,
    RefundConflict,
    RefundExceedsCaptured,
    UnknownRefund,
)
from domain.identity import stable_id
from domain.money import MAX_MINOR_UNITS, Currency, Money
from domain.payment_records import (
    DISPUTE_OPEN,
    SESSION_OPEN,
    Attempt,
    CaptureEntry,
    CaptureMethod,
    DisputeEntry,
    ExtraCharge,
    ExtraChargeCause,
    PaymentStatus,
    RefundEntry,
    RefundKind,
    RefundStatus,
    SessionEntry,
)
from domain.provider import Provider

# Before capture the customer may still (re)try; after it money has moved.
UNPAID = frozenset({PaymentStatus.PROCESSING, PaymentStatus.PENDING, PaymentStatus.FAILED})
CAPTURED = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)
REFUNDABLE = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})
# A held authorization ends with its order like an unpaid payment (the provider releases it).
CANCELLABLE = UNPAID | {PaymentStatus.AUTHORIZED}
OUT_OF_BAND = "out_of_band:"  # the "charge" of a payment made outside the providers
DISCREPANCY_OPEN = "open"
DISCREPANCY_REPAIRED = "repaired"
DISCREPANCY_RESOLVED = "resolved"
CAPTURE_PENDING = "pending"
CAPTURE_FAILED = "failed"
CAPTURE_SUCCEEDED = "succeeded"
# Refund kinds that give back the order's own capture (the others give back extra charges).
OWN_CAPTURE_REFUNDS = frozenset({RefundKind.REQUESTED, RefundKind.LATE, RefundKind.EXTERNAL})
UNKNOWN_ACTOR = actors.UNKNOWN
SYSTEM_ACTOR = actors.SYSTEM
MAX_TEXT = 500  # reasons and details kept on events, in characters


class Authorization(StrEnum):
    """What recording a provider's authorization (manual capture) did."""

    RECORDED = "recorded"  # the payment's authorization: an operator may capture it
    ALREADY_RECORDED = "already_recorded"  # a repeated notice
    NOT_AWAITED = "not_awaited"  # automatic capture: the capture follows by itself
    LAPSES = "lapses"  # a second one, or one after the order ended: never captured


class Capture(StrEnum):
    """What recording a provider's capture did."""

    RECORDED = "recorded"  # the payment's own capture: the order may be confirmed
    ALREADY_RECORDED = "already_recorded"  # a repeated notice of a charge already known
    EXTRA = "extra"  # a charge that does not pay for the order: recorded, refund requested


def capture_method(value: str) -> CaptureMethod:
    try:
        return CaptureMethod(value)
    except ValueError:
        raise OutOfBounds("capture", "must be automatic or manual") from None


def _bounded(text: str | None) -> str | None:
    """Provider-sent text as views can store it: bounded, and without NUL characters."""
    return None if text is None else bounds.storable(text, MAX_TEXT)


class Payment(Aggregate):
    """Exactly one per order: its id is derived from the order id."""

    class Snapshot(LibrarySnapshot):
        """Snapshots keep state as JSON: the enums come back as plain strings."""

        def mutate(self, _: None) -> Payment:
            payment = super().mutate(_)
            assert isinstance(payment, Payment)
            payment.status = PaymentStatus(payment.status)
            payment.provider = Provider(payment.provider)
            # Snapshots taken before manual capture existed have none of its state.
            state = payment.__dict__
            payment.capture_method = CaptureMethod(state.get("capture_method", "automatic"))
            state.setdefault("authorized_amount", 0)
            state.setdefault("captures", {})
            state.setdefault("discrepancies", {})
            return payment

    # Versions after 1 of the events below added who caused them and, for what a provider
    # said, its evidence (adr/0016); the upcasters give older events the actor "unknown",
    # as do the defaults to an event built without them (as an older release did).

    class Initiated(Aggregate.Created):
        """v3 added the capture method (manual: an operator captures the authorization)."""

        class_version = 3
        order_id: UUID
        provider: str
        amount: int
        currency: str
        actor: str = actors.UNKNOWN
        capture: str = CaptureMethod.AUTOMATIC.value

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)
        upcast_v2_v3 = staticmethod(upcast_adding(capture=CaptureMethod.AUTOMATIC.value))

    class ProviderOrderCreated(Aggregate.Event):
        class_version = 2
        gateway_order_id: str
        gateway_payment_id: str | None
        client_secret: str | None
        key_id: str | None
        actor: str = actors.UNKNOWN
        evidence_digest: str | None = None  # the worker's create call and its answer

        upcast_v1_v2 = staticmethod(actors.WITH_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.PENDING
            aggregate.gateway_order_id = self.gateway_order_id
            aggregate.gateway_payment_id = self.gateway_payment_id
            aggregate.client_secret = self.client_secret
            aggregate.key_id = self.key_id

    class Succeeded(Aggregate.Event):
        """The order's own capture: its amount and currency were checked to match.

        v3 added the amount captured: less than the payment's after a partial manual
        capture; None (the payment's amount) on earlier events.
        """

        class_version = 3
        gateway_payment_id: str
        provider_event_id: str | None
        actor: str = actors.UNKNOWN
        evidence_digest: str | None = None
        amount: int | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_EVIDENCE)
        upcast_v2_v3 = staticmethod(upcast_adding(amount=None))

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.SUCCEEDED
            aggregate.gateway_payment_id = self.gateway_payment_id
            aggregate.captured_amount = aggregate.amount if self.amount is None else self.amount
            for entry in aggregate.captures.values():
                if entry["status"] == CAPTURE_PENDING:
                    entry["status"] = CAPTURE_SUCCEEDED
            aggregate.failure_reason = None
            aggregate.attempts.append(
                Attempt(
                    gateway_payment_id=self.gateway_payment_id, outcome="succeeded", reason=None
                )
            )

    class AttemptFailed(Aggregate.Event):
        class_version = 2
        reason: str
        gateway_payment_id: str | None
        actor: str = actors.UNKNOWN
        provider_event_id: str | None = None
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_PROVIDER_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.FAILED
            aggregate.failure_reason = self.reason
            aggregate.attempts.append(
                Attempt(
                    gateway_payment_id=self.gateway_payment_id, outcome="failed", reason=self.reason
                )
            )

    class CreationFailed(Aggregate.Event):
        class_version = 2
        reason: str
        actor: str = actors.UNKNOWN
        evidence_digest: str | None = None  # the refused create call

        upcast_v1_v2 = staticmethod(actors.WITH_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.FAILED
            aggregate.failure_reason = self.reason

    class Canceled(Aggregate.Event):
        """The order ended unpaid (cancelled by its customer, or expired), or an operator
        voided its authorization; v3 added the void request's fingerprint, for replays."""

        class_version = 3
        reason: str
        actor: str = actors.UNKNOWN
        request_fingerprint: str | None = None

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)
        upcast_v2_v3 = staticmethod(upcast_adding(request_fingerprint=None))

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.CANCELED
            aggregate.failure_reason = self.reason
            aggregate.cancel_fingerprint = self.request_fingerprint

    class DiscrepancyFound(Aggregate.Event):
        """Reconciliation found the provider and the engine disagreeing about this payment.

        ``repair`` says what was done about it automatically (through the same path a
        webhook takes); None: nothing was, and it waits for a person (the review queue).
        """

        discrepancy_id: str
        kind: str
        detail: str
        provider: str
        order_id: UUID
        gateway_payment_id: str | None
        provider_amount: int | None
        provider_currency: str | None
        run_id: str
        repair: str | None
        actor: str

        def apply(self, aggregate: Payment) -> None:
            aggregate.discrepancies[self.discrepancy_id] = {
                "kind": self.kind,
                "status": DISCREPANCY_REPAIRED if self.repair else DISCREPANCY_OPEN,
                "detail": self.detail,
            }

    class DiscrepancyResolved(Aggregate.Event):
        """A person looked at a discrepancy and decided, giving their reason."""

        discrepancy_id: str
        actor: str
        reason: str

        def apply(self, aggregate: Payment) -> None:
            aggregate.discrepancies[self.discrepancy_id]["status"] = DISCREPANCY_RESOLVED

    class PaidOutOfBand(Aggregate.Event):
        """An operator confirmed the order paid outside the providers (a bank transfer),
        naming their evidence. The provider's objects are closed: money that still
        arrives there is a second charge, refunded."""

        amount: int
        evidence: str
        reason: str
        actor: str

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.SUCCEEDED
            aggregate.gateway_payment_id = OUT_OF_BAND + self.evidence
            aggregate.captured_amount = self.amount
            aggregate.failure_reason = None

    class Authorized(Aggregate.Event):
        """Manual capture: the provider holds the payment's amount until it is captured."""

        gateway_payment_id: str
        amount: int
        currency: str
        provider_event_id: str | None
        actor: str
        evidence_digest: str | None

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.AUTHORIZED
            aggregate.gateway_payment_id = self.gateway_payment_id
            aggregate.authorized_amount = self.amount
            aggregate.failure_reason = None

    class CaptureRequested(Aggregate.Event):
        """An operator asked to capture (part of) the authorization; the worker calls."""

        capture_id: str
        amount: int
        reason: str
        actor: str
        request_fingerprint: str | None

        def apply(self, aggregate: Payment) -> None:
            aggregate.captures[self.capture_id] = CaptureEntry(
                amount=self.amount,
                status=CAPTURE_PENDING,
                reason=self.reason,
                actor=self.actor,
                fingerprint=self.request_fingerprint,
                failure_reason=None,
            )

    class CaptureFailed(Aggregate.Event):
        """The provider refused the capture: the authorization stays, for a person."""

        capture_id: str
        reason: str
        actor: str
        evidence_digest: str | None

        def apply(self, aggregate: Payment) -> None:
            entry = aggregate.captures[self.capture_id]
            entry["status"] = CAPTURE_FAILED
            entry["failure_reason"] = self.reason

    class ExtraChargeRecorded(Aggregate.Event):
        """A capture that does not pay for the order; its refund is requested alongside."""

        class_version = 2
        order_id: UUID
        provider: str
        gateway_payment_id: str
        amount: int
        currency: str
        cause: str
        detail: str
        refund_id: str
        provider_event_id: str | None
        actor: str = actors.UNKNOWN
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            aggregate.extra_charges[self.gateway_payment_id] = ExtraCharge(
                amount=self.amount,
                currency=self.currency,
                cause=self.cause,
                detail=self.detail,
                refund_id=self.refund_id,
            )

    class RefundRequested(Aggregate.Event):
        """v2 added who asked and why, which charge is refunded, and the request's hash."""

        class_version = 2
        refund_id: str
        amount: int
        reason: str | None
        actor: str
        kind: str
        charge: str | None
        currency: str | None
        request_fingerprint: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # v1 kept the reason and the admin in a log line only.
            refund_id = str(state["refund_id"])
            late = refund_id.startswith("late-success:")
            state["reason"] = "paid after the order ended" if late else None
            state["actor"] = SYSTEM_ACTOR if late else UNKNOWN_ACTOR
            state["kind"] = (RefundKind.LATE if late else RefundKind.REQUESTED).value
            state["charge"] = None
            state["currency"] = None
            state["request_fingerprint"] = None

        def apply(self, aggregate: Payment) -> None:
            aggregate.refunds[self.refund_id] = RefundEntry(
                amount=self.amount,
                status=RefundStatus.PENDING.value,
                gateway_refund_id=None,
                failure_reason=None,
                reason=self.reason,
                actor=self.actor,
                kind=self.kind,
                charge=self.charge,
                currency=self.currency,
                fingerprint=self.request_fingerprint,
            )

    class RefundCompleted(Aggregate.Event):
        class_version = 2
        refund_id: str
        gateway_refund_id: str
        # The worker (the provider's answer) or the provider's webhook.
        actor: str = actors.UNKNOWN
        provider_event_id: str | None = None
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_PROVIDER_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            entry = aggregate.refunds[self.refund_id]
            entry["status"] = RefundStatus.SUCCEEDED.value
            entry["gateway_refund_id"] = self.gateway_refund_id
            if entry["kind"] in OWN_CAPTURE_REFUNDS:
                aggregate.count_refunded(entry["amount"])

    class RefundFailed(Aggregate.Event):
        class_version = 2
        refund_id: str
        reason: str
        actor: str = actors.UNKNOWN
        provider_event_id: str | None = None
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_PROVIDER_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            entry = aggregate.refunds[self.refund_id]
            entry["status"] = RefundStatus.FAILED.value
            entry["failure_reason"] = self.reason

    class ExternalRefundRecorded(Aggregate.Event):
        """Money given back at the provider (its dashboard), not asked for by the engine."""

        class_version = 2
        refund_id: str
        gateway_refund_id: str
        amount: int
        currency: str
        charge: str
        own_capture: bool
        provider_event_id: str | None
        actor: str = actors.UNKNOWN
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            aggregate.refunds[self.refund_id] = RefundEntry(
                amount=self.amount,
                status=RefundStatus.SUCCEEDED.value,
                gateway_refund_id=self.gateway_refund_id,
                failure_reason=None,
                reason="refunded at the provider",
                actor=SYSTEM_ACTOR,
                kind=(RefundKind.EXTERNAL if self.own_capture else RefundKind.DUPLICATE).value,
                charge=self.charge,
                currency=self.currency,
                fingerprint=None,
            )
            if self.own_capture:
                aggregate.count_refunded(self.amount)

    class CheckoutSessionOpened(Aggregate.Event):
        class_version = 2
        session_id: str
        url: str
        expires_at: int
        actor: str = actors.UNKNOWN  # the customer who asked for the page

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Payment) -> None:
            aggregate.sessions[self.session_id] = SessionEntry(
                url=self.url, expires_at=self.expires_at, status=SESSION_OPEN
            )

    class CheckoutSessionClosed(Aggregate.Event):
        class_version = 2
        session_id: str
        status: str  # "expired" | "complete"
        actor: str = actors.UNKNOWN  # the worker expiring it, or the webhook
        provider_event_id: str | None = None
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_PROVIDER_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            aggregate.sessions[self.session_id]["status"] = self.status

    class DisputeOpened(Aggregate.Event):
        class_version = 2
        dispute_id: str
        amount: int
        currency: str
        reason: str | None
        gateway_payment_id: str | None
        provider_event_id: str | None
        actor: str = actors.UNKNOWN
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            aggregate.disputes[self.dispute_id] = DisputeEntry(
                amount=self.amount,
                currency=self.currency,
                reason=self.reason,
                status=DISPUTE_OPEN,
                gateway_payment_id=self.gateway_payment_id,
            )

    class DisputeClosed(Aggregate.Event):
        class_version = 2
        dispute_id: str
        status: str
        provider_event_id: str | None
        actor: str = actors.UNKNOWN
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_EVIDENCE)

        def apply(self, aggregate: Payment) -> None:
            aggregate.disputes[self.dispute_id]["status"] = self.status

    def __init__(
        self,
        order_id: UUID,
        provider: str,
        amount: int,
        currency: str,
        capture: str = CaptureMethod.AUTOMATIC.value,
    ) -> None:
        self.order_id = order_id
        self.capture_method = CaptureMethod(capture)
        self.authorized_amount = 0
        self.captures: dict[str, CaptureEntry] = {}
        self.cancel_fingerprint: str | None = None
        self.discrepancies: dict[str, dict[str, str]] = {}
        self.provider = Provider(provider)
        self.amount = amount
        self.currency = currency
        self.status = PaymentStatus.PROCESSING
        self.gateway_order_id: str | None = None
        self.gateway_payment_id: str | None = None
        self.client_secret: str | None = None
        self.key_id: str | None = None
        self.failure_reason: str | None = None
        self.attempts: list[Attempt] = []
        self.refunds: dict[str, RefundEntry] = {}
        self.extra_charges: dict[str, ExtraCharge] = {}
        self.sessions: dict[str, SessionEntry] = {}
        self.disputes: dict[str, DisputeEntry] = {}
        self.refunded_amount = 0
        self.captured_amount = 0

    @staticmethod
    def id_for(order_id: UUID) -> UUID:
        """The order's one payment, found from the order id alone (adr/0005)."""
        return stable_id("payment", str(order_id))

    @classmethod
    def initiate(
        cls,
        order_id: UUID,
        provider: str,
        amount: int,
        currency: str,
        actor: str = UNKNOWN_ACTOR,
        capture: str = CaptureMethod.AUTOMATIC.value,
    ) -> Payment:
        if type(amount) is not int or amount < 1:
            raise InvalidAmount(amount, "a positive int of minor units")
        bounds.actor(actor)
        return cls._create(
            cls.Initiated,
            id=cls.id_for(order_id),
            order_id=order_id,
            provider=Provider.of(provider).value,
            amount=amount,
            currency=Currency.of(currency).code,
            actor=actor,
            capture=capture_method(capture).value,
        )

    @property
    def money(self) -> Money:
        return Money.of(self.amount, self.currency)

    @property
    def is_captured(self) -> bool:
        return self.status in CAPTURED

    @property
    def refund_pending_amount(self) -> int:
        return sum(
            r["amount"]
            for r in self.refunds.values()
            if r["status"] == RefundStatus.PENDING and r["kind"] in OWN_CAPTURE_REFUNDS
        )

    @property
    def refundable(self) -> int:
        """Captured money not yet refunded nor promised to a pending refund."""
        return max(0, self.captured_amount - self.refunded_amount - self.refund_pending_amount)

    def count_refunded(self, amount: int) -> None:
        """Part of applying an event: money of the order's own capture went back."""
        self.refunded_amount += amount
        fully = self.refunded_amount >= self.captured_amount
        self.status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED

    def owns_charge(self, gateway_payment_id: str) -> bool:
        """Whether the engine already recorded this charge as captured for this payment.

        (A Stripe payment knows its intent's id as ``gateway_payment_id`` before capture.)
        """
        captured = self.status in CAPTURED and gateway_payment_id == self.gateway_payment_id
        return captured or gateway_payment_id in self.extra_charges

    def _require(self, allowed: frozenset[PaymentStatus], action: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(f"payment {self.id}", action, self.status.value)

    def record_provider_order(
        self,
        gateway_order_id: str,
        gateway_payment_id: str | None = None,
        client_secret: str | None = None,
        key_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> None:
        self._require(frozenset({PaymentStatus.PROCESSING}), "record the provider order")
        self.trigger_event(
            self.ProviderOrderCreated,
            gateway_order_id=gateway_order_id,
            gateway_payment_id=gateway_payment_id,
            client_secret=client_secret,
            key_id=key_id,
            actor=origin.actor,
            evidence_digest=origin.evidence_digest,
        )

    def fail_creation(self, reason: str, origin: Origin = UNKNOWN_ORIGIN) -> None:
        """The provider refused to create the order for good (not a transient error)."""
        self._require(frozenset({PaymentStatus.PROCESSING}), "fail provider order creation")
        self.trigger_event(
            self.CreationFailed,
            reason=_bounded(reason),
            actor=origin.actor,
            evidence_digest=origin.evidence_digest,
        )

    def cancel(
        self, reason: str, actor: str = UNKNOWN_ACTOR, fingerprint: str | None = None
    ) -> bool:
        """The order ended unpaid, or its authorization is voided; False if this payment is
        already canceled.

        A payment that captured money is never canceled: its order is refunded instead. An
        authorization with a capture under way is not voided: the capture may have happened.
        """
        if self.status is PaymentStatus.CANCELED:
            return False
        bounds.actor(actor)
        self._require(CANCELLABLE, "cancel")
        if self.capture_pending is not None:
            raise InvalidTransition(f"payment {self.id}", "void", "being captured")
        self.trigger_event(
            self.Canceled, reason=_bounded(reason), actor=actor, request_fingerprint=fingerprint
        )
        return True

    @property
    def out_of_band(self) -> bool:
        return (self.gateway_payment_id or "").startswith(OUT_OF_BAND)

    def pay_out_of_band(self, evidence: str, reason: str, actor: str) -> None:
        """Paid outside the providers; InvalidTransition unless unpaid (or authorized: the
        authorization is then voided by the provider cleanup)."""
        bounds.text(evidence, "evidence", 200)
        bounds.text(reason, "reason", bounds.MAX_REASON)
        bounds.actor(actor)
        self._require(UNPAID, "confirm paid out of band")
        self.trigger_event(
            self.PaidOutOfBand, amount=self.amount, evidence=evidence, reason=reason, actor=actor
        )

    # -- reconciliation ----------------------------------------------------------------------

    def note_discrepancy(
        self,
        discrepancy_id: str,
        kind: str,
        detail: str,
        run_id: str,
        *,
        gateway_payment_id: str | None = None,
        provider_amount: int | None = None,
        provider_currency: str | None = None,
        repair: str | None = None,
        actor: str = actors.RECONCILIATION,
    ) -> bool:
        """Record what reconciliation found, once per ``discrepancy_id``; False if known."""
        if discrepancy_id in self.discrepancies:
            return False
        bounds.text(kind, "kind", 100)
        bounds.actor(actor)
        self.trigger_event(
            self.DiscrepancyFound,
            discrepancy_id=discrepancy_id,
            kind=kind,
            detail=_bounded(detail),
            provider=self.provider.value,
            order_id=self.order_id,
            gateway_payment_id=None if gateway_payment_id is None else _bounded(gateway_payment_id),
            provider_amount=provider_amount,
            provider_currency=provider_currency,
            run_id=run_id,
            repair=_bounded(repair),
            actor=actor,
        )
        return True

    def resolve_discrepancy(self, discrepancy_id: str, actor: str, reason: str) -> None:
        """A person's decision on an open discrepancy; InvalidTransition unless open."""
        bounds.text(reason, "reason", bounds.MAX_REASON)
        bounds.actor(actor)
        entry = self.discrepancies.get(discrepancy_id)
        if entry is None:
            raise InvalidTransition(f"discrepancy {discrepancy_id}", "resolve", "unknown")
        if entry["status"] != DISCREPANCY_OPEN:
            raise InvalidTransition(f"discrepancy {discrepancy_id}", "resolve", entry["status"])
        self.trigger_event(
            self.DiscrepancyResolved,
            discrepancy_id=discrepancy_id,
            actor=actor,
            reason=_bounded(reason),
        )

    # -- manual capture ----------------------------------------------------------------------

    @property
    def capture_pending(self) -> str | None:
        """The id of the operator's capture the provider has not answered yet, if any."""
        for capture_id, entry in self.captures.items():
            if entry["status"] == CAPTURE_PENDING:
                return capture_id
        return None

    def record_authorization(
        self, gateway_payment_id: str, amount: int, currency: str, origin: Origin = UNKNOWN_ORIGIN
    ) -> Authorization:
        """Record that the provider holds the money for a manual capture.

        Only an authorization of exactly the payment's amount and currency is the payment's;
        any other raises :class:`AuthorizationMismatch`, recording nothing, so that its
        notice is parked for a person. A second authorization, or one after the order
        ended, is never captured: the provider releases it (``LAPSES``).
        """
        if self.capture_method is CaptureMethod.AUTOMATIC:
            return Authorization.NOT_AWAITED
        if gateway_payment_id == self.gateway_payment_id and (
            self.status is PaymentStatus.AUTHORIZED or self.status in CAPTURED
        ):
            return Authorization.ALREADY_RECORDED
        if self.status is PaymentStatus.AUTHORIZED or self.status in CAPTURED:
            return Authorization.LAPSES
        if self.status is PaymentStatus.CANCELED:
            return Authorization.LAPSES
        if type(amount) is not int or amount != self.amount or currency.upper() != self.currency:
            raise AuthorizationMismatch(
                gateway_payment_id, amount, currency.upper(), f"{self.amount} {self.currency}"
            )
        self.trigger_event(
            self.Authorized,
            gateway_payment_id=gateway_payment_id,
            amount=amount,
            currency=self.currency,
            provider_event_id=origin.provider_event_id,
            actor=origin.actor,
            evidence_digest=origin.evidence_digest,
        )
        return Authorization.RECORDED

    def request_capture(
        self,
        capture_id: str,
        amount: int | None,
        reason: str,
        actor: str,
        fingerprint: str | None = None,
    ) -> bool:
        """An operator captures ``amount`` (None: all) of the authorization, once per
        ``capture_id``; False for a repeat of the same request.

        Raises InvalidTransition unless authorized (a second capture, once captured),
        CaptureConflict while another capture is under way or for a reused id with another
        request, CaptureExceedsAuthorized for more than is held (or part of it, where the
        provider captures only the whole).
        """
        bounds.text(reason, "reason", bounds.MAX_REASON)
        bounds.actor(actor)
        existing = self.captures.get(capture_id)
        if existing is not None:
            if existing["fingerprint"] != fingerprint:
                raise CaptureConflict(
                    f"capture {capture_id} was asked for with another amount or reason"
                )
            return False
        self._require(frozenset({PaymentStatus.AUTHORIZED}), "capture")
        under_way = self.capture_pending
        if under_way is not None:
            raise CaptureConflict(f"capture {under_way} is under way")
        wanted = self.authorized_amount if amount is None else amount
        if type(wanted) is not int or wanted < 1:
            raise InvalidAmount(wanted, "a positive int of minor units")
        if wanted > self.authorized_amount:
            raise CaptureExceedsAuthorized(wanted, self.authorized_amount)
        if self.provider is Provider.RAZORPAY and wanted != self.authorized_amount:
            # Razorpay's capture must be of the whole amount (its payments API).
            raise CaptureExceedsAuthorized(wanted, self.authorized_amount, whole_only=True)
        self.trigger_event(
            self.CaptureRequested,
            capture_id=capture_id,
            amount=wanted,
            reason=_bounded(reason),
            actor=actor,
            request_fingerprint=fingerprint,
        )
        return True

    def fail_capture(self, capture_id: str, reason: str, origin: Origin = UNKNOWN_ORIGIN) -> bool:
        """The provider refused the capture; False unless it was pending."""
        entry = self.captures.get(capture_id)
        if entry is None or entry["status"] != CAPTURE_PENDING:
            return False
        self.trigger_event(
            self.CaptureFailed,
            capture_id=capture_id,
            reason=_bounded(reason),
            actor=origin.actor,
            evidence_digest=origin.evidence_digest,
        )
        return True

    @property
    def expected_capture(self) -> int:
        """What the payment's own capture must be: the operator's capture under way, else
        the authorization (manual capture), else the payment's amount."""
        pending = self.capture_pending
        if pending is not None:
            return self.captures[pending]["amount"]
        if self.status is PaymentStatus.AUTHORIZED:
            return self.authorized_amount
        return self.amount

    def record_capture(
        self,
        gateway_payment_id: str,
        amount: int,
        currency: str,
        provider_event_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> Capture:
        """Record money the provider captured for this payment, whatever it was.

        Only a charge of exactly the payment's amount and currency, while no other charge
        paid for it, is the payment's own capture (``RECORDED``). A canceled payment still
        records its capture: the money moved, and the application refunds it as late.
        Anything else is an extra charge, recorded with its refund (``EXTRA``).
        """
        provider_event_id = provider_event_id or origin.provider_event_id
        if self.owns_charge(gateway_payment_id):
            return Capture.ALREADY_RECORDED
        if type(amount) is not int or not 1 <= amount <= MAX_MINOR_UNITS:
            raise InvalidAmount(amount, "a positive int of minor units a view can store")
        expected = self.expected_capture
        matches = amount == expected and currency.upper() == self.currency
        if matches and self.status not in CAPTURED:
            self.trigger_event(
                self.Succeeded,
                gateway_payment_id=gateway_payment_id,
                provider_event_id=provider_event_id,
                actor=origin.actor,
                evidence_digest=origin.evidence_digest,
                amount=amount,
            )
            return Capture.RECORDED
        if matches:
            cause = ExtraChargeCause.DUPLICATE
            detail = f"a second charge: the order was already paid by {self.gateway_payment_id}"
        else:
            cause = ExtraChargeCause.MISMATCH
            detail = f"charged {amount} {currency.upper()}, the order is {expected} {self.currency}"
        self._record_extra(
            gateway_payment_id, amount, currency.upper(), cause, detail, provider_event_id, origin
        )
        return Capture.EXTRA

    def _record_extra(
        self,
        gateway_payment_id: str,
        amount: int,
        currency: str,
        cause: ExtraChargeCause,
        detail: str,
        provider_event_id: str | None,
        origin: Origin,
    ) -> None:
        refund_id = f"{cause.value}:{gateway_payment_id}"
        self.trigger_event(
            self.ExtraChargeRecorded,
            order_id=self.order_id,
            provider=self.provider.value,
            gateway_payment_id=gateway_payment_id,
            amount=amount,
            currency=currency,
            cause=cause.value,
            detail=detail,
            refund_id=refund_id,
            provider_event_id=provider_event_id,
            actor=origin.actor,
            evidence_digest=origin.evidence_digest,
        )
        kind = RefundKind.DUPLICATE if cause is ExtraChargeCause.DUPLICATE else RefundKind.MISMATCH
        self.trigger_event(
            self.RefundRequested,
            refund_id=refund_id,
            amount=amount,
            reason=detail,
            actor=SYSTEM_ACTOR,
            kind=kind.value,
            charge=gateway_payment_id,
            currency=currency,
            request_fingerprint=None,
        )

    def fail_attempt(
        self,
        reason: str,
        gateway_payment_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> bool:
        """Record a declined attempt; False (nothing recorded) when it changes nothing.

        Failure notices can arrive after the success of a later retry, after the success of
        the same charge (provider retries, reordering), twice for the same charge, or after
        the order ended. None of those is recorded: a late failure never undoes a success.
        """
        if self.status in CAPTURED or self.status in (
            PaymentStatus.CANCELED,
            PaymentStatus.AUTHORIZED,
        ):
            return False
        if gateway_payment_id is not None and (
            self.owns_charge(gateway_payment_id)
            or any(
                a["gateway_payment_id"] == gateway_payment_id and a["outcome"] == "failed"
                for a in self.attempts
            )
        ):
            return False
        self.trigger_event(
            self.AttemptFailed,
            reason=_bounded(reason),
            gateway_payment_id=gateway_payment_id,
            actor=origin.actor,
            provider_event_id=origin.provider_event_id,
            evidence_digest=origin.evidence_digest,
        )
        return True

    def request_refund(
        self,
        refund_id: str,
        amount: int,
        *,
        reason: str | None = None,
        actor: str = UNKNOWN_ACTOR,
        kind: RefundKind = RefundKind.REQUESTED,
        fingerprint: str | None = None,
    ) -> bool:
        """Promise a refund of the order's capture; False if this refund id already exists.

        The same refund id with a different amount, or (when both carry one) a different
        request fingerprint, raises :class:`RefundConflict`.
        """
        if type(amount) is not int or amount < 1:
            raise InvalidAmount(amount, "a positive int of minor units")
        if reason is not None:
            bounds.text(reason, "reason", bounds.MAX_REASON)
        bounds.actor(actor)
        existing = self.refunds.get(refund_id)
        if existing is not None:
            differs = fingerprint is not None and existing["fingerprint"] not in (None, fingerprint)
            if existing["amount"] != amount or differs:
                raise RefundConflict(refund_id, existing["amount"], amount)
            return False
        self._require(REFUNDABLE, "refund")
        if self.out_of_band:
            # No provider holds this money: it goes back the way it came, by hand.
            raise InvalidTransition(f"payment {self.id}", "refund", "paid out of band")
        if amount > self.refundable:
            raise RefundExceedsCaptured(amount, self.refundable)
        self.trigger_event(
            self.RefundRequested,
            refund_id=refund_id,
            amount=amount,
            reason=_bounded(reason),
            actor=actor,
            kind=kind.value,
            charge=None,
            currency=None,
            request_fingerprint=fingerprint,
        )
        return True

    def _refund(self, refund_id: str, action: str) -> RefundEntry:
        entry = self.refunds.get(refund_id)
        if entry is None:
            raise UnknownRefund(refund_id, action)
        return entry

    def refunded_charge(self, refund_id: str) -> tuple[str | None, str]:
        """The gateway payment a refund gives back, and its currency."""
        entry = self._refund(refund_id, "find the refunded charge")
        return entry["charge"] or self.gateway_payment_id, entry["currency"] or self.currency

    def complete_refund(
        self, refund_id: str, gateway_refund_id: str, origin: Origin = UNKNOWN_ORIGIN
    ) -> bool:
        entry = self._refund(refund_id, "complete refund")
        if entry["status"] == RefundStatus.SUCCEEDED:
            return False
        if entry["status"] == RefundStatus.FAILED:
            raise InvalidTransition(f"refund {refund_id}", "complete refund", "failed")
        self.trigger_event(
            self.RefundCompleted,
            refund_id=refund_id,
            gateway_refund_id=gateway_refund_id,
            actor=origin.actor,
            provider_event_id=origin.provider_event_id,
            evidence_digest=origin.evidence_digest,
        )
        return True

    def fail_refund(self, refund_id: str, reason: str, origin: Origin = UNKNOWN_ORIGIN) -> bool:
        """Give the promised amount back to ``refundable``; False if already failed."""
        entry = self._refund(refund_id, "fail refund")
        if entry["status"] == RefundStatus.FAILED:
            return False
        if entry["status"] == RefundStatus.SUCCEEDED:
            raise InvalidTransition(f"refund {refund_id}", "fail refund", "succeeded")
        self.trigger_event(
            self.RefundFailed,
            refund_id=refund_id,
            reason=_bounded(reason),
            actor=origin.actor,
            provider_event_id=origin.provider_event_id,
            evidence_digest=origin.evidence_digest,
        )
        return True

    def knows_refund(self, gateway_refund_id: str) -> bool:
        return any(r["gateway_refund_id"] == gateway_refund_id for r in self.refunds.values())

    def record_external_refund(
        self,
        gateway_refund_id: str,
        amount: int,
        charge: str,
        provider_event_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> bool:
        """Record a refund made at the provider; False if it is known already.

        Returns whether it gave back the order's own capture (the order must mirror it).
        Raises InvalidTransition for a charge that is not this payment's.
        """
        if self.knows_refund(gateway_refund_id):
            return False
        if type(amount) is not int or amount < 1:
            raise InvalidAmount(amount, "a positive int of minor units")
        own = charge == self.gateway_payment_id and self.status in CAPTURED
        extra = self.extra_charges.get(charge)
        if not own and extra is None:
            raise InvalidTransition(
                f"payment {self.id}",
                f"record refund {gateway_refund_id}",
                f"not charged by {charge}",
            )
        self.trigger_event(
            self.ExternalRefundRecorded,
            refund_id=f"external:{gateway_refund_id}",
            gateway_refund_id=gateway_refund_id,
            amount=amount,
            currency=self.currency if extra is None else extra["currency"],
            charge=charge,
            own_capture=own,
            provider_event_id=provider_event_id or origin.provider_event_id,
            actor=origin.actor,
            evidence_digest=origin.evidence_digest,
        )
        return True

    # -- hosted payment pages --------------------------------------------------------------

    def open_session(self, now: int, margin: int = 60) -> tuple[str, SessionEntry] | None:
        """The hosted session still payable ``margin`` seconds from ``now``, if any."""
        for session_id, entry in self.sessions.items():
            if entry["status"] == SESSION_OPEN and entry["expires_at"] > now + margin:
                return session_id, entry
        return None

    def record_session(
        self, session_id: str, url: str, expires_at: int, actor: str = UNKNOWN_ACTOR
    ) -> bool:
        """Record a hosted session opened for this payment; False if already recorded."""
        if session_id in self.sessions:
            return False
        bounds.actor(actor)
        self._require(UNPAID, "open a checkout session")
        self.trigger_event(
            self.CheckoutSessionOpened,
            session_id=session_id,
            url=url,
            expires_at=expires_at,
            actor=actor,
        )
        return True

    def close_session(self, session_id: str, status: str, origin: Origin = UNKNOWN_ORIGIN) -> bool:
        """The session expired or completed; False if unknown or closed already."""
        entry = self.sessions.get(session_id)
        if entry is None or entry["status"] != SESSION_OPEN:
            return False
        self.trigger_event(
            self.CheckoutSessionClosed,
            session_id=session_id,
            status=status,
            actor=origin.actor,
            provider_event_id=origin.provider_event_id,
            evidence_digest=origin.evidence_digest,
        )
        return True

    @property
    def open_sessions(self) -> list[str]:
        return [sid for sid, entry in self.sessions.items() if entry["status"] == SESSION_OPEN]

    # -- disputes --------------------------------------------------------------------------

    def open_dispute(
        self,
        dispute_id: str,
        amount: int,
        currency: str,
        reason: str | None,
        gateway_payment_id: str | None,
        provider_event_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> bool:
        if dispute_id in self.disputes:
            return False
        self.trigger_event(
            self.DisputeOpened,
            dispute_id=dispute_id,
            amount=amount,
            currency=currency.upper(),
            reason=_bounded(reason),
            gateway_payment_id=gateway_payment_id,
            provider_event_id=provider_event_id or origin.provider_event_id,
            actor=origin.actor,
            evidence_digest=origin.evidence_digest,
        )
        return True

    def close_dispute(
        self,
        dispute_id: str,
        status: str,
        provider_event_id: str | None = None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> bool:
        entry = self.disputes.get(dispute_id)
        if entry is None or entry["status"] == status:
            return False
        self.trigger_event(
            self.DisputeClosed,
            dispute_id=dispute_id,
            status=_bounded(status) or "closed",
            provider_event_id=provider_event_id or origin.provider_event_id,
            actor=origin.actor,
            evidence_digest=origin.evidence_digest,
        )
        return True
