"""Typed domain errors.

Every rule the domain enforces fails with one of these, raised before any event is recorded,
so callers can map them to responses (409, 422, ...) without parsing messages. ``code`` is a
stable machine-readable slug; the message is for humans.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar


class DomainError(Exception):
    """Base class: a business rule refused a command."""

    code: ClassVar[str] = "domain-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTransition(DomainError):
    """A command is not allowed in the aggregate's current state."""

    code = "invalid-transition"

    def __init__(self, entity: str, action: str, state: str) -> None:
        super().__init__(f"cannot {action}: {entity} is {state}")
        self.entity = entity
        self.action = action
        self.state = state


class DuplicateReservation(InvalidTransition):
    code = "duplicate-reservation"

    def __init__(self, sku: str, order_id: str) -> None:
        super().__init__(f"stock {sku}", "reserve", f"already reserved for order {order_id}")
        self.sku = sku
        self.order_id = order_id


class UnknownReservation(InvalidTransition):
    """A release or sale of units the stock does not hold (more than it reserved in all, or
    another quantity than an order remembered from v2 events reserved)."""

    code = "unknown-reservation"

    def __init__(self, sku: str, order_id: str, action: str, held: str | None = None) -> None:
        super().__init__(f"stock {sku}", action, held or f"not reserved for order {order_id}")
        self.sku = sku
        self.order_id = order_id


class UnknownRefund(InvalidTransition):
    code = "unknown-refund"

    def __init__(self, refund_id: str, action: str) -> None:
        super().__init__(f"refund {refund_id}", action, "unknown")
        self.refund_id = refund_id


class DuplicateCapture(InvalidTransition):
    """A second, different charge succeeded for an already paid order: it must be refunded."""

    code = "duplicate-capture"

    def __init__(self, existing: str | None, incoming: str) -> None:
        super().__init__("payment", f"record success of {incoming}", f"already paid by {existing}")
        self.existing = existing
        self.incoming = incoming


def _join(items: Iterable[str]) -> str:
    return ", ".join(items)


class InsufficientStock(DomainError):
    code = "insufficient-stock"

    def __init__(self, skus: Iterable[str]) -> None:
        self.skus = sorted(set(skus))
        super().__init__(f"not enough stock for: {_join(self.skus)}")


class OnHandBelowReserved(DomainError):
    code = "on-hand-below-reserved"

    def __init__(self, sku: str, on_hand: int, reserved: int) -> None:
        super().__init__(
            f"cannot set stock of {sku} to {on_hand}: {reserved} units are reserved by open orders"
        )
        self.sku = sku
        self.on_hand = on_hand
        self.reserved = reserved


class UnknownCurrency(DomainError):
    code = "unknown-currency"

    def __init__(self, code: object) -> None:
        super().__init__(f"unknown ISO 4217 currency: {code!r}")
        self.currency = code


class MixedCurrencies(DomainError):
    code = "mixed-currencies"

    def __init__(self, currencies: Iterable[str]) -> None:
        self.currencies = sorted(set(currencies))
        super().__init__(f"a cart must be in one currency, got: {_join(self.currencies)}")


class EmptyCart(DomainError):
    code = "empty-cart"

    def __init__(self) -> None:
        super().__init__("an order needs at least one line")


class InvalidQuantity(DomainError):
    code = "invalid-quantity"

    def __init__(self, quantity: object, sku: str | None = None, limit: int | None = None) -> None:
        where = f" for {sku}" if sku else ""
        bound = f"between 1 and {limit}" if limit else "a positive integer"
        super().__init__(f"quantity{where} must be {bound}, got {quantity!r}")
        self.quantity = quantity
        self.sku = sku


class InvalidAmount(DomainError):
    code = "invalid-amount"

    def __init__(self, amount: object, requirement: str) -> None:
        super().__init__(f"amount must be {requirement}, got {amount!r}")
        self.amount = amount


class RefundExceedsCaptured(DomainError):
    code = "refund-exceeds-captured"

    def __init__(self, requested: int, refundable: int) -> None:
        super().__init__(
            f"refund of {requested} exceeds the {refundable} still refundable on this payment"
        )
        self.requested = requested
        self.refundable = refundable


class RefundConflict(DomainError):
    """The same refund id was reused for a different amount."""

    code = "refund-conflict"

    def __init__(self, refund_id: str, existing: int, requested: int) -> None:
        super().__init__(f"refund {refund_id} already exists for {existing}, not {requested}")
        self.refund_id = refund_id


class CaptureExceedsAuthorized(DomainError):
    """A manual capture of more than the authorization holds, or of part of it where the
    provider captures only the whole (Razorpay)."""

    code = "capture-exceeds-authorized"

    def __init__(self, requested: int, authorized: int, *, whole_only: bool = False) -> None:
        if whole_only:
            message = (
                f"this provider captures only the whole authorization of {authorized}, "
                f"not {requested}"
            )
        else:
            message = f"capture of {requested} exceeds the {authorized} authorized"
        super().__init__(message)
        self.requested = requested
        self.authorized = authorized


class MarkConflict(DomainError):
    """An operator's mark id (their Idempotency-Key) reused for another request."""

    code = "idempotency-key-reused"

    def __init__(self, mark_id: str) -> None:
        super().__init__(f"mark {mark_id} was made with another kind, reason or evidence")


class CaptureConflict(DomainError):
    """A capture while another is under way, or a capture id reused for another request."""

    code = "capture-conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class AuthorizationMismatch(DomainError):
    """An authorization of another amount or currency than the payment's: a person decides."""

    code = "authorization-mismatch"

    def __init__(self, gateway_payment_id: str, amount: int, currency: str, expected: str) -> None:
        super().__init__(
            f"authorization {gateway_payment_id} holds {amount} {currency}, "
            f"the payment is {expected}"
        )
        self.gateway_payment_id = gateway_payment_id


class ProductInactive(DomainError):
    code = "product-inactive"

    def __init__(self, skus: Iterable[str]) -> None:
        self.skus = sorted(set(skus))
        super().__init__(f"products not for sale: {_join(self.skus)}")


class UnknownProduct(DomainError):
    code = "unknown-product"

    def __init__(self, skus: Iterable[str]) -> None:
        self.skus = sorted(set(skus))
        super().__init__(f"unknown products: {_join(self.skus)}")


class UnknownProvider(DomainError):
    code = "unknown-provider"

    def __init__(self, provider: object) -> None:
        super().__init__(f"unknown payment provider: {provider!r}")
        self.provider = provider


class PaymentMismatch(DomainError):
    """A payment notice names a different payment or provider than the order's."""

    code = "payment-mismatch"

    def __init__(self, detail: str) -> None:
        super().__init__(f"payment does not belong to this order: {detail}")


class OutOfBounds(DomainError):
    """A value outside what the engine accepts (too large, too long, control characters)."""

    code = "out-of-bounds"

    def __init__(self, field: str, requirement: str) -> None:
        super().__init__(f"{field} {requirement}")
        self.field = field
        self.requirement = requirement


class InvalidProduct(DomainError):
    code = "invalid-product"

    def __init__(self, detail: str) -> None:
        super().__init__(f"invalid product: {detail}")
