"""The use cases name who caused each change, and the worker keeps its provider calls as
evidence that the events it records point to (adr/0016). In memory, with the fake gateway."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.application import CheckoutApplication
from application.cancellations import CustomerCancellations
from application.catalog import Catalog, CatalogEntry
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.checkout_sessions import HostedCheckout, ReturnUrls
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from application.ports import PermanentProviderError, TransientProviderError
from application.provider_calls import ProviderCalls
from application.refunds import Refunds
from domain import Order, Payment, Product, Stock, actors
from domain.actors import Origin
from tests.fakes import FakeGateway
from tests.fakes.evidence import KeptEvidence
from tests.fakes.sessions import FakeCheckoutSessions
from tests.unit.application.conftest import FrozenClock

BODY_DIGEST = "0f" * 32


@pytest.fixture
def kept() -> KeptEvidence:
    return KeptEvidence()


@pytest.fixture
def calls(
    app: CheckoutApplication,
    payments: PaymentOutcomes,
    gateways: dict[str, FakeGateway],
    kept: KeptEvidence,
) -> ProviderCalls:
    return ProviderCalls(app, gateways, payments=payments, refunds=Refunds(app), evidence=kept)


def events_of(app: CheckoutApplication, aggregate_id: UUID) -> list[Any]:
    return list(app.events.get(aggregate_id))


def last(app: CheckoutApplication, aggregate_id: UUID, kind: type) -> Any:
    found = [e for e in events_of(app, aggregate_id) if isinstance(e, kind)]
    assert found, f"no {kind.__qualname__} recorded"
    return found[-1]


def place(checkout: Checkout, customer: str = "alice") -> Placed:
    return checkout(CheckoutRequest(customer, (CartItem("MUG", 2),), "stripe"))


def test_checkout_records_the_customer_on_order_payment_and_stock(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout
) -> None:
    placed = place(checkout)
    assert last(app, placed.order.id, Order.Created).actor == "customer:alice"
    assert last(app, placed.payment.id, Payment.Initiated).actor == "customer:alice"
    assert last(app, Stock.id_for("MUG"), Stock.Reserved).actor == "customer:alice"


def test_a_customer_cancel_and_an_expiry_name_who_ended_the_order(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout, clock: FrozenClock
) -> None:
    cancelled = place(checkout)
    CustomerCancellations(app).cancel(cancelled.order.id, "alice")
    assert last(app, cancelled.order.id, Order.Cancelled).actor == "customer:alice"
    assert last(app, cancelled.payment.id, Payment.Canceled).actor == "customer:alice"

    expired = place(checkout, "bob")
    clock.advance(timedelta(hours=1).total_seconds())
    assert OrderLifecycle(app).expire(expired.order.id, clock.now()) is not None
    assert last(app, expired.order.id, Order.Cancelled).actor == actors.REAPER
    assert last(app, expired.payment.id, Payment.Canceled).actor == actors.REAPER
    released = [e for e in events_of(app, Stock.id_for("MUG")) if isinstance(e, Stock.Released)]
    assert [e.actor for e in released] == ["customer:alice", actors.REAPER]


def test_catalog_changes_name_the_admin_or_operator(app: CheckoutApplication) -> None:
    catalog = Catalog(app)
    catalog.upsert([CatalogEntry("CUP", "Cup", "v", 500, "USD", 3)], actor=actors.cli("deploy"))
    catalog.change_stock("CUP", delta=2, actor=actors.admin("ann"))
    assert last(app, Product.id_for("CUP"), Product.Registered).actor == "cli:deploy"
    stock = events_of(app, Stock.id_for("CUP"))
    assert [e.actor for e in stock] == ["cli:deploy", "admin:ann"]


def test_a_webhook_applied_success_names_the_provider_event_and_its_body(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    calls: ProviderCalls,
    payments: PaymentOutcomes,
    stripe: FakeGateway,
) -> None:
    placed = place(checkout)
    calls.open_order(placed.payment.id)
    intent = app.load(Payment, placed.payment.id).gateway_order_id
    assert intent is not None
    charge = stripe.pay(intent)
    origin = Origin.webhook("stripe", "evt_123", BODY_DIGEST)
    payments.succeeded(placed.payment.id, charge, 2500, "USD", "evt_123", origin)

    succeeded = last(app, placed.payment.id, Payment.Succeeded)
    confirmed = last(app, placed.order.id, Order.Confirmed)
    committed = last(app, Stock.id_for("MUG"), Stock.Committed)
    for event in (succeeded, confirmed):
        assert event.actor == "provider:stripe:evt_123"
        assert (event.provider_event_id, event.evidence_digest) == ("evt_123", BODY_DIGEST)
    assert committed.actor == "provider:stripe:evt_123"


def test_the_worker_keeps_its_create_call_and_the_event_names_it(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    calls: ProviderCalls,
    kept: KeptEvidence,
) -> None:
    placed = place(checkout)
    calls.open_order(placed.payment.id)

    created = last(app, placed.payment.id, Payment.ProviderOrderCreated)
    assert created.actor == actors.WORKER
    record = kept.call(created.evidence_digest)
    assert record["operation"] == "create_order"
    assert record["request"]["payment_id"] == str(placed.payment.id)
    assert record["response"]["gateway_order_id"] == created.gateway_order_id
    assert kept.by_digest[created.evidence_digest].object_id == created.gateway_order_id


def test_a_refused_create_call_is_kept_with_the_refusal(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    calls: ProviderCalls,
    kept: KeptEvidence,
    stripe: FakeGateway,
) -> None:
    placed = place(checkout)
    stripe.fail_next("create_order", TransientProviderError("stripe answered 503"))
    with pytest.raises(TransientProviderError):
        calls.open_order(placed.payment.id)
    stripe.fail_next("create_order", PermanentProviderError("amount_too_small"))
    with pytest.raises(PermanentProviderError):
        calls.open_order(placed.payment.id)

    failed = last(app, placed.payment.id, Payment.CreationFailed)
    assert failed.actor == actors.WORKER
    assert kept.call(failed.evidence_digest)["error"] == "amount_too_small"
    errors = sorted(kept.call(d).get("error", "") for d in kept.by_digest)
    assert errors == ["amount_too_small", "stripe answered 503"]


def test_a_refund_the_worker_settles_names_the_worker_and_its_call(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    calls: ProviderCalls,
    payments: PaymentOutcomes,
    stripe: FakeGateway,
    kept: KeptEvidence,
) -> None:
    placed = place(checkout)
    calls.open_order(placed.payment.id)
    intent = app.load(Payment, placed.payment.id).gateway_order_id
    assert intent is not None
    payments.succeeded(placed.payment.id, stripe.pay(intent), 2500, "USD", "evt_1")
    requested = Refunds(app).request(placed.order.id, 1000, "broken", "admin:ann", "k-1")
    calls.refund(placed.payment.id, requested.refund_id)

    completed = last(app, placed.payment.id, Payment.RefundCompleted)
    refunded = last(app, placed.order.id, Order.Refunded)
    assert (completed.actor, refunded.actor) == (actors.WORKER, actors.WORKER)
    assert completed.evidence_digest == refunded.evidence_digest
    record = kept.call(completed.evidence_digest)
    assert record["operation"] == "refund"
    assert record["request"]["refund_id"] == requested.refund_id
    assert record["response"]["gateway_refund_id"] == completed.gateway_refund_id


def test_cancelling_at_the_provider_is_kept_though_no_event_follows(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    calls: ProviderCalls,
    kept: KeptEvidence,
) -> None:
    placed = place(checkout)
    calls.open_order(placed.payment.id)
    CustomerCancellations(app).cancel(placed.order.id, "alice")
    calls.cancel_order(placed.payment.id)
    operations = sorted(kept.call(d)["operation"] for d in kept.by_digest)
    assert operations == ["cancel", "create_order"]


def test_expiring_a_paid_orders_hosted_session_is_kept_and_named_by_its_closing(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    clock: FrozenClock,
    payments: PaymentOutcomes,
    gateways: dict[str, FakeGateway],
    stripe: FakeGateway,
    kept: KeptEvidence,
) -> None:
    sessions = FakeCheckoutSessions()
    calls = ProviderCalls(
        app, gateways, sessions, payments=payments, refunds=Refunds(app), evidence=kept
    )
    placed = place(checkout)
    calls.open_order(placed.payment.id)
    urls = ReturnUrls("https://shop.example/paid", "https://shop.example/cancelled")
    opened = HostedCheckout(app, sessions, clock).open(placed.order.id, "alice", urls)
    session_id = opened.session.session_id
    intent = app.load(Payment, placed.payment.id).gateway_order_id
    assert intent is not None
    payments.succeeded(placed.payment.id, stripe.pay(intent), 2500, "USD", "evt_1")
    calls.close_open(placed.payment.id)

    closed = last(app, placed.payment.id, Payment.CheckoutSessionClosed)
    assert (closed.session_id, closed.status, closed.actor) == (
        session_id,
        "expired",
        actors.WORKER,
    )
    record = kept.call(closed.evidence_digest)
    assert record["operation"] == "expire_session"
    assert record["request"] == {"session": session_id}
    assert record["response"]["status"] == "expired"
    assert kept.by_digest[closed.evidence_digest].object_id == session_id


def test_a_refused_session_expiry_is_kept_though_no_event_follows(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    clock: FrozenClock,
    payments: PaymentOutcomes,
    gateways: dict[str, FakeGateway],
    kept: KeptEvidence,
) -> None:
    sessions = FakeCheckoutSessions()
    calls = ProviderCalls(
        app, gateways, sessions, payments=payments, refunds=Refunds(app), evidence=kept
    )
    placed = place(checkout)
    calls.open_order(placed.payment.id)
    urls = ReturnUrls("https://shop.example/paid", "https://shop.example/cancelled")
    opened = HostedCheckout(app, sessions, clock).open(placed.order.id, "alice", urls)
    del sessions.statuses[opened.session.session_id]  # the provider no longer knows it
    CustomerCancellations(app).cancel(placed.order.id, "alice")
    with pytest.raises(PermanentProviderError):
        calls.cancel_order(placed.payment.id)

    assert not [
        e for e in events_of(app, placed.payment.id) if isinstance(e, Payment.CheckoutSessionClosed)
    ]
    [refused] = [
        kept.call(d) for d in kept.by_digest if kept.call(d)["operation"] == "expire_session"
    ]
    assert refused["error"] == f"no such checkout session: {opened.session.session_id}"
