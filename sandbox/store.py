"""The sandbox's in-memory objects, guarded by one lock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .clock import SandboxClock

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class IdempotentResult:
    """What Stripe saved for an ``Idempotency-Key``: the request it answered and the answer."""

    method: str
    path: str
    fingerprint: str
    status: int
    body: bytes


@dataclass(frozen=True)
class TestCard:
    """A Stripe test card: how confirming with it ends."""

    brand: str
    last4: str
    funding: str = "credit"
    decline_code: str | None = None
    error_code: str | None = None
    message: str | None = None

    @property
    def declines(self) -> bool:
        return self.decline_code is not None


@dataclass
class StripeState:
    payment_intents: dict[str, JsonObject] = field(default_factory=dict)
    charges: dict[str, JsonObject] = field(default_factory=dict)
    refunds: dict[str, JsonObject] = field(default_factory=dict)
    payment_methods: dict[str, JsonObject] = field(default_factory=dict)
    payment_method_cards: dict[str, TestCard] = field(default_factory=dict)
    checkout_sessions: dict[str, JsonObject] = field(default_factory=dict)
    session_line_items: dict[str, list[JsonObject]] = field(default_factory=dict)
    session_intent_data: dict[str, JsonObject] = field(default_factory=dict)
    disputes: dict[str, JsonObject] = field(default_factory=dict)
    events: dict[str, JsonObject] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], IdempotentResult] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderCredentials:
    """The API key pair that created a Razorpay order; its secret signs the order's payments."""

    key_id: str
    key_secret: str


@dataclass(frozen=True)
class CaptureSettings:
    """How an order's payments are captured (its ``payment`` or ``payment_capture`` field)."""

    manual: bool = False
    manual_expiry_minutes: int = 5 * 24 * 60  # authorized, uncaptured: refunded after 5 days
    refund_speed: str = "normal"


@dataclass
class RazorpayState:
    orders: dict[str, JsonObject] = field(default_factory=dict)
    payments: dict[str, JsonObject] = field(default_factory=dict)
    refunds: dict[str, JsonObject] = field(default_factory=dict)
    disputes: dict[str, JsonObject] = field(default_factory=dict)
    order_credentials: dict[str, OrderCredentials] = field(default_factory=dict)
    order_capture: dict[str, CaptureSettings] = field(default_factory=dict)
    # an authorized payment awaiting a manual capture -> when Razorpay refunds it (unix seconds)
    capture_deadlines: dict[str, int] = field(default_factory=dict)
    events: list[JsonObject] = field(default_factory=list)
    # X-Refund-Idempotency key -> (the request it was first sent with, the refund it made)
    refund_keys: dict[str, tuple[str, str]] = field(default_factory=dict)


class SandboxStore:
    """All provider objects. Hold ``lock`` while reading or changing any of them."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.stripe = StripeState()
        self.razorpay = RazorpayState()
        self.clock = SandboxClock()

    def reset(self) -> None:
        with self.lock:
            self.stripe = StripeState()
            self.razorpay = RazorpayState()
            self.clock.reset()
