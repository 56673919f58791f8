"""Pure domain model of checkout-engine: aggregates, events, value objects, domain errors.

No I/O happens here; the application layer loads, calls and saves these aggregates.
"""

from __future__ import annotations

from domain.catalog import Product
from domain.errors import (
    AuthorizationMismatch,
    CaptureConflict,
    CaptureExceedsAuthorized,
    DomainError,
    DuplicateCapture,
    DuplicateReservation,
    EmptyCart,
    InsufficientStock,
    InvalidAmount,
    InvalidProduct,
    InvalidQuantity,
    InvalidTransition,
    MarkConflict,
    MixedCurrencies,
    OnHandBelowReserved,
    OutOfBounds,
    PaymentMismatch,
    ProductInactive,
    RefundConflict,
    RefundExceedsCaptured,
    UnknownCurrency,
    UnknownProduct,
    UnknownProvider,
    UnknownRefund,
    UnknownReservation,
)
from domain.foreign_capture import ForeignCapture
from domain.identity import CHECKOUT_NAMESPACE, stable_id
from domain.money import ISO_4217_EXPONENTS, Currency, Money
from domain.order import MarkKind, Order, OrderLine, OrderStatus
from domain.payment import Authorization, Capture, Payment
from domain.payment_records import (
    Attempt,
    CaptureMethod,
    ExtraChargeCause,
    PaymentStatus,
    RefundEntry,
    RefundKind,
    RefundStatus,
)
from domain.pricing import MAX_LINE_QUANTITY, PricedCart, price_cart
from domain.provider import Provider
from domain.stock import Stock, reserve_all

__all__ = [
    "CHECKOUT_NAMESPACE",
    "ISO_4217_EXPONENTS",
    "MAX_LINE_QUANTITY",
    "Attempt",
    "Authorization",
    "AuthorizationMismatch",
    "Capture",
    "CaptureConflict",
    "CaptureExceedsAuthorized",
    "CaptureMethod",
    "Currency",
    "DomainError",
    "DuplicateCapture",
    "DuplicateReservation",
    "EmptyCart",
    "ExtraChargeCause",
    "ForeignCapture",
    "InsufficientStock",
    "InvalidAmount",
    "InvalidProduct",
    "InvalidQuantity",
    "InvalidTransition",
    "MarkConflict",
    "MarkKind",
    "MixedCurrencies",
    "Money",
    "OnHandBelowReserved",
    "Order",
    "OrderLine",
    "OrderStatus",
    "OutOfBounds",
    "Payment",
    "PaymentMismatch",
    "PaymentStatus",
    "PricedCart",
    "Product",
    "ProductInactive",
    "Provider",
    "RefundConflict",
    "RefundEntry",
    "RefundExceedsCaptured",
    "RefundKind",
    "RefundStatus",
    "Stock",
    "UnknownCurrency",
    "UnknownProduct",
    "UnknownProvider",
    "UnknownRefund",
    "UnknownReservation",
    "price_cart",
    "reserve_all",
    "stable_id",
]
