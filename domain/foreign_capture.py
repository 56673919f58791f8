"""Money a provider captured that belongs to no payment the engine made.

A signed webhook proves that the provider sent it, not that the engine asked for the charge:
a Razorpay payment with no order, or on an order the engine did not create, carries only
what the customer's browser chose (its notes). Such a capture confirms nothing. It is kept
as its own aggregate, one per provider charge, so that a person can look at it (adr/0010).
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import bounds
from domain.errors import InvalidTransition
from domain.identity import stable_id
from domain.money import MAX_MINOR_UNITS

MAX_TEXT = 500


def _clean(text: str, limit: int = MAX_TEXT) -> str:
    return bounds.storable(text, limit)


class ForeignCapture(Aggregate):
    class Recorded(Aggregate.Created):
        class_version = 1
        provider: str
        gateway_payment_id: str
        gateway_order_id: str | None
        amount: int  # in the provider's units of ``currency``, as it reported them
        currency: str
        claimed_payment_id: str | None  # what its customer-set notes claimed, never trusted
        detail: str
        provider_event_id: str | None

    class Resolved(Aggregate.Event):
        """A person looked at it and decided (refunded it in the dashboard, say)."""

        actor: str
        reason: str
        provider: str
        gateway_payment_id: str

        def apply(self, aggregate: ForeignCapture) -> None:
            aggregate.resolved = True

    resolved = False  # the class default, for aggregates recorded before resolutions

    def resolve(self, actor: str, reason: str) -> None:
        """A person's decision, once; InvalidTransition if it was resolved already."""
        bounds.text(reason, "reason", bounds.MAX_REASON)
        bounds.actor(actor)
        if self.resolved:
            raise InvalidTransition(
                f"foreign capture {self.gateway_payment_id}", "resolve", "resolved"
            )
        self.trigger_event(
            self.Resolved,
            actor=actor,
            reason=_clean(reason),
            provider=self.provider,
            gateway_payment_id=self.gateway_payment_id,
        )

    def __init__(
        self,
        provider: str,
        gateway_payment_id: str,
        gateway_order_id: str | None,
        amount: int,
        currency: str,
        claimed_payment_id: str | None,
        detail: str,
        provider_event_id: str | None,
    ) -> None:
        self.provider = provider
        self.gateway_payment_id = gateway_payment_id
        self.gateway_order_id = gateway_order_id
        self.amount = amount
        self.currency = currency
        self.claimed_payment_id = claimed_payment_id
        self.detail = detail
        self.provider_event_id = provider_event_id

    @staticmethod
    def id_for(provider: str, gateway_payment_id: str) -> UUID:
        return stable_id("foreign-capture", f"{provider}:{gateway_payment_id}")

    @classmethod
    def record(
        cls,
        provider: str,
        gateway_payment_id: str,
        gateway_order_id: str | None,
        amount: int,
        currency: str,
        claimed_payment_id: str | None,
        detail: str,
        provider_event_id: str | None = None,
    ) -> ForeignCapture:
        return cls._create(
            cls.Recorded,
            id=cls.id_for(provider, gateway_payment_id),
            provider=provider,
            gateway_payment_id=_clean(gateway_payment_id),
            gateway_order_id=None if gateway_order_id is None else _clean(gateway_order_id),
            amount=min(max(amount, 0), MAX_MINOR_UNITS),
            currency=_clean(currency.upper(), 3),
            claimed_payment_id=None
            if claimed_payment_id is None
            else _clean(claimed_payment_id, 100),
            detail=_clean(detail),
            provider_event_id=provider_event_id,
        )
