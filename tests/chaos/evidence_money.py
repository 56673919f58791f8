"""Money as the providers' ledgers show it (the real SDKs pointed at the sandbox), against
what the log says each payment captured and gave back.

A provider "charge" here is what the engine calls a gateway payment id: a Stripe
PaymentIntent (its charges summed) or a Razorpay payment. It is ours when the log names it
(a payment's provider order or capture) or when it carries the engine's metadata: Stripe's
``metadata.paymentId``, a Razorpay order's ``receipt`` or a payment's ``notes.paymentId``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import razorpay
import stripe

from domain import Payment
from domain.payment_records import RefundStatus
from infrastructure.payments.minor_units import RAZORPAY_UNITS, STRIPE_UNITS, MinorUnits
from tests.chaos.evidence_log import LogFacts
from tests.chaos.evidence_model import Evidence, Findings

PAGE = 100


@dataclass
class ProviderCharge:
    provider: str
    key: str  # the engine's gateway payment id for it
    currency: str
    captured: int = 0  # ISO minor units
    refunded: int = 0
    claimed: str | None = None  # the engine payment id its metadata names
    order_key: str | None = None  # a Razorpay payment's order

    @property
    def net(self) -> int:
        return self.captured - self.refunded


def _minor(units: MinorUnits, amount: Any, currency: str) -> int:
    try:
        return units.from_provider(int(amount or 0), currency)
    except ValueError:  # an unknown currency or a fraction: compare the provider's number
        return int(amount or 0)


def stripe_charges(evidence: Evidence, findings: Findings) -> list[ProviderCharge]:
    client = stripe.StripeClient(
        evidence.stripe_secret_key,
        base_addresses={"api": evidence.stripe_api_base},
        max_network_retries=2,
    )
    intents = [
        i.to_dict() for i in client.v1.payment_intents.list({"limit": PAGE}).auto_paging_iter()
    ]
    charges = [c.to_dict() for c in client.v1.charges.list({"limit": PAGE}).auto_paging_iter()]
    findings.count("stripe intents", len(intents))
    findings.count("stripe charges", len(charges))
    by_intent: dict[str, ProviderCharge] = {}
    for intent in intents:
        currency = str(intent["currency"]).upper()
        claimed = (intent.get("metadata") or {}).get("paymentId")
        by_intent[intent["id"]] = ProviderCharge("stripe", intent["id"], currency, claimed=claimed)
    for charge in charges:
        key = charge.get("payment_intent") or charge["id"]
        currency = str(charge["currency"]).upper()
        found = by_intent.setdefault(key, ProviderCharge("stripe", key, currency))
        found.claimed = found.claimed or (charge.get("metadata") or {}).get("paymentId")
        if charge.get("status") == "succeeded" and charge.get("captured"):
            found.captured += _minor(STRIPE_UNITS, charge.get("amount_captured"), currency)
            found.refunded += _minor(STRIPE_UNITS, charge.get("amount_refunded"), currency)
    return list(by_intent.values())


def _razorpay_all(resource: Any) -> Iterator[dict[str, Any]]:
    """The SDK has no auto-pagination: ``skip`` forward until a short page."""
    skip = 0
    while True:
        items: list[dict[str, Any]] = resource.all({"count": PAGE, "skip": skip})["items"]
        yield from items
        if len(items) < PAGE:
            return
        skip += len(items)


def razorpay_charges(evidence: Evidence, findings: Findings) -> list[ProviderCharge]:
    client = razorpay.Client(
        auth=(evidence.razorpay_key_id, evidence.razorpay_key_secret),
        base_url=evidence.razorpay_api_base,
    )
    orders = {order["id"]: order for order in _razorpay_all(client.order)}
    payments = list(_razorpay_all(client.payment))
    findings.count("razorpay orders", len(orders))
    findings.count("razorpay payments", len(payments))
    found = []
    for payment in payments:
        currency = str(payment["currency"]).upper()
        order = orders.get(payment.get("order_id") or "", {})
        notes = _notes(payment)
        order_notes = _notes(order)
        claimed = order.get("receipt") or order_notes.get("paymentId") or notes.get("paymentId")
        charge = ProviderCharge(
            "razorpay", payment["id"], currency, claimed=claimed, order_key=payment.get("order_id")
        )
        if payment.get("captured"):
            charge.captured = _minor(RAZORPAY_UNITS, payment.get("amount"), currency)
            charge.refunded = _minor(RAZORPAY_UNITS, payment.get("amount_refunded"), currency)
        found.append(charge)
    return found


def _notes(entity: dict[str, Any]) -> dict[str, Any]:
    """Razorpay's ``notes``: an object, or ``[]`` when there are none."""
    notes = entity.get("notes")
    return notes if isinstance(notes, dict) else {}


def check_money(facts: LogFacts, charges: list[ProviderCharge], findings: Findings) -> None:
    by_payment = _claimed(facts, charges)
    for payment_id, payment in facts.payments.items():
        _check_payment(facts, payment, by_payment.pop(payment_id, {}), findings)
    for payment_id, orphans in by_payment.items():
        for charge in orphans.values():
            parked = (charge.provider, charge.key) in facts.foreign
            if charge.net > 0 and not parked:
                findings.add(
                    "money.orphan_capture",
                    payment_id,
                    f"{charge.provider} {charge.key} holds {charge.net} {charge.currency} "
                    "for a payment the log does not have",
                )
    _check_confirmed(facts, charges, findings)


def _claimed(
    facts: LogFacts, charges: list[ProviderCharge]
) -> dict[Any, dict[str, ProviderCharge]]:
    """Provider charges by the engine payment they belong to (the log's ids win)."""
    known: dict[str, UUID] = {}
    for payment_id, payment in facts.payments.items():
        for key in (payment.gateway_order_id, payment.gateway_payment_id, *payment.extra_charges):
            if key:
                known[key] = payment_id
    by_payment: dict[Any, dict[str, ProviderCharge]] = defaultdict(dict)
    for charge in charges:
        owner: Any = known.get(charge.key) or known.get(charge.order_key or "")
        if owner is None and charge.claimed:
            owner = _as_uuid(charge.claimed) or charge.claimed
        if owner is not None:
            by_payment[owner][charge.key] = charge
    return by_payment


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _check_payment(
    facts: LogFacts, payment: Payment, at_provider: dict[str, ProviderCharge], findings: Findings
) -> None:
    own = payment.gateway_payment_id if payment.captured_amount else None
    refunded: dict[str, int] = defaultdict(int)
    for entry in payment.refunds.values():
        if entry["status"] == RefundStatus.SUCCEEDED:
            refunded[entry["charge"] or own or ""] += entry["amount"]
    engine: dict[str, tuple[int, str]] = {
        k: (e["amount"], e["currency"]) for k, e in payment.extra_charges.items()
    }
    if own:
        engine[own] = (payment.amount, payment.currency)
    keys = set(engine) | {k for k, c in at_provider.items() if c.captured}
    for key in sorted(keys):
        charge = at_provider.get(key) or ProviderCharge(
            payment.provider.value, key, payment.currency
        )
        if key not in engine:
            if charge.net > 0 and (charge.provider, key) not in facts.foreign:
                findings.add(
                    "money.extra_capture",
                    payment.id,
                    f"{key}: {charge.captured} captured, {charge.refunded} refunded at "
                    f"{charge.provider}; the engine never counted it",
                )
            continue
        amount, currency = engine[key]
        if (charge.captured, charge.currency) != (amount, currency):
            findings.add(
                "money.mismatch",
                payment.id,
                f"{key}: {charge.provider} captured {charge.captured} {charge.currency}, "
                f"the log {amount} {currency}",
            )
        if charge.refunded != refunded[key]:
            findings.add(
                "money.mismatch",
                payment.id,
                f"{key}: {charge.provider} refunded {charge.refunded}, the log {refunded[key]}",
            )
        extra = payment.extra_charges.get(key)
        if extra is not None and charge.net > 0:
            refund = payment.refunds.get(extra["refund_id"])
            failed = refund is not None and refund["status"] == RefundStatus.FAILED
            if failed:
                findings.count("extra charges parked for review", 1)
            else:
                findings.add(
                    "money.extra_capture",
                    payment.id,
                    f"{key}: extra charge ({extra['cause']}) not refunded: {charge.net} kept",
                )


def _check_confirmed(facts: LogFacts, charges: list[ProviderCharge], findings: Findings) -> None:
    """A confirmed order's payment captured exactly the order's amount and currency."""
    by_key = {(c.provider, c.key): c for c in charges}
    for order_id, logged in facts.confirmations.items():
        order = facts.orders.get(order_id)
        payment = facts.payment_of(order_id)
        if order is None or payment is None:
            findings.add("money.confirmed_amount", order_id, "confirmed without a payment history")
            continue
        gateway = logged.event.gateway_payment_id
        charge = by_key.get((payment.provider.value, gateway))
        problems = []
        if (payment.amount, payment.currency) != (order.amount, order.currency):
            problems.append(f"payment is {payment.amount} {payment.currency}")
        if payment.captured_amount != order.amount or payment.gateway_payment_id != gateway:
            problems.append(
                f"log captured {payment.captured_amount} by {payment.gateway_payment_id}"
            )
        if charge is None or (charge.captured, charge.currency) != (order.amount, order.currency):
            seen = "nothing" if charge is None else f"{charge.captured} {charge.currency}"
            problems.append(f"{payment.provider.value} captured {seen} by {gateway}")
        if (
            charge is not None
            and charge.provider == "razorpay"
            and charge.order_key != payment.gateway_order_id
        ):
            findings.add(
                "money.confirmed_by_foreign",
                order_id,
                f"confirmed by {gateway}, a payment of Razorpay order {charge.order_key}, "
                f"not of the payment's own order {payment.gateway_order_id}",
            )
        if problems:
            findings.add(
                "money.confirmed_amount",
                order_id,
                f"order is {order.amount} {order.currency}; " + "; ".join(problems),
            )
