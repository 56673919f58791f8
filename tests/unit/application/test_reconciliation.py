"""Reconciliation's decisions on an in-memory engine and a provider ledger the tests write:
what it repairs, what it leaves for a person, and that nothing is decided on a partial list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from application.application import CheckoutApplication
from application.captures import ForeignCaptures
from application.marks import OrderMarks
from application.payments import PaymentOutcomes
from application.ports import LedgerPayment, LedgerRefund, TransientProviderError
from application.reconciliation import PartialListing, Reconciliation, Resolutions
from application.refunds import Refunds
from domain import (
    ForeignCapture,
    InvalidTransition,
    MarkKind,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
)
from tests.unit.application.purchases import Purchases

SINCE = datetime(2026, 11, 20, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=2)


@dataclass
class Ledger:
    provider: str = "stripe"
    listed: list[LedgerPayment] = field(default_factory=list)
    outage: bool = False

    def payments(self, since: datetime, until: datetime) -> Sequence[LedgerPayment]:
        if self.outage:
            raise TransientProviderError("503 from the provider")
        return list(self.listed)

    def payment(self, gateway_payment_id: str) -> LedgerPayment | None:
        return next((p for p in self.listed if p.gateway_payment_id == gateway_payment_id), None)


@dataclass
class Engine:
    captured: list[UUID] = field(default_factory=list)

    def __call__(self, provider: str, since: datetime, until: datetime) -> Sequence[UUID]:
        return self.captured


def _reconciliation(app: CheckoutApplication, engine: Engine) -> Reconciliation:
    return Reconciliation(
        app,
        PaymentOutcomes(app),
        Refunds(app),
        ForeignCaptures(app),
        find_payment=lambda entry: None,
        engine_captured=engine,
    )


def _at_provider(payment: Payment, **changes: object) -> LedgerPayment:
    assert payment.gateway_order_id is not None
    listed = LedgerPayment(
        gateway_payment_id=payment.gateway_order_id,
        gateway_order_id=payment.gateway_order_id,
        engine_payment_id=payment.id,
        amount=payment.amount,
        currency=payment.currency,
        status="succeeded",
        captured=True,
        authorized=False,
    )
    return replace(listed, **changes)  # type: ignore[arg-type]


def test_a_missed_capture_is_applied_once(app: CheckoutApplication, purchases: Purchases) -> None:
    placed = purchases.opened()
    payment = purchases.payment(placed)
    ledger = Ledger(listed=[_at_provider(payment)])
    reconciliation = _reconciliation(app, Engine())

    summary = reconciliation.run(ledger, SINCE, UNTIL, "run-1")

    assert dict(summary.discrepancies) == {"missed_capture": 1}
    assert summary.repairs == 1
    assert purchases.order(placed).status is OrderStatus.PAYMENT_CONFIRMED
    found = purchases.payment(placed).discrepancies
    assert [(d["kind"], d["status"]) for d in found.values()] == [("missed_capture", "repaired")]
    assert dict(reconciliation.run(ledger, SINCE, UNTIL, "run-2").discrepancies) == {}


def test_nothing_is_compared_when_the_listing_fails(
    app: CheckoutApplication, purchases: Purchases
) -> None:
    placed = purchases.opened()
    ledger = Ledger(listed=[_at_provider(purchases.payment(placed))], outage=True)
    with pytest.raises(PartialListing):
        _reconciliation(app, Engine()).run(ledger, SINCE, UNTIL, "run-1")
    assert purchases.payment(placed).status is PaymentStatus.PENDING


def test_a_capture_of_another_amount_waits_for_a_person(
    app: CheckoutApplication, purchases: Purchases
) -> None:
    placed = purchases.opened()
    payment = purchases.payment(placed)
    ledger = Ledger(listed=[_at_provider(payment, amount=payment.amount - 1)])

    summary = _reconciliation(app, Engine()).run(ledger, SINCE, UNTIL, "run-1")

    assert dict(summary.discrepancies) == {"amount_mismatch": 1}
    assert summary.repairs == 0
    payment = purchases.payment(placed)
    assert payment.status is PaymentStatus.PENDING
    [(discrepancy_id, entry)] = payment.discrepancies.items()
    assert entry["status"] == "open"
    resolutions = Resolutions(app)
    resolutions.discrepancy(payment.id, discrepancy_id, "admin:ops", "refunded by hand")
    assert purchases.payment(placed).discrepancies[discrepancy_id]["status"] == "resolved"
    with pytest.raises(InvalidTransition):
        resolutions.discrepancy(payment.id, discrepancy_id, "admin:ops", "again")


def test_captured_here_but_not_there_and_a_refund_only_here_wait_for_a_person(
    app: CheckoutApplication, purchases: Purchases
) -> None:
    paid = purchases.paid()
    unlisted = purchases.paid()
    payment = purchases.payment(paid)
    refund = Refunds(app).request(paid.order.id, 500, "goodwill", "admin:ops", "key-1")
    Refunds(app).succeeded(payment.id, refund.refund_id, "re_1")
    payment = purchases.payment(paid)
    captured = payment.gateway_payment_id
    assert captured is not None
    listed = _at_provider(payment, gateway_payment_id=captured)  # no refund listed
    engine = Engine(captured=[payment.id, purchases.payment(unlisted).id])

    summary = _reconciliation(app, engine).run(Ledger(listed=[listed]), SINCE, UNTIL, "run-1")

    assert dict(summary.discrepancies) == {"refund_only_here": 1, "not_captured_at_provider": 1}
    assert summary.repairs == 0
    kinds = {d["kind"] for d in purchases.payment(unlisted).discrepancies.values()}
    assert kinds == {"not_captured_at_provider"}


def test_a_refund_only_the_provider_lists_is_recorded_as_made_there(
    app: CheckoutApplication, purchases: Purchases
) -> None:
    paid = purchases.paid()
    payment = purchases.payment(paid)
    captured = payment.gateway_payment_id
    assert captured is not None
    refund = LedgerRefund("re_dashboard", 700, "succeeded")
    listed = _at_provider(payment, gateway_payment_id=captured, refunds=(refund,))

    summary = _reconciliation(app, Engine()).run(Ledger(listed=[listed]), SINCE, UNTIL, "run-1")

    assert dict(summary.discrepancies) == {"refund_only_at_provider": 1}
    payment = purchases.payment(paid)
    assert payment.refunded_amount == 700
    assert app.load(Order, paid.order.id).status is OrderStatus.PARTIALLY_REFUNDED


def test_money_on_an_object_naming_no_engine_payment_is_for_a_person(
    app: CheckoutApplication,
) -> None:
    stranger = LedgerPayment("pi_x", "pi_x", uuid4(), 900, "USD", "succeeded", True, False)

    summary = _reconciliation(app, Engine()).run(Ledger(listed=[stranger]), SINCE, UNTIL, "run-1")

    assert dict(summary.discrepancies) == {"unknown_with_our_metadata": 1}
    capture = app.load(ForeignCapture, ForeignCapture.id_for("stripe", "pi_x"))
    Resolutions(app).foreign_capture("stripe", "pi_x", "admin:ops", "refunded in the dashboard")
    assert app.load(ForeignCapture, capture.id).resolved
    with pytest.raises(InvalidTransition):
        Resolutions(app).foreign_capture("stripe", "pi_x", "admin:ops", "again")


def test_a_payment_made_out_of_band_is_not_looked_for_at_the_provider(
    app: CheckoutApplication, purchases: Purchases
) -> None:
    placed = purchases.opened()
    OrderMarks(app).mark(
        placed.order.id, MarkKind.PAID_OUT_OF_BAND, "bank transfer", "admin:ops", "k", "UTR 1"
    )
    engine = Engine(captured=[placed.payment.id])

    summary = _reconciliation(app, engine).run(Ledger(), SINCE, UNTIL, "run-1")

    assert dict(summary.discrepancies) == {}
    assert summary.compared == 1
