"""What the checker reads (the addresses of the evidence) and what it reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    database_url: str
    bootstrap_servers: str
    confirmed_topic: str  # e.g. "orders.confirmed"
    stripe_api_base: str  # e.g. "http://127.0.0.1:P/stripe"
    stripe_secret_key: str
    razorpay_api_base: str
    razorpay_key_id: str
    razorpay_key_secret: str
    initial_stock: Mapping[str, int]  # sku -> on_hand the scenario loaded (external truth)
    clients: Any = None  # evidence_clients.ClientHistory: what the clients sent and were answered


@dataclass(frozen=True)
class Violation:
    invariant: str  # stable dotted kind, e.g. "kafka.lost"
    subject: str  # order/payment/sku id, or a table name
    detail: str


@dataclass
class Findings:
    """What one invariant family found: its violations and how much evidence it read."""

    violations: list[Violation] = field(default_factory=list)
    examined: dict[str, int] = field(default_factory=dict)

    def add(self, invariant: str, subject: object, detail: str) -> None:
        self.violations.append(Violation(invariant, str(subject), detail))

    def count(self, what: str, n: int) -> None:
        self.examined[what] = self.examined.get(what, 0) + n
