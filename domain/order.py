"""The order: what a customer bought, at which prices, and where it stands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import actors, bounds
from domain.actors import UNKNOWN_ORIGIN, Origin
from domain.errors import (
    EmptyCart,
    InvalidAmount,
    InvalidQuantity,
    InvalidTransition,
    MarkConflict,
    OutOfBounds,
    PaymentMismatch,
    RefundExceedsCaptured,
)
from domain.money import Currency, Money
from domain.provider import Provider


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAYMENT_CONFIRMED = "PAYMENT_CONFIRMED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One priced line; prices are copied from the catalog at checkout and never change."""

    sku: str
    quantity: int
    unit_amount: int
    vendor_id: str

    def __post_init__(self) -> None:
        if type(self.quantity) is not int or not 1 <= self.quantity <= bounds.MAX_LINE_QUANTITY:
            raise InvalidQuantity(self.quantity, self.sku, bounds.MAX_LINE_QUANTITY)
        if type(self.unit_amount) is not int or self.unit_amount < 0:
            raise InvalidAmount(self.unit_amount, "a non-negative int of minor units")
        bounds.total(self.total, f"the line total of {self.sku}")

    @property
    def total(self) -> int:
        return self.quantity * self.unit_amount

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "quantity": self.quantity,
            "unit_amount": self.unit_amount,
            "vendor_id": self.vendor_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderLine:
        return cls(data["sku"], data["quantity"], data["unit_amount"], data["vendor_id"])


REFUNDABLE = frozenset({OrderStatus.PAYMENT_CONFIRMED, OrderStatus.PARTIALLY_REFUNDED})
HOLDABLE = frozenset({OrderStatus.PENDING_PAYMENT}) | REFUNDABLE
_NO_MARKS: Mapping[str, Mapping[str, str]] = MappingProxyType({})


class MarkKind(StrEnum):
    """An operator's marks on an order (adr/0029). The first two record a decision and
    change nothing else; the others are commands with their own events."""

    NOTE = "note"
    FULFILLED_MANUALLY = "fulfilled_manually"
    HOLD = "hold"  # Order.Held: no capture while held; published on orders.held
    RELEASE = "release"  # Order.HoldReleased
    PAID_OUT_OF_BAND = "paid_out_of_band"  # Payment.PaidOutOfBand + Order.Confirmed


class Order(Aggregate):
    """Created by checkout with stock already reserved; ends paid, cancelled or refunded."""

    class Created(Aggregate.Created):
        """v2 added ``request_fingerprint`` (hash of the checkout request, for idempotency);
        v3 the ``actor`` who placed it (adr/0016)."""

        class_version = 3
        customer_id: str
        lines: list[dict[str, Any]]  # plain dicts so the event serialises as JSON
        currency: str
        payment_id: UUID
        provider: str
        request_fingerprint: str | None
        expires_at: datetime
        actor: str = actors.UNKNOWN

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Orders placed before fingerprints existed have none: they can't be replayed.
            state["request_fingerprint"] = None

        upcast_v2_v3 = staticmethod(actors.ACTOR_ONLY)

    class Confirmed(Aggregate.Event):
        """v2 added who confirmed it (the provider's webhook) and its evidence; v3 the
        amount paid (less than the order's after a partial manual capture; None on
        earlier events: the order's amount)."""

        class_version = 3
        payment_id: UUID
        gateway_payment_id: str
        provider: str
        actor: str = actors.UNKNOWN
        provider_event_id: str | None = None
        evidence_digest: str | None = None
        amount: int | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_PROVIDER_EVIDENCE)
        upcast_v2_v3 = staticmethod(actors.upcast_adding(amount=None))

        def apply(self, aggregate: Order) -> None:
            aggregate.status = OrderStatus.PAYMENT_CONFIRMED
            aggregate.gateway_payment_id = self.gateway_payment_id
            aggregate.confirmed_at = self.timestamp
            aggregate.paid_amount = self.amount

        @property
        def confirmed_at(self) -> datetime:
            return self.timestamp

    class PaymentAuthorized(Aggregate.Event):
        """Manual capture: the payment's money is held, so the order waits for an operator
        until ``hold_until`` (before the provider would let the authorization lapse),
        instead of expiring with its payment window."""

        gateway_payment_id: str
        hold_until: datetime
        actor: str
        provider_event_id: str | None
        evidence_digest: str | None

        def apply(self, aggregate: Order) -> None:
            aggregate.expires_at = self.hold_until

    class Cancelled(Aggregate.Event):
        """v2 added who cancelled it: its customer, or the reaper once it expired."""

        class_version = 2
        reason: str
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Order) -> None:
            aggregate.status = OrderStatus.CANCELLED
            aggregate.cancel_reason = self.reason
            aggregate.cancelled_at = self.timestamp

    class Refunded(Aggregate.Event):
        """v2 added who settled the refund (the worker, or a webhook) and its evidence."""

        class_version = 2
        amount: int
        refunded_total: int
        actor: str = actors.UNKNOWN
        provider_event_id: str | None = None
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_PROVIDER_EVIDENCE)

        def apply(self, aggregate: Order) -> None:
            aggregate.refunded_total = self.refunded_total
            fully = self.refunded_total == aggregate.paid
            aggregate.status = OrderStatus.REFUNDED if fully else OrderStatus.PARTIALLY_REFUNDED

    class Marked(Aggregate.Event):
        """An operator's mark, once per ``mark_id`` (the request's Idempotency-Key)."""

        mark_id: str
        kind: str
        reason: str
        evidence: str | None
        actor: str
        request_fingerprint: str

        def apply(self, aggregate: Order) -> None:
            aggregate.marks = {
                **aggregate.marks,
                self.mark_id: {"kind": self.kind, "fingerprint": self.request_fingerprint},
            }

    class Held(Aggregate.Event):
        """Put on hold by an operator (a fraud check, say): nothing is captured meanwhile,
        and fulfilment hears of it (orders.held)."""

        reason: str
        actor: str

        def apply(self, aggregate: Order) -> None:
            aggregate.held = True

    class HoldReleased(Aggregate.Event):
        reason: str
        actor: str

        def apply(self, aggregate: Order) -> None:
            aggregate.held = False

    class Disputed(Aggregate.Event):
        """The customer disputed the charge with their bank, or the dispute moved on."""

        class_version = 2  # v2: the actor and evidence (adr/0016)
        dispute_id: str
        dispute_status: str
        amount: int
        currency: str
        reason: str | None
        actor: str = actors.UNKNOWN
        provider_event_id: str | None = None
        evidence_digest: str | None = None

        upcast_v1_v2 = staticmethod(actors.WITH_PROVIDER_EVIDENCE)

        def apply(self, aggregate: Order) -> None:
            aggregate.disputes[self.dispute_id] = self.dispute_status

    def __init__(
        self,
        customer_id: str,
        lines: list[dict[str, Any]],
        currency: str,
        payment_id: UUID,
        provider: str,
        request_fingerprint: str | None,
        expires_at: datetime,
    ) -> None:
        self.customer_id = customer_id
        self.lines = tuple(OrderLine.from_dict(line) for line in lines)
        self.currency = currency
        self.payment_id = payment_id
        self.provider = Provider(provider)
        self.request_fingerprint = request_fingerprint
        self.expires_at = expires_at
        self.amount = sum(line.total for line in self.lines)
        self.status = OrderStatus.PENDING_PAYMENT
        self.refunded_total = 0
        self.gateway_payment_id: str | None = None
        self.confirmed_at: datetime | None = None
        self.cancelled_at: datetime | None = None
        self.cancel_reason: str | None = None
        self.disputes: dict[str, str] = {}

    @classmethod
    def place(
        cls,
        order_id: UUID,
        customer_id: str,
        lines: Sequence[OrderLine],
        currency: str,
        payment_id: UUID,
        provider: str,
        expires_at: datetime,
        request_fingerprint: str | None = None,
        actor: str = actors.UNKNOWN,
    ) -> Order:
        """Validate and record a new order. Prices come from the catalog (see pricing)."""
        if not lines:
            raise EmptyCart()
        if len(lines) > bounds.MAX_LINES:
            raise OutOfBounds("items", f"must have at most {bounds.MAX_LINES} lines")
        bounds.text(customer_id, "customerId", bounds.MAX_CUSTOMER_ID)
        bounds.total(sum(line.total for line in lines), "the order total")
        if sum(line.total for line in lines) < 1:
            # Every order goes through a provider, and providers refuse zero charges.
            raise InvalidAmount(0, "a positive order total")
        if expires_at.tzinfo is None:
            # Naive datetimes compare wrongly across hosts; the reaper needs absolute time.
            raise ValueError("expires_at must be timezone-aware")
        bounds.actor(actor)
        return cls._create(
            cls.Created,
            id=order_id,
            customer_id=customer_id,
            lines=[line.to_dict() for line in lines],
            currency=Currency.of(currency).code,
            payment_id=payment_id,
            provider=Provider.of(provider).value,
            request_fingerprint=request_fingerprint,
            expires_at=expires_at,
            actor=actor,
        )

    @property
    def total(self) -> Money:
        return Money.of(self.amount, self.currency)

    @property
    def quantities(self) -> dict[str, int]:
        """Units per sku, the shape stock reservation wants."""
        wanted: dict[str, int] = {}
        for line in self.lines:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        return wanted

    @property
    def updated_at(self) -> datetime:
        return self.modified_on

    # Orders loaded from snapshots taken before these existed: the class defaults.
    paid_amount: int | None = None
    held = False
    marks = _NO_MARKS  # replaced by each Marked, never changed in place

    @property
    def paid(self) -> int:
        """What the customer paid for it: the captured amount, at most the order's."""
        return self.amount if self.paid_amount is None else self.paid_amount

    def is_expired(self, now: datetime) -> bool:
        return self.status is OrderStatus.PENDING_PAYMENT and now >= self.expires_at

    def _require(self, allowed: frozenset[OrderStatus], action: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(f"order {self.id}", action, self.status.value)

    def confirm_payment(
        self,
        payment_id: UUID,
        gateway_payment_id: str,
        provider: str,
        origin: Origin = UNKNOWN_ORIGIN,
        amount: int | None = None,
    ) -> None:
        """``amount``: what was captured, when a manual capture took less than the order."""
        if payment_id != self.payment_id:
            raise PaymentMismatch(f"payment {payment_id} is not {self.payment_id}")
        if provider != self.provider:
            raise PaymentMismatch(f"provider {provider!r} is not {self.provider.value!r}")
        self._require(frozenset({OrderStatus.PENDING_PAYMENT}), "confirm payment")
        if amount is not None and (type(amount) is not int or not 1 <= amount <= self.amount):
            raise InvalidAmount(amount, f"a positive int of minor units, at most {self.amount}")
        self.trigger_event(
            self.Confirmed,
            payment_id=payment_id,
            gateway_payment_id=gateway_payment_id,
            provider=self.provider.value,
            actor=origin.actor,
            provider_event_id=origin.provider_event_id,
            evidence_digest=origin.evidence_digest,
            amount=self.amount if amount is None else amount,
        )

    def hold_for_capture(
        self, gateway_payment_id: str, hold_until: datetime, origin: Origin = UNKNOWN_ORIGIN
    ) -> None:
        """Its payment is authorized (manual capture): wait for an operator until
        ``hold_until``; the reaper then voids the authorization by cancelling the order."""
        self._require(frozenset({OrderStatus.PENDING_PAYMENT}), "hold for capture")
        if hold_until.tzinfo is None:
            raise ValueError("hold_until must be timezone-aware")
        self.trigger_event(
            self.PaymentAuthorized,
            gateway_payment_id=gateway_payment_id,
            hold_until=hold_until,
            actor=origin.actor,
            provider_event_id=origin.provider_event_id,
            evidence_digest=origin.evidence_digest,
        )

    def mark(
        self,
        mark_id: str,
        kind: MarkKind,
        reason: str,
        actor: str,
        fingerprint: str,
        evidence: str | None = None,
    ) -> bool:
        """Record an operator's mark; False for a repeat of the same request, CaptureConflict
        for the same mark id with another request. Hold, release and paid-out-of-band also
        need their own command (``hold``, ``release``, ``confirm_payment``)."""
        bounds.text(reason, "reason", bounds.MAX_REASON)
        bounds.actor(actor)
        if evidence is not None:
            bounds.text(evidence, "evidence", bounds.MAX_REASON)
        earlier = self.marks.get(mark_id)
        if earlier is not None:
            if earlier["fingerprint"] != fingerprint:
                raise MarkConflict(mark_id)
            return False
        self.trigger_event(
            self.Marked,
            mark_id=mark_id,
            kind=MarkKind(kind).value,
            reason=reason,
            evidence=evidence,
            actor=actor,
            request_fingerprint=fingerprint,
        )
        return True

    def hold(self, reason: str, actor: str) -> None:
        self._require(HOLDABLE, "hold")
        if self.held:
            raise InvalidTransition(f"order {self.id}", "hold", "on hold already")
        self.trigger_event(self.Held, reason=reason, actor=actor)

    def release(self, reason: str, actor: str) -> None:
        if not self.held:
            raise InvalidTransition(f"order {self.id}", "release", "not on hold")
        self.trigger_event(self.HoldReleased, reason=reason, actor=actor)

    def cancel(self, reason: str, actor: str = actors.UNKNOWN) -> None:
        """Only unpaid orders can be cancelled; paid ones are refunded instead. The reason
        may come from a person (a void): refused unless a view can store it."""
        bounds.text(reason, "reason", bounds.MAX_REASON)
        bounds.actor(actor)
        self._require(frozenset({OrderStatus.PENDING_PAYMENT}), "cancel")
        self.trigger_event(self.Cancelled, reason=reason, actor=actor)

    def record_refund(self, amount: int, origin: Origin = UNKNOWN_ORIGIN) -> None:
        """Mirror a refund the payment completed; the order never refunds more than it cost."""
        if type(amount) is not int or amount < 1:
            raise InvalidAmount(amount, "a positive int of minor units")
        self._require(REFUNDABLE, "record a refund")
        if self.refunded_total + amount > self.paid:
            raise RefundExceedsCaptured(amount, self.paid - self.refunded_total)
        self.trigger_event(
            self.Refunded,
            amount=amount,
            refunded_total=self.refunded_total + amount,
            actor=origin.actor,
            provider_event_id=origin.provider_event_id,
            evidence_digest=origin.evidence_digest,
        )

    def record_dispute(
        self,
        dispute_id: str,
        status: str,
        amount: int,
        currency: str,
        reason: str | None,
        origin: Origin = UNKNOWN_ORIGIN,
    ) -> None:
        """Mirror a dispute of the order's payment, so that it is published with the order."""
        self.trigger_event(
            self.Disputed,
            dispute_id=dispute_id,
            dispute_status=status,
            amount=amount,
            currency=currency,
            reason=reason,
            actor=origin.actor,
            provider_event_id=origin.provider_event_id,
            evidence_digest=origin.evidence_digest,
        )
