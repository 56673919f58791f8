"""Errors the application layer adds to the domain's: lookups, idempotency, contention."""

from __future__ import annotations

from uuid import UUID

from domain import DomainError


class ApplicationError(Exception):
    pass


class OrderNotFound(ApplicationError):
    def __init__(self, order_id: UUID | str) -> None:
        super().__init__(f"order {order_id} not found")
        self.order_id = str(order_id)


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
]
