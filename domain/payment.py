"""The payment of one order: provider order, attempts, capture and the refund ledger.

Provider notifications arrive late, duplicated and out of order, so the command methods that
react to them (``succeed``, ``fail_attempt``, ``complete_refund``, ``fail_refund``) return
False and record nothing for a notice that changes nothing, instead of raising.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import (
    DuplicateCapture,
    InvalidAmount,
    InvalidTransition,
    RefundConflict,
    RefundExceedsCaptured,
    UnknownRefund,
)
from domain.identity import stable_id
from domain.money import Currency, Money
from domain.provider import Provider


class PaymentStatus(StrEnum):
    PROCESSING = "processing"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Attempt(TypedDict):
    gateway_payment_id: str | None
    outcome: str  # "succeeded" | "failed"
    reason: str | None


class RefundEntry(TypedDict):
    amount: int
    status: str  # a RefundStatus value
    gateway_refund_id: str | None
    failure_reason: str | None


# Before capture the customer may still (re)try; after it money has moved.
UNPAID = frozenset({PaymentStatus.PROCESSING, PaymentStatus.PENDING, PaymentStatus.FAILED})
CAPTURED = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)
REFUNDABLE = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})


class Payment(Aggregate):
    """Exactly one per order: its id is derived from the order id."""

    class Initiated(Aggregate.Created):
        class_version = 1
        order_id: UUID
        provider: str
        amount: int
        currency: str

    class ProviderOrderCreated(Aggregate.Event):
        class_version = 1
        gateway_order_id: str
        gateway_payment_id: str | None
        client_secret: str | None
        key_id: str | None

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.PENDING
            aggregate.gateway_order_id = self.gateway_order_id
            aggregate.gateway_payment_id = self.gateway_payment_id
            aggregate.client_secret = self.client_secret
            aggregate.key_id = self.key_id

    class Succeeded(Aggregate.Event):
        class_version = 1
        gateway_payment_id: str
        provider_event_id: str | None

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.SUCCEEDED
            aggregate.gateway_payment_id = self.gateway_payment_id
            aggregate.captured_amount = aggregate.amount
            aggregate.failure_reason = None
            aggregate.attempts.append(
                Attempt(
                    gateway_payment_id=self.gateway_payment_id, outcome="succeeded", reason=None
                )
            )

    class AttemptFailed(Aggregate.Event):
        class_version = 1
        reason: str
        gateway_payment_id: str | None

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.FAILED
            aggregate.failure_reason = self.reason
            aggregate.attempts.append(
                Attempt(
                    gateway_payment_id=self.gateway_payment_id, outcome="failed", reason=self.reason
                )
            )

    class CreationFailed(Aggregate.Event):
        class_version = 1
        reason: str

        def apply(self, aggregate: Payment) -> None:
            aggregate.status = PaymentStatus.FAILED
            aggregate.failure_reason = self.reason

    class RefundRequested(Aggregate.Event):
        class_version = 1
        refund_id: str
        amount: int

        def apply(self, aggregate: Payment) -> None:
            aggregate.refunds[self.refund_id] = RefundEntry(
                amount=self.amount,
                status=RefundStatus.PENDING.value,
                gateway_refund_id=None,
                failure_reason=None,
            )

    class RefundCompleted(Aggregate.Event):
        class_version = 1
        refund_id: str
        gateway_refund_id: str

        def apply(self, aggregate: Payment) -> None:
            entry = aggregate.refunds[self.refund_id]
            entry["status"] = RefundStatus.SUCCEEDED.value
            entry["gateway_refund_id"] = self.gateway_refund_id
            aggregate.refunded_amount += entry["amount"]
            fully = aggregate.refunded_amount == aggregate.captured_amount
            aggregate.status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED

    class RefundFailed(Aggregate.Event):
        class_version = 1
        refund_id: str
        reason: str

        def apply(self, aggregate: Payment) -> None:
            entry = aggregate.refunds[self.refund_id]
            entry["status"] = RefundStatus.FAILED.value
            entry["failure_reason"] = self.reason

    def __init__(self, order_id: UUID, provider: str, amount: int, currency: str) -> None:
        self.order_id = order_id
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
        self.refunded_amount = 0
        self.captured_amount = 0

    @staticmethod
    def create_id(order_id: UUID) -> UUID:
        return stable_id("payment", str(order_id))

    @classmethod
    def id_for(cls, order_id: UUID) -> UUID:
        return cls.create_id(order_id)

    @classmethod
    def initiate(cls, order_id: UUID, provider: str, amount: int, currency: str) -> Payment:
        if type(amount) is not int or amount < 1:
            raise InvalidAmount(amount, "a positive int of minor units")
        return cls._create(
            cls.Initiated,
            order_id=order_id,
            provider=Provider.of(provider).value,
            amount=amount,
            currency=Currency.of(currency).code,
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
            r["amount"] for r in self.refunds.values() if r["status"] == RefundStatus.PENDING
        )

    @property
    def refundable(self) -> int:
        """Captured money not yet refunded nor promised to a pending refund."""
        return self.captured_amount - self.refunded_amount - self.refund_pending_amount

    def _require(self, allowed: frozenset[PaymentStatus], action: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(f"payment {self.id}", action, self.status.value)

    def record_provider_order(
        self,
        gateway_order_id: str,
        gateway_payment_id: str | None = None,
        client_secret: str | None = None,
        key_id: str | None = None,
    ) -> None:
        self._require(frozenset({PaymentStatus.PROCESSING}), "record the provider order")
        self.trigger_event(
            self.ProviderOrderCreated,
            gateway_order_id=gateway_order_id,
            gateway_payment_id=gateway_payment_id,
            client_secret=client_secret,
            key_id=key_id,
        )

    def fail_creation(self, reason: str) -> None:
        """The provider refused to create the order for good (not a transient error)."""
        self._require(frozenset({PaymentStatus.PROCESSING}), "fail provider order creation")
        self.trigger_event(self.CreationFailed, reason=reason)

    def succeed(self, gateway_payment_id: str, provider_event_id: str | None = None) -> bool:
        """Record the capture; False for a duplicate notice of the same charge.

        Allowed after a failure because a customer may retry after a decline. A success for
        a *different* charge on a paid payment raises :class:`DuplicateCapture`: the customer
        was charged twice and the application must refund the second charge.
        """
        if self.status in CAPTURED:
            if gateway_payment_id == self.gateway_payment_id:
                return False
            raise DuplicateCapture(self.gateway_payment_id, gateway_payment_id)
        self.trigger_event(
            self.Succeeded,
            gateway_payment_id=gateway_payment_id,
            provider_event_id=provider_event_id,
        )
        return True

    def fail_attempt(self, reason: str, gateway_payment_id: str | None = None) -> bool:
        """Record a declined attempt; False (nothing recorded) once money was captured.

        Failure notices can arrive after the success of a later retry, or after the
        success of the same charge (provider retries, reordering). A late failure never
        undoes a success: the money was captured and the order confirmed.
        """
        if self.status in CAPTURED:
            return False
        self.trigger_event(self.AttemptFailed, reason=reason, gateway_payment_id=gateway_payment_id)
        return True

    def request_refund(self, refund_id: str, amount: int) -> bool:
        """Promise a refund; False if this refund id was already requested for this amount."""
        if type(amount) is not int or amount < 1:
            raise InvalidAmount(amount, "a positive int of minor units")
        existing = self.refunds.get(refund_id)
        if existing is not None:
            if existing["amount"] != amount:
                raise RefundConflict(refund_id, existing["amount"], amount)
            return False
        self._require(REFUNDABLE, "refund")
        if amount > self.refundable:
            raise RefundExceedsCaptured(amount, self.refundable)
        self.trigger_event(self.RefundRequested, refund_id=refund_id, amount=amount)
        return True

    def _refund(self, refund_id: str, action: str) -> RefundEntry:
        entry = self.refunds.get(refund_id)
        if entry is None:
            raise UnknownRefund(refund_id, action)
        return entry

    def complete_refund(self, refund_id: str, gateway_refund_id: str) -> bool:
        entry = self._refund(refund_id, "complete refund")
        if entry["status"] == RefundStatus.SUCCEEDED:
            return False
        if entry["status"] == RefundStatus.FAILED:
            raise InvalidTransition(f"refund {refund_id}", "complete refund", "failed")
        self.trigger_event(
            self.RefundCompleted, refund_id=refund_id, gateway_refund_id=gateway_refund_id
        )
        return True

    def fail_refund(self, refund_id: str, reason: str) -> bool:
        """Give the promised amount back to ``refundable``; False if already failed."""
        entry = self._refund(refund_id, "fail refund")
        if entry["status"] == RefundStatus.FAILED:
            return False
        if entry["status"] == RefundStatus.SUCCEEDED:
            raise InvalidTransition(f"refund {refund_id}", "fail refund", "succeeded")
        self.trigger_event(self.RefundFailed, refund_id=refund_id, reason=reason)
        return True
