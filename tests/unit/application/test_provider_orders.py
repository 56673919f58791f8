"""The worker's order calls (open, cancel, close), driven against the in-memory gateway."""

from __future__ import annotations

import pytest

from application.checkout import Placed
from application.orders import OrderLifecycle
from application.ports import (
    PermanentProviderError,
    ProviderCaptureRequest,
    ProviderCharge,
    ProviderNotConfigured,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefund,
    ProviderRefundRequest,
    TransientProviderError,
)
from application.provider_calls import ProviderCalls
from domain import OrderStatus, PaymentStatus
from tests.fakes import FakeGateway
from tests.fakes.gateway import CANCELED, OPEN, PAID
from tests.unit.application.purchases import ProviderCallsFor, Purchases

# -- open_order --------------------------------------------------------------------------


def test_opening_creates_the_intent_and_records_it(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = purchases.place()

    note = provider_calls.open_order(placed.payment.id)

    [request] = stripe.calls_of("create_order")
    assert request == ProviderOrderRequest(placed.payment.id, placed.order.id, 2500, "USD", "alice")
    [intent] = stripe.objects_for(placed.payment.id)
    assert note == f"created {intent}"
    payment = purchases.payment(placed)
    assert payment.status is PaymentStatus.PENDING
    assert payment.gateway_order_id == payment.gateway_payment_id == intent
    assert payment.client_secret == stripe.objects[intent].answer.client_secret


def test_a_razorpay_order_is_recorded_with_its_key_and_no_payment_yet(
    purchases: Purchases, razorpay: FakeGateway, stripe: FakeGateway
) -> None:
    placed = purchases.opened("razorpay")

    payment = purchases.payment(placed)
    [order] = razorpay.objects_for(placed.payment.id)
    assert (payment.gateway_order_id, payment.gateway_payment_id) == (order, None)
    assert payment.key_id == razorpay.objects[order].answer.key_id
    assert stripe.calls == []


def test_opening_again_calls_the_provider_no_more(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = purchases.opened()

    with purchases.recording_nothing():
        again = provider_calls.open_order(placed.payment.id)

    assert again == "nothing to do: payment is pending"
    assert len(stripe.calls_of("create_order")) == 1


def test_a_lost_answer_is_retried_and_finds_the_intent_the_first_call_made(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = purchases.place()
    stripe.lose_next_answer("create_order")

    with pytest.raises(TransientProviderError):
        provider_calls.open_order(placed.payment.id)
    assert purchases.payment(placed).status is PaymentStatus.PROCESSING
    made = stripe.objects_for(placed.payment.id)
    provider_calls.open_order(placed.payment.id)

    assert stripe.objects_for(placed.payment.id) == made
    assert purchases.payment(placed).gateway_order_id == made[0]


def test_an_outage_records_nothing_and_the_retry_opens_the_order(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = purchases.place()
    stripe.fail_next("create_order", TransientProviderError("stripe answered 503"))

    with purchases.recording_nothing(), pytest.raises(TransientProviderError):
        provider_calls.open_order(placed.payment.id)
    assert stripe.objects_for(placed.payment.id) == []

    provider_calls.open_order(placed.payment.id)
    assert purchases.payment(placed).status is PaymentStatus.PENDING


def test_a_refusal_fails_the_payment_and_still_propagates(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = purchases.place()
    stripe.fail_next("create_order", PermanentProviderError("amount_too_small"))

    with pytest.raises(PermanentProviderError):
        provider_calls.open_order(placed.payment.id)

    payment = purchases.payment(placed)
    assert (payment.status, payment.failure_reason) == (PaymentStatus.FAILED, "amount_too_small")
    assert provider_calls.open_order(placed.payment.id) == "nothing to do: payment is failed"
    assert len(stripe.calls_of("create_order")) == 1


def test_a_provider_without_credentials_waits_for_configuration(
    purchases: Purchases, provider_calls_for: ProviderCallsFor, stripe: FakeGateway
) -> None:
    placed = purchases.place("razorpay")
    stripe_only = provider_calls_for({stripe.provider: stripe})

    with pytest.raises(ProviderNotConfigured) as waiting:
        stripe_only.open_order(placed.payment.id)

    assert waiting.value.provider == "razorpay"
    assert purchases.payment(placed).status is PaymentStatus.PROCESSING


def test_a_cancelled_order_gets_no_provider_object(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = purchases.place()
    purchases.cancel(placed)

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

    def capture(self, request: ProviderCaptureRequest) -> ProviderCharge:
        return self.gateway.capture(request)


def test_an_intent_created_for_an_order_cancelled_meanwhile_is_not_recorded(
    purchases: Purchases, provider_calls_for: ProviderCallsFor, stripe: FakeGateway
) -> None:
    placed = purchases.place()
    racing = provider_calls_for({"stripe": CancelledWhileCalling(stripe, purchases.orders, placed)})

    note = racing.open_order(placed.payment.id)

    [intent] = stripe.objects_for(placed.payment.id)
    assert note.startswith(f"created {intent}, not recorded: ")
    payment = purchases.payment(placed)
    assert (payment.status, payment.gateway_order_id) == (PaymentStatus.CANCELED, None)


# -- cancel_order ------------------------------------------------------------------------


def _cancelled_once_opened(purchases: Purchases, provider: str = "stripe") -> tuple[Placed, str]:
    """The customer cancels after the worker opened the provider object; and that object."""
    placed = purchases.opened(provider)
    purchases.cancel(placed)
    return placed, purchases.provider_object(placed)


def test_cancelling_makes_the_intent_unpayable(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed, intent = _cancelled_once_opened(purchases)

    assert provider_calls.cancel_order(placed.payment.id) == f"cancelled {intent}"
    assert provider_calls.cancel_order(placed.payment.id) == f"cancelled {intent}"

    assert stripe.objects[intent].status == CANCELED
    assert stripe.calls_of("cancel") == [intent, intent]
    with pytest.raises(ValueError, match="canceled"):
        stripe.pay(intent)


def test_a_razorpay_order_cannot_be_cancelled_and_that_is_no_error(
    purchases: Purchases, provider_calls: ProviderCalls, razorpay: FakeGateway
) -> None:
    placed, order = _cancelled_once_opened(purchases, "razorpay")

    assert provider_calls.cancel_order(placed.payment.id) == f"cancelled {order}"
    assert razorpay.objects[order].status == OPEN


def test_nothing_is_cancelled_before_the_provider_object_exists(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = purchases.place()
    purchases.cancel(placed)

    note = provider_calls.cancel_order(placed.payment.id)

    assert note == "nothing to cancel: no provider object"
    assert stripe.calls == []


def test_a_payment_captured_after_all_is_not_cancelled(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = purchases.paid()

    note = provider_calls.cancel_order(placed.payment.id)

    assert note == "not cancelled: payment is succeeded"
    assert stripe.calls_of("cancel") == []


def test_a_cancel_outage_propagates_for_a_retry(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed, intent = _cancelled_once_opened(purchases)
    stripe.fail_next("cancel", TransientProviderError("stripe answered 500"))

    with pytest.raises(TransientProviderError):
        provider_calls.cancel_order(placed.payment.id)
    assert stripe.objects[intent].status == OPEN

    provider_calls.cancel_order(placed.payment.id)
    assert stripe.objects[intent].status == CANCELED


# -- close_open --------------------------------------------------------------------------


def test_an_unpaid_payment_has_nothing_to_close(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed = purchases.opened()

    assert provider_calls.close_open(placed.payment.id) == "nothing to close: payment is pending"
    assert stripe.calls_of("cancel") == []


@pytest.mark.parametrize(
    "provider",
    [
        pytest.param("stripe", id="stripe-the-intent-paid-itself"),
        pytest.param("razorpay", id="razorpay-orders-stay-open-after-payment"),
    ],
)
def test_paying_the_engines_own_object_leaves_nothing_to_cancel(
    purchases: Purchases, provider_calls: ProviderCalls, provider: str
) -> None:
    placed = purchases.paid(provider)

    assert provider_calls.close_open(placed.payment.id) == "closed"
    assert purchases.gateways[provider].calls_of("cancel") == []


def _paid_on_a_hosted_page(purchases: Purchases) -> tuple[Placed, str]:
    """Opened, then paid through a hosted page's intent instead of the engine's own."""
    placed = purchases.opened()
    own = purchases.provider_object(placed)
    purchases.payments.succeeded(placed.payment.id, "pi_HostedSessionIntent000001", 2500, "USD")
    return placed, own


def test_paid_another_way_the_engines_own_intent_is_cancelled(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed, own = _paid_on_a_hosted_page(purchases)

    first = provider_calls.close_open(placed.payment.id)
    again = provider_calls.close_open(placed.payment.id)

    assert first == again == f"cancelled intent {own}"
    assert stripe.objects[own].status == CANCELED
    assert purchases.payment(placed).status is PaymentStatus.SUCCEEDED


def test_an_own_intent_paid_as_well_is_left_to_its_extra_charge_refund(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    placed, own = _paid_on_a_hosted_page(purchases)
    stripe.pay(own)  # its capture arrives later, as an extra charge

    note = provider_calls.close_open(placed.payment.id)

    assert note.startswith(f"intent {own} not cancelled (")
    assert "succeeded" in note
    assert stripe.objects[own].status == PAID


def test_open_hosted_sessions_need_the_sessions_provider(
    purchases: Purchases, provider_calls: ProviderCalls
) -> None:
    placed = purchases.opened()
    payment = purchases.payment(placed)
    payment.record_session("cs_test_1", "https://pay.example/cs_test_1", 2_000_000_000)
    purchases.app.save(payment)
    purchases.pay(placed)

    with pytest.raises(ProviderNotConfigured):
        provider_calls.close_open(placed.payment.id)
    assert purchases.payment(placed).open_sessions == ["cs_test_1"]
    assert purchases.order(placed).status is OrderStatus.PAYMENT_CONFIRMED
