"""Every event names its actor; events recorded before actors existed read "unknown"
(adr/0016)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import StoredEvent

from domain import Order, OutOfBounds, Payment, Product, Stock, actors, bounds
from domain.actors import Origin
from tests.unit.domain.builders import new_order

DIGEST = "ab" * 32
WEBHOOK = Origin.webhook("stripe", "evt_1", DIGEST)
WORKER = Origin.worker("cd" * 32)
# Events whose first version had no provider_event_id (the actor versions added it).
GAINED_PROVIDER_EVENT_ID = {
    "Order.Confirmed",
    "Order.Refunded",
    "Order.Disputed",
    "Payment.AttemptFailed",
    "Payment.RefundCompleted",
    "Payment.RefundFailed",
    "Payment.CheckoutSessionClosed",
}


@pytest.fixture
def app() -> Iterator[Application[UUID]]:
    application = Application[UUID]()
    yield application
    application.close()


@pytest.mark.parametrize(
    "actor",
    [
        "customer:alice",
        "admin:ops@example.com",
        "cli:deploy",
        "system",
        "system:reaper",
        "provider:stripe:evt_1NirD82eZvKYlo2C",
        "provider:razorpay:sha256:" + "0" * 64,
        "worker",
        "unknown",
        "customer:" + "c" * 200,
        "provider:stripe:" + "e" * 255,
    ],
)
def test_the_actor_vocabulary_is_accepted(actor: str) -> None:
    assert bounds.actor(actor) == actor


@pytest.mark.parametrize(
    "actor",
    [
        "",
        "alice",  # no kind
        "customer:",  # a kind naming no one
        "robot:r2",  # no such kind
        "admin:ops\nadmin:root",  # a second line a view would show as another actor
        "customer:\x00",
        "admin:" + "a" * bounds.MAX_ACTOR,
    ],
)
def test_anything_else_is_refused_before_it_is_recorded(actor: str) -> None:
    with pytest.raises(OutOfBounds):
        bounds.actor(actor)
    order = new_order()
    with pytest.raises(OutOfBounds):
        order.cancel("changed my mind", actor)
    assert len(order.collect_events()) == 1  # only its creation


def test_an_origin_checks_its_digest() -> None:
    with pytest.raises(OutOfBounds):
        Origin("worker", None, "not-a-digest")
    with pytest.raises(OutOfBounds):
        Origin("worker", None, DIGEST.upper())
    assert Origin.webhook("razorpay", "sha256:x", DIGEST).actor == "provider:razorpay:sha256:x"


def every_event() -> list[Any]:
    """At least one event of each class that gained an actor, recorded by its actor."""
    order_id = uuid4()
    order = Order.place(
        order_id=order_id,
        customer_id="alice",
        lines=list(new_order().lines),
        currency="USD",
        payment_id=Payment.id_for(order_id),
        provider="stripe",
        expires_at=new_order().expires_at,
        actor=actors.customer("alice"),
    )
    alice = actors.customer("alice")
    payment = Payment.initiate(order.id, "stripe", order.amount, "USD", alice)
    payment.record_provider_order("pi_1", "pi_1", "secret", origin=WORKER)
    payment.record_session("cs_1", "https://pay", 1, actors.customer("alice"))
    payment.close_session("cs_1", "expired", WEBHOOK)
    payment.fail_attempt("card_declined", "ch_1", WEBHOOK)
    payment.record_capture("pi_1", payment.amount, "USD", "evt_1", WEBHOOK)
    payment.record_capture("pi_2", 1, "USD", "evt_2", WEBHOOK)  # an extra charge
    order.confirm_payment(payment.id, "pi_1", "stripe", WEBHOOK)
    payment.request_refund("r1", 100, reason="broken", actor=actors.admin("ann"))
    payment.complete_refund("r1", "re_1", WORKER)
    order.record_refund(100, WORKER)
    payment.request_refund("r2", 100, reason="late", actor=actors.admin("ann"))
    payment.fail_refund("r2", "declined", WORKER)
    payment.record_external_refund("re_9", 50, "pi_1", "evt_3", WEBHOOK)
    payment.open_dispute("dp_1", 100, "usd", "fraudulent", "pi_1", "evt_4", WEBHOOK)
    payment.close_dispute("dp_1", "won", "evt_5", WEBHOOK)
    order.record_dispute("dp_1", "won", 100, "USD", "fraudulent", WEBHOOK)

    unpaid = new_order(customer_id="bob", actor=actors.customer("bob"))
    unpaid_payment = Payment.initiate(unpaid.id, "stripe", unpaid.amount, "USD", alice)
    unpaid_payment.fail_creation("refused", WORKER)
    unpaid.cancel("payment window expired", actors.REAPER)
    unpaid_payment.cancel("payment window expired", actors.REAPER)

    stock = Stock.create("SKU-A", 10, actors.cli("ops"))
    stock.restock(5, actors.admin("ann"))
    stock.set_available(20, actors.admin("ann"))
    stock.reserve(order.id, 2, actors.customer("alice"))
    stock.reserve(unpaid.id, 1, actors.customer("bob"))
    stock.commit(order.id, 2, WEBHOOK.actor)
    stock.release(unpaid.id, 1, "expired", actors.REAPER)

    product = Product.register("SKU-A", "Mug", "v1", 1299, "EUR", actors.cli("ops"))
    product.update(unit_amount=999, actor=actors.admin("ann"))
    product.deactivate(actors.admin("ann"))
    product.reactivate(actors.admin("ann"))
    aggregates: list[Aggregate] = [order, payment, unpaid, unpaid_payment, stock, product]
    return [event for aggregate in aggregates for event in aggregate.collect_events()]


def name(event: DomainEvent) -> str:
    return type(event).__qualname__


def test_every_new_event_version_records_who_caused_it() -> None:
    events = [e for e in every_event() if getattr(type(e), "class_version", 1) > 1]
    unnamed = [name(e) for e in events if getattr(e, "actor", actors.UNKNOWN) == actors.UNKNOWN]
    assert unnamed == []
    kinds = {name(e) for e in events}
    for expected in (
        "Order.Created",
        "Order.Cancelled",
        "Order.Confirmed",
        "Order.Refunded",
        "Order.Disputed",
        "Payment.Initiated",
        "Payment.ProviderOrderCreated",
        "Payment.Succeeded",
        "Payment.AttemptFailed",
        "Payment.CreationFailed",
        "Payment.Canceled",
        "Payment.RefundCompleted",
        "Payment.RefundFailed",
        "Payment.ExternalRefundRecorded",
        "Payment.DisputeOpened",
        "Payment.DisputeClosed",
        "Payment.CheckoutSessionOpened",
        "Payment.CheckoutSessionClosed",
        "Stock.Reserved",
        "Stock.Released",
        "Stock.Committed",
        "Product.Registered",
    ):
        assert expected in kinds


def test_provider_caused_events_carry_the_evidence_digest() -> None:
    by_name = {name(e): e for e in every_event()}
    succeeded = by_name["Payment.Succeeded"]
    assert isinstance(succeeded, Payment.Succeeded)
    assert (succeeded.actor, succeeded.provider_event_id) == ("provider:stripe:evt_1", "evt_1")
    assert succeeded.evidence_digest == DIGEST
    confirmed = by_name["Order.Confirmed"]
    assert isinstance(confirmed, Order.Confirmed)
    assert (confirmed.provider_event_id, confirmed.evidence_digest) == ("evt_1", DIGEST)
    created = by_name["Payment.ProviderOrderCreated"]
    assert isinstance(created, Payment.ProviderOrderCreated)
    assert (created.actor, created.evidence_digest) == ("worker", WORKER.evidence_digest)


def as_v1(app: Application[UUID], event: DomainEvent) -> StoredEvent:
    """The event as its version 1 stored it: no actor, no evidence, no class_version."""
    stored = app.mapper.to_stored_event(event)
    state: dict[str, Any] = app.mapper.transcoder.decode(stored.state)
    removed = {"class_version", "actor", "evidence_digest"}
    if name(event) in GAINED_PROVIDER_EVENT_ID:
        removed.add("provider_event_id")
    if name(event) == "Order.Created":
        removed.add("request_fingerprint")
    for field in removed:
        state.pop(field, None)
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=app.mapper.transcoder.encode(state),
    )


def test_old_events_load_with_an_unknown_actor_and_no_evidence(app: Application[UUID]) -> None:
    for event in every_event():
        if getattr(type(event), "class_version", 1) == 1:
            continue
        old: Any = app.mapper.to_domain_event(as_v1(app, event))
        assert type(old) is type(event)
        assert old.actor == actors.UNKNOWN, name(event)
        assert getattr(old, "evidence_digest", None) is None, name(event)
        if name(event) in GAINED_PROVIDER_EVENT_ID:
            assert old.provider_event_id is None
        elif hasattr(event, "provider_event_id"):  # kept by v1 already: never overwritten
            assert old.provider_event_id == event.provider_event_id


def test_a_v2_order_created_is_upcast_to_v3(app: Application[UUID]) -> None:
    order = new_order()
    stored = app.mapper.to_stored_event(order.collect_events()[0])
    state: dict[str, Any] = app.mapper.transcoder.decode(stored.state)
    state["class_version"] = 2
    del state["actor"]
    v2 = StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic,
        app.mapper.transcoder.encode(state),
    )  # fmt: skip
    event = app.mapper.to_domain_event(v2)
    assert isinstance(event, Order.Created)
    assert (event.actor, event.request_fingerprint) == (actors.UNKNOWN, "fp-1")


def test_a_stream_of_old_events_still_reconstructs(app: Application[UUID]) -> None:
    events = every_event()
    app.recorder.insert_events(
        [as_v1(app, e) if getattr(type(e), "class_version", 1) > 1 else
         app.mapper.to_stored_event(e) for e in events]
    )  # fmt: skip
    for event in events:
        if name(event) == "Payment.Initiated":
            payment: Payment = app.repository.get(event.originator_id)
            assert payment.disputes or payment.status.value == "canceled"
        if name(event) == "Stock.Created":
            stock: Stock = app.repository.get(event.originator_id)
            assert (stock.on_hand, stock.reserved, stock.legacy_reservations) == (18, 0, {})
