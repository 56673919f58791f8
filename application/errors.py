"""Errors the application layer adds to the domain's: lookups, requests for the wrong provider,
refused payment proofs, idempotency, contention."""

from __future__ import annotations

from uuid import UUID

from domain import DomainError, Provider


class ApplicationError(Exception):
    pass


class OrderNotFound(ApplicationError):
    def __init__(self, order_id: UUID | str) -> None:
        super().__init__(f"order {order_id} not found")
        self.order_id = str(order_id)


class WrongProvider(ApplicationError):
    """The order is paid with another provider than the one the request is for."""

    def __init__(self, order_id: UUID, provider: Provider, expected: Provider) -> None:
        super().__init__(f"order {order_id} is paid with {provider.value}, not {expected.value}")
        self.order_id = str(order_id)
        self.provider = provider
        self.expected = expected


class PaymentProofRefused(ApplicationError):
    """A payment proof that is not genuine, or not for this order and its money.

    ``field`` names the part of the proof at fault, as Razorpay's checkout.js names it.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


class IdempotencyConflict(ApplicationError):
    """The same Idempotency-Key was used before with a different request body."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request body")
        self.key = key


class ContentionExhausted(ApplicationError):
    """Optimistic concurrency kept conflicting after every allowed retry."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"too much contention: gave up after {attempts} attempts")
        self.attempts = attempts


__all__ = [
    "ApplicationError",
    "ContentionExhausted",
    "DomainError",
    "IdempotencyConflict",
    "OrderNotFound",
    "PaymentProofRefused",
    "WrongProvider",
]
