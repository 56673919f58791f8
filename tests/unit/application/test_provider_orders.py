"""The worker's order calls (open, cancel, close), driven against the in-memory gateway."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from application.application import CheckoutApplication
from application.checkout import Checkout, Placed
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from application.ports import (
    PaymentGateway,
    PermanentProviderError,
    ProviderCharge,
    ProviderNotConfigured,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefund,
    ProviderRefundRequest,
    TransientProviderError,
)
from application.provider_calls import ProviderCalls
from domain import OrderStatus, Payment, PaymentStatus
from tests.fakes import FakeGateway
from tests.fakes.gateway import CANCELED, OPEN, PAID
from tests.unit.application.purchases import pay, place

pytestmark = pytest.mark.usefixtures("catalog")
CallsFor = Callable[[Mapping[str, PaymentGateway]], ProviderCalls]


def payment_of(app: CheckoutApplication, placed: Placed) -> Payment:
    return app.load(Payment, placed.payment.id)


def opened(provider_calls: ProviderCalls, checkout: Checkout, provider: str = "stripe") -> Placed:
    placed = place(checkout, provider)
    provider_calls.open_order(placed.payment.id)
    return placed


# -- open_order --------------------------------------------------------------------------


def test_opening_creates_the_intent_and_records_it(
    app: CheckoutApplication, checkout: Checkout, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = place(checkout)

    note = provider_calls.open_order(placed.payment.id)

    [request] = stripe.calls_of("create_order")
    assert request == ProviderOrderRequest(placed.payment.id, placed.order.id, 2500, "USD", "alice")
    [intent] = stripe.objects_for(placed.payment.id)
    assert note == f"created {intent}"
    payment = payment_of(app, placed)
    assert payment.status is PaymentStatus.PENDING
    assert payment.gateway_order_id == payment.gateway_payment_id == intent
    assert payment.client_secret == stripe.objects[intent].answer.client_secret


def test_a_razorpay_order_is_recorded_with_its_key_and_no_payment_yet(
    app: CheckoutApplication,
    checkout: Checkout,
    provider_calls: ProviderCalls,
    razorpay: FakeGateway,
    stripe: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout, "razorpay")

    payment = payment_of(app, placed)
    [order] = razorpay.objects_for(placed.payment.id)
    assert (payment.gateway_order_id, payment.gateway_payment_id) == (order, None)
    assert payment.key_id == razorpay.objects[order].answer.key_id
    assert stripe.calls == []


def test_opening_again_calls_the_provider_no_more(
    app: CheckoutApplication, checkout: Checkout, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = opened(provider_calls, checkout)
    head = app.head_position()

    again = provider_calls.open_order(placed.payment.id)

    assert again == "nothing to do: payment is pending"
    assert len(stripe.calls_of("create_order")) == 1
    assert app.head_position() == head


def test_a_lost_answer_is_retried_and_finds_the_intent_the_first_call_made(
    app: CheckoutApplication, checkout: Checkout, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = place(checkout)
    stripe.lose_next_answer("create_order")

    with pytest.raises(TransientProviderError):
        provider_calls.open_order(placed.payment.id)
    assert payment_of(app, placed).status is PaymentStatus.PROCESSING
    made = stripe.objects_for(placed.payment.id)
    provider_calls.open_order(placed.payment.id)

    assert stripe.objects_for(placed.payment.id) == made
    assert payment_of(app, placed).gateway_order_id == made[0]


def test_an_outage_records_nothing_and_the_retry_opens_the_order(
    app: CheckoutApplication, checkout: Checkout, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = place(checkout)
    head = app.head_position()
    stripe.fail_next("create_order", TransientProviderError("stripe answered 503"))

    with pytest.raises(TransientProviderError):
        provider_calls.open_order(placed.payment.id)
    assert app.head_position() == head
    assert stripe.objects_for(placed.payment.id) == []

    provider_calls.open_order(placed.payment.id)
    assert payment_of(app, placed).status is PaymentStatus.PENDING


def test_a_refusal_fails_the_payment_and_still_propagates(
    app: CheckoutApplication, checkout: Checkout, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = place(checkout)
    stripe.fail_next("create_order", PermanentProviderError("amount_too_small"))

    with pytest.raises(PermanentProviderError):
        provider_calls.open_order(placed.payment.id)

    payment = payment_of(app, placed)
    assert (payment.status, payment.failure_reason) == (PaymentStatus.FAILED, "amount_too_small")
    assert provider_calls.open_order(placed.payment.id) == "nothing to do: payment is failed"
    assert len(stripe.calls_of("create_order")) == 1


def test_a_provider_without_credentials_waits_for_configuration(
    app: CheckoutApplication,
    checkout: Checkout,
    provider_calls_for: CallsFor,
    stripe: FakeGateway,
) -> None:
    placed = place(checkout, "razorpay")
    stripe_only = provider_calls_for({stripe.provider: stripe})

    with pytest.raises(ProviderNotConfigured) as waiting:
        stripe_only.open_order(placed.payment.id)

    assert waiting.value.provider == "razorpay"
    assert payment_of(app, placed).status is PaymentStatus.PROCESSING


def test_a_cancelled_order_gets_no_provider_object(
    checkout: Checkout, orders: OrderLifecycle, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = place(checkout)
    orders.cancel(placed.order.id, "changed my mind")

    assert provider_calls.open_order(placed.payment.id) == "nothing to do: payment is canceled"
    assert stripe.calls == []


class CancelledWhileCalling:
    """The customer cancels the order while the provider creates its intent."""

    def __init__(self, gateway: FakeGateway, orders: OrderLifecycle, placed: Placed) -> None:
        self.gateway, self.orders, self.placed = gateway, orders, placed

    @property
    def provider(self) -> str:
        return self.gateway.provider

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        created = self.gateway.create_order(request)
        self.orders.cancel(self.placed.order.id, "changed my mind")
        return created

    def cancel(self, gateway_order_id: str) -> None:
        self.gateway.cancel(gateway_order_id)

    def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        return self.gateway.refund(request)

    def charge(self, gateway_payment_id: str) -> ProviderCharge:
        return self.gateway.charge(gateway_payment_id)


def test_an_intent_created_for_an_order_cancelled_meanwhile_is_not_recorded(
    app: CheckoutApplication,
    checkout: Checkout,
    orders: OrderLifecycle,
    provider_calls_for: CallsFor,
    stripe: FakeGateway,
) -> None:
    placed = place(checkout)
    racing = provider_calls_for({"stripe": CancelledWhileCalling(stripe, orders, placed)})

    note = racing.open_order(placed.payment.id)

    [intent] = stripe.objects_for(placed.payment.id)
    assert note.startswith(f"created {intent}, not recorded: ")
    payment = payment_of(app, placed)
    assert (payment.status, payment.gateway_order_id) == (PaymentStatus.CANCELED, None)


# -- cancel_order ------------------------------------------------------------------------


def test_cancelling_makes_the_intent_unpayable(
    app: CheckoutApplication,
    checkout: Checkout,
    orders: OrderLifecycle,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout)
    orders.cancel(placed.order.id, "changed my mind")
    intent = payment_of(app, placed).gateway_order_id
    assert intent is not None

    assert provider_calls.cancel_order(placed.payment.id) == f"cancelled {intent}"
    assert provider_calls.cancel_order(placed.payment.id) == f"cancelled {intent}"

    assert stripe.objects[intent].status == CANCELED
    assert stripe.calls_of("cancel") == [intent, intent]
    with pytest.raises(ValueError, match="canceled"):
        stripe.pay(intent)


def test_a_razorpay_order_cannot_be_cancelled_and_that_is_no_error(
    app: CheckoutApplication,
    checkout: Checkout,
    orders: OrderLifecycle,
    provider_calls: ProviderCalls,
    razorpay: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout, "razorpay")
    orders.cancel(placed.order.id, "changed my mind")
    order = payment_of(app, placed).gateway_order_id
    assert order is not None

    assert provider_calls.cancel_order(placed.payment.id) == f"cancelled {order}"
    assert razorpay.objects[order].status == OPEN


def test_nothing_is_cancelled_before_the_provider_object_exists(
    checkout: Checkout, orders: OrderLifecycle, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = place(checkout)
    orders.cancel(placed.order.id, "changed my mind")

    note = provider_calls.cancel_order(placed.payment.id)

    assert note == "nothing to cancel: no provider object"
    assert stripe.calls == []


def test_a_payment_captured_after_all_is_not_cancelled(
    app: CheckoutApplication,
    checkout: Checkout,
    payments: PaymentOutcomes,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout)
    pay(app, payments, stripe, placed)

    note = provider_calls.cancel_order(placed.payment.id)

    assert note == "not cancelled: payment is succeeded"
    assert stripe.calls_of("cancel") == []


def test_a_cancel_outage_propagates_for_a_retry(
    app: CheckoutApplication,
    checkout: Checkout,
    orders: OrderLifecycle,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout)
    orders.cancel(placed.order.id, "changed my mind")
    intent = payment_of(app, placed).gateway_order_id
    assert intent is not None
    stripe.fail_next("cancel", TransientProviderError("stripe answered 500"))

    with pytest.raises(TransientProviderError):
        provider_calls.cancel_order(placed.payment.id)
    assert stripe.objects[intent].status == OPEN

    provider_calls.cancel_order(placed.payment.id)
    assert stripe.objects[intent].status == CANCELED


# -- close_open --------------------------------------------------------------------------


def test_an_unpaid_payment_has_nothing_to_close(
    checkout: Checkout, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = opened(provider_calls, checkout)

    assert provider_calls.close_open(placed.payment.id) == "nothing to close: payment is pending"
    assert stripe.calls_of("cancel") == []


def test_an_intent_paid_itself_leaves_nothing_open(
    app: CheckoutApplication,
    checkout: Checkout,
    payments: PaymentOutcomes,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout)
    pay(app, payments, stripe, placed)

    assert provider_calls.close_open(placed.payment.id) == "closed"
    assert stripe.calls_of("cancel") == []


def test_paid_another_way_the_engines_own_intent_is_cancelled(
    app: CheckoutApplication,
    checkout: Checkout,
    payments: PaymentOutcomes,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout)
    own = payment_of(app, placed).gateway_order_id
    assert own is not None
    # A hosted page's intent, paid instead of the engine's own.
    payments.succeeded(placed.payment.id, "pi_HostedSessionIntent000001", 2500, "USD")

    first = provider_calls.close_open(placed.payment.id)
    again = provider_calls.close_open(placed.payment.id)

    assert first == again == f"cancelled intent {own}"
    assert stripe.objects[own].status == CANCELED
    assert app.load(Payment, placed.payment.id).status is PaymentStatus.SUCCEEDED


def test_an_own_intent_paid_as_well_is_left_to_its_extra_charge_refund(
    app: CheckoutApplication,
    checkout: Checkout,
    payments: PaymentOutcomes,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout)
    own = payment_of(app, placed).gateway_order_id
    assert own is not None
    payments.succeeded(placed.payment.id, "pi_HostedSessionIntent000001", 2500, "USD")
    stripe.pay(own)  # its capture arrives later, as an extra charge

    note = provider_calls.close_open(placed.payment.id)

    assert note.startswith(f"intent {own} not cancelled (")
    assert "succeeded" in note
    assert stripe.objects[own].status == PAID


def test_razorpay_orders_stay_open_after_payment(
    app: CheckoutApplication,
    checkout: Checkout,
    payments: PaymentOutcomes,
    provider_calls: ProviderCalls,
    razorpay: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout, "razorpay")
    pay(app, payments, razorpay, placed)

    assert provider_calls.close_open(placed.payment.id) == "closed"
    assert razorpay.calls_of("cancel") == []


def test_open_hosted_sessions_need_the_sessions_provider(
    app: CheckoutApplication,
    checkout: Checkout,
    payments: PaymentOutcomes,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
) -> None:
    placed = opened(provider_calls, checkout)
    payment = payment_of(app, placed)
    payment.record_session("cs_test_1", "https://pay.example/cs_test_1", 2_000_000_000)
    app.save(payment)
    pay(app, payments, stripe, placed)

    with pytest.raises(ProviderNotConfigured):
        provider_calls.close_open(placed.payment.id)
    assert payment_of(app, placed).open_sessions == ["cs_test_1"]
    assert app.load(type(placed.order), placed.order.id).status is OrderStatus.PAYMENT_CONFIRMED
