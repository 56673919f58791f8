"""The plain records a Payment keeps: attempts, charges, refunds, hosted sessions, disputes.

They are TypedDicts so that the aggregate's state (and its snapshots) stay JSON values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict


class PaymentStatus(StrEnum):
    PROCESSING = "processing"  # the provider order/intent is not created yet
    PENDING = "pending"  # the customer can pay
    AUTHORIZED = "authorized"  # manual capture: the money is held, not captured yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the last attempt failed; the customer may try again
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELED = "canceled"  # the order was cancelled or expired before it was paid


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RefundKind(StrEnum):
    """Why money goes back; only ``requested`` and ``external`` refunds touch the order."""

    REQUESTED = "requested"  # an operator asked
    LATE = "late"  # the capture arrived after the order had ended
    DUPLICATE = "duplicate"  # a second charge for an order already paid
    MISMATCH = "mismatch"  # a charge of the wrong amount or currency
    EXTERNAL = "external"  # made at the provider (its dashboard), not by the engine


class ExtraChargeCause(StrEnum):
    DUPLICATE = "duplicate"
    MISMATCH = "mismatch"


class Attempt(TypedDict):
    gateway_payment_id: str | None
    outcome: str  # "succeeded" | "failed"
    reason: str | None


class CaptureMethod(StrEnum):
    """When the money is taken: at once, or when an operator captures the authorization."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


class CaptureEntry(TypedDict):
    """An operator's capture of a manual payment's authorization, and how it went."""

    amount: int
    status: str  # "pending" | "succeeded" | "failed"
    reason: str
    actor: str
    fingerprint: str | None
    failure_reason: str | None


class RefundEntry(TypedDict):
    amount: int
    status: str  # a RefundStatus value
    gateway_refund_id: str | None
    failure_reason: str | None
    # Added with RefundRequested v2; entries from v1 events read None / "unknown".
    reason: str | None
    actor: str
    kind: str  # a RefundKind value
    charge: str | None  # the gateway payment refunded; None: the payment's own capture
    currency: str | None  # of ``charge``; None: the payment's currency
    fingerprint: str | None  # of the request that asked for it, for idempotent replays


class ExtraCharge(TypedDict):
    """Money captured on this payment that does not pay for the order: it goes back."""

    amount: int
    currency: str
    cause: str  # an ExtraChargeCause value
    detail: str
    refund_id: str


class SessionEntry(TypedDict):
    """A hosted payment page (Stripe Checkout Session) opened for this payment."""

    url: str
    expires_at: int  # unix seconds, as the provider set it
    status: str  # "open" | "expired" | "complete"


class DisputeEntry(TypedDict):
    amount: int
    currency: str
    reason: str | None
    status: str  # "open" | "won" | "lost" | a provider's final word
    gateway_payment_id: str | None


SESSION_OPEN = "open"
DISPUTE_OPEN = "open"
