"""Manual capture in the application: an authorization holds the order and its stock until an
operator captures or voids it, or until a day before the provider would let it lapse."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.application import CheckoutApplication
from application.checkout import CapturePolicy, CartItem, Checkout, CheckoutRequest, Placed
from application.errors import IdempotencyConflict
from application.manual_captures import ManualCaptures
from application.orders import EXPIRED, HOLD_EXPIRED, OrderLifecycle
from application.payments import HOLD_FOR, PaymentOutcomes
from application.ports import PermanentProviderError
from application.provider_calls import ProviderCalls
from application.refunds import Refunds
from domain import (
    AuthorizationMismatch,
    CaptureConflict,
    CaptureMethod,
    InvalidTransition,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Provider,
    Stock,
)
from domain.actors import Origin
from tests.fakes import FakeGateway
from tests.unit.application.conftest import FrozenClock

ADMIN = "admin:ops"
MUGS = CartItem("MUG", 2)  # 2500 USD minor units


@pytest.fixture
def outcomes(app: CheckoutApplication, clock: FrozenClock) -> PaymentOutcomes:
    return PaymentOutcomes(app, clock)


@pytest.fixture
def captures(app: CheckoutApplication) -> ManualCaptures:
    return ManualCaptures(app)


def _manual(checkout: Checkout, outcomes: PaymentOutcomes, key: str = "k1") -> Placed:
    placed = checkout(CheckoutRequest("alice", (MUGS,), "stripe", key, capture="manual"))
    outcomes.provider_order_created(placed.payment.id, "pi_1", "pi_1", "secret")
    return placed


def _authorized(checkout: Checkout, outcomes: PaymentOutcomes, app: CheckoutApplication) -> Placed:
    placed = _manual(checkout, outcomes)
    outcome = outcomes.authorized(
        placed.payment.id, "pi_1", 2500, "USD", Origin.webhook("stripe", "evt_1", None)
    )
    assert outcome.changed
    return placed


@pytest.mark.usefixtures("catalog")
def test_manual_capture_is_part_of_the_request_and_its_fingerprint(checkout: Checkout) -> None:
    automatic = CheckoutRequest("alice", (MUGS,), "stripe", "k")
    manual = CheckoutRequest("alice", (MUGS,), "stripe", "k", capture="manual")
    assert automatic.fingerprint() != manual.fingerprint()
    checkout(manual)
    with pytest.raises(IdempotencyConflict):
        checkout(automatic)  # the same key, asking for another capture


@pytest.mark.usefixtures("catalog")
def test_an_authorization_holds_the_order_until_a_day_before_it_would_lapse(
    checkout: Checkout,
    outcomes: PaymentOutcomes,
    app: CheckoutApplication,
    clock: FrozenClock,
) -> None:
    placed = _authorized(checkout, outcomes, app)
    order = app.load(Order, placed.order.id)
    assert order.expires_at == clock.now() + HOLD_FOR[Provider.STRIPE]
    assert app.load(Payment, placed.payment.id).status is PaymentStatus.AUTHORIZED
    lifecycle = OrderLifecycle(app)

    clock.advance(timedelta(hours=1).total_seconds())  # past the 30-minute payment window
    assert lifecycle.expire(placed.order.id, clock.now()) is None
    clock.advance(HOLD_FOR[Provider.STRIPE].total_seconds())
    ended = lifecycle.expire(placed.order.id, clock.now())

    assert ended is not None
    assert ended.order.cancel_reason == HOLD_EXPIRED != EXPIRED
    assert app.load(Payment, placed.payment.id).status is PaymentStatus.CANCELED
    assert app.load(Stock, Stock.id_for("MUG")).reserved == 0  # released


@pytest.mark.usefixtures("catalog")
def test_an_authorization_of_another_amount_records_nothing(
    checkout: Checkout, outcomes: PaymentOutcomes, app: CheckoutApplication
) -> None:
    placed = _manual(checkout, outcomes)
    head = app.head_position()
    with pytest.raises(AuthorizationMismatch):
        outcomes.authorized(placed.payment.id, "pi_1", 100, "USD")
    assert app.head_position() == head


@pytest.mark.usefixtures("catalog")
def test_a_capture_through_the_worker_confirms_with_the_amount_captured(
    checkout: Checkout,
    outcomes: PaymentOutcomes,
    app: CheckoutApplication,
    captures: ManualCaptures,
    stripe: FakeGateway,
) -> None:
    placed = _authorized(checkout, outcomes, app)
    accepted = captures.capture(placed.order.id, 1000, "one mug broke", ADMIN, "cap-key")
    replay = captures.capture(placed.order.id, 1000, "one mug broke", ADMIN, "cap-key")
    assert replay.replayed
    assert replay.capture_id == accepted.capture_id
    with pytest.raises(IdempotencyConflict):
        captures.capture(placed.order.id, 900, "one mug broke", ADMIN, "cap-key")
    with pytest.raises(CaptureConflict):
        captures.capture(placed.order.id, 900, "another one", ADMIN, "other-key")

    calls = ProviderCalls(app, {"stripe": stripe}, payments=outcomes, refunds=Refunds(app))
    note = calls.capture(placed.payment.id, accepted.capture_id)

    assert "captured 1000 USD" in note
    order = app.load(Order, placed.order.id)
    assert order.status is OrderStatus.PAYMENT_CONFIRMED
    assert order.paid == 1000
    payment = app.load(Payment, placed.payment.id)
    assert (payment.status, payment.captured_amount) == (PaymentStatus.SUCCEEDED, 1000)
    assert [name for name, _ in stripe.calls] == ["capture"]
    stock = app.load(Stock, Stock.id_for("MUG"))
    assert (stock.reserved, stock.on_hand) == (0, 3)  # sold: committed with the capture
    assert calls.capture(placed.payment.id, accepted.capture_id).startswith("nothing to do")
    with pytest.raises(InvalidTransition):
        captures.void(placed.order.id, "too late", ADMIN, "void-key")


@pytest.mark.usefixtures("catalog")
def test_a_refused_capture_is_recorded_and_the_authorization_stays(
    checkout: Checkout,
    outcomes: PaymentOutcomes,
    app: CheckoutApplication,
    captures: ManualCaptures,
    stripe: FakeGateway,
) -> None:
    placed = _authorized(checkout, outcomes, app)
    accepted = captures.capture(placed.order.id, None, "ship it", ADMIN, "cap-key")
    stripe.fail_next("capture", PermanentProviderError("authorization expired"))
    calls = ProviderCalls(app, {"stripe": stripe}, payments=outcomes, refunds=Refunds(app))
    with pytest.raises(PermanentProviderError):
        calls.capture(placed.payment.id, accepted.capture_id)
    payment = app.load(Payment, placed.payment.id)
    assert payment.status is PaymentStatus.AUTHORIZED
    assert payment.captures[accepted.capture_id]["failure_reason"] == "authorization expired"
    assert app.load(Order, placed.order.id).status is OrderStatus.PENDING_PAYMENT


@pytest.mark.usefixtures("catalog")
def test_a_void_cancels_once_per_key(
    checkout: Checkout,
    outcomes: PaymentOutcomes,
    app: CheckoutApplication,
    captures: ManualCaptures,
) -> None:
    placed = _authorized(checkout, outcomes, app)
    first = captures.void(placed.order.id, "customer called", ADMIN, "void-key")
    assert not first.replayed
    assert captures.void(placed.order.id, "customer called", ADMIN, "void-key").replayed
    with pytest.raises(IdempotencyConflict):
        captures.void(placed.order.id, "another reason", ADMIN, "void-key")
    with pytest.raises(InvalidTransition):
        captures.void(placed.order.id, "customer called", ADMIN, "other-key")
    order = app.load(Order, placed.order.id)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "customer called")


@pytest.mark.usefixtures("catalog")
def test_an_unauthorized_payment_cannot_be_captured_or_voided(
    checkout: Checkout, outcomes: PaymentOutcomes, captures: ManualCaptures
) -> None:
    placed = _manual(checkout, outcomes)
    with pytest.raises(InvalidTransition):
        captures.capture(placed.order.id, None, "early", ADMIN, "k")
    with pytest.raises(InvalidTransition):
        captures.void(placed.order.id, "early", ADMIN, "k2")


@pytest.mark.usefixtures("catalog")
def test_configured_vendors_and_skus_are_captured_by_hand_unless_the_request_says(
    app: CheckoutApplication, clock: FrozenClock
) -> None:
    policy = CapturePolicy(manual_vendors=frozenset({"vendor-a"}))  # the MUG's vendor
    checkout = Checkout(app, clock, timedelta(minutes=30), capture_policy=policy)
    mugs = checkout(CheckoutRequest("alice", (MUGS,), "stripe", "a"))
    tees = checkout(CheckoutRequest("alice", (CartItem("TEE", 1),), "stripe", "b"))
    asked = checkout(CheckoutRequest("alice", (MUGS,), "stripe", "c", capture="automatic"))
    by_sku = Checkout(
        app,
        clock,
        timedelta(minutes=30),
        capture_policy=CapturePolicy(manual_skus=frozenset({"TEE"})),
    )(CheckoutRequest("alice", (CartItem("TEE", 1),), "stripe", "d"))

    assert mugs.payment.capture_method is CaptureMethod.MANUAL
    assert tees.payment.capture_method is CaptureMethod.AUTOMATIC
    assert asked.payment.capture_method is CaptureMethod.AUTOMATIC
    assert by_sku.payment.capture_method is CaptureMethod.MANUAL
