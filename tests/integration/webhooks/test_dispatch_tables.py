"""What each provider event does to payments and orders, in any order of arrival."""

from __future__ import annotations

from application.checkout import Placed
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from application.refunds import Refunds
from domain import ForeignCapture, OrderStatus, PaymentStatus
from infrastructure.webhooks.inbox import InboxStatus
from tests.integration.shop import Shop
from tests.integration.webhooks.conftest import Provider


def _notes(payment_id: object) -> dict[str, str]:
    return {"paymentId": str(payment_id)}


def _money(placed: Placed) -> dict[str, object]:
    """What a capture of exactly the payment's amount says (USD: provider units = minor)."""
    payment = placed.payment
    return {"amount": payment.amount, "currency": payment.currency}


def _cancel(shop: Shop, placed: Placed) -> None:
    OrderLifecycle(shop.app).cancel(placed.order.id, "changed my mind")


def test_stripe_success_then_a_late_failure_leaves_the_order_paid(
    provider: Provider, shop: Shop
) -> None:
    placed = shop.buy("stripe")
    provider.open_at_provider(placed, "pi_1")
    intent = {"id": "pi_1", "metadata": _notes(placed.payment.id)} | _money(placed)
    declined = {
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    }

    paid = provider.stripe("payment_intent.succeeded", intent)
    late = provider.stripe(
        "payment_intent.payment_failed", intent | {"last_payment_error": declined}
    )

    assert paid.entry.outcome == "payment succeeded with pi_1"
    assert late.status is InboxStatus.PROCESSED
    assert shop.order(placed).status is OrderStatus.PAYMENT_CONFIRMED
    assert shop.payment(placed).status is PaymentStatus.SUCCEEDED
    assert shop.payment(placed).failure_reason is None


def test_stripe_failure_reasons_name_the_code_the_decline_and_the_message(
    provider: Provider, shop: Shop
) -> None:
    placed = shop.buy("stripe")
    provider.open_at_provider(placed, "pi_1")
    error = {"code": "card_declined", "decline_code": "lost_card", "message": "Card lost."}

    provider.stripe(
        "payment_intent.payment_failed",
        {"id": "pi_1", "metadata": _notes(placed.payment.id), "last_payment_error": error},
    )

    assert shop.payment(placed).failure_reason == "card_declined (lost_card): Card lost."
    assert shop.order(placed).status is OrderStatus.PENDING_PAYMENT


def test_a_canceled_intent_fails_the_attempt_only_while_the_order_is_open(
    provider: Provider, shop: Shop
) -> None:
    placed = shop.buy("stripe")
    provider.open_at_provider(placed, "pi_1")
    intent = {"id": "pi_1", "metadata": _notes(placed.payment.id)}

    open_order = provider.stripe(
        "payment_intent.canceled", intent | {"cancellation_reason": "fraudulent"}
    )
    assert open_order.status is InboxStatus.PROCESSED
    assert shop.payment(placed).failure_reason == "canceled (fraudulent)"

    other = shop.buy("stripe")
    provider.open_at_provider(other, "pi_2")
    _cancel(shop, other)
    echo = provider.stripe(
        "payment_intent.canceled", {"id": "pi_2", "metadata": _notes(other.payment.id)}
    )
    assert echo.status is InboxStatus.IGNORED
    assert shop.payment(other).status is PaymentStatus.CANCELED


def test_a_late_success_requests_the_refund_named_after_the_charge(
    provider: Provider, shop: Shop
) -> None:
    placed = shop.buy("razorpay")
    provider.open_at_provider(placed, "order_Rzp1")
    provider.project_payments()
    _cancel(shop, placed)
    captured = {"id": "pay_Late1", "order_id": "order_Rzp1", "notes": []} | _money(placed)

    delivered = provider.razorpay("payment.captured", payment=captured)

    assert delivered.status is InboxStatus.PROCESSED
    assert delivered.entry.outcome is not None
    assert "refund late-success:pay_Late1 requested" in delivered.entry.outcome
    payment = shop.payment(placed)
    assert payment.refunds["late-success:pay_Late1"]["amount"] == payment.amount
    assert shop.order(placed).status is OrderStatus.CANCELLED


def test_razorpay_finds_the_payment_by_receipt_or_by_the_provider_order(
    provider: Provider, shop: Shop
) -> None:
    by_receipt = shop.buy("razorpay")
    provider.open_at_provider(by_receipt, "order_Receipt")
    paid = provider.razorpay(
        "order.paid",
        payment={"id": "pay_1", "order_id": "order_Receipt", "notes": []} | _money(by_receipt),
        order={"id": "order_Receipt", "receipt": str(by_receipt.payment.id), "notes": []},
    )
    assert paid.status is InboxStatus.PROCESSED
    assert shop.order(by_receipt).status is OrderStatus.PAYMENT_CONFIRMED

    by_view = shop.buy("razorpay")
    provider.open_at_provider(by_view, "order_View")
    captured = {"id": "pay_2", "order_id": "order_View", "notes": []} | _money(by_view)
    early = provider.razorpay("payment.captured", payment=captured)
    assert early.status is InboxStatus.FAILED, "the view has not seen the order yet"
    assert early.entry.last_error is not None
    assert early.entry.last_error.startswith("PaymentNotYetKnown")

    provider.project_payments()
    again = provider.razorpay("payment.captured", payment=captured)
    assert again.status is InboxStatus.PROCESSED
    assert shop.order(by_view).status is OrderStatus.PAYMENT_CONFIRMED
    # Notes are the customer's (checkout.js options): naming a payment there proves nothing.
    claimed = {"id": "pay_3", "notes": _notes(by_view.payment.id)} | _money(by_view)
    not_an_order = provider.razorpay("payment.captured", payment=claimed)
    assert not_an_order.status is InboxStatus.PROCESSED
    assert not_an_order.entry.outcome is not None
    assert "matches no engine payment" in not_an_order.entry.outcome
    foreign = shop.app.load(ForeignCapture, ForeignCapture.id_for("razorpay", "pay_3"))
    assert foreign.claimed_payment_id == str(by_view.payment.id)
    assert shop.payment(by_view).gateway_payment_id == "pay_2"


def test_razorpay_failures_and_refund_outcomes(provider: Provider, shop: Shop) -> None:
    placed = shop.buy("razorpay")
    provider.open_at_provider(placed, "order_R")
    provider.project_payments()
    failed = {
        "id": "pay_F",
        "order_id": "order_R",
        "notes": _notes(placed.payment.id),
        "error_code": "BAD_REQUEST_ERROR",
        "error_reason": "payment_failed",
        "error_description": "Declined by the bank.",
    }
    provider.razorpay("payment.failed", payment=failed)
    assert shop.payment(placed).failure_reason == (
        "BAD_REQUEST_ERROR (payment_failed): Declined by the bank."
    )
    PaymentOutcomes(shop.app).succeeded(
        placed.payment.id, "pay_OK", placed.payment.amount, placed.payment.currency, "evt_ok"
    )
    first = Refunds(shop.app).request(placed.order.id, 100, "test", "admin:t", "k1")
    second = Refunds(shop.app).request(placed.order.id, 200, "test", "admin:t", "k2")
    notes = _notes(placed.payment.id)

    processed = provider.razorpay(
        "refund.processed",
        refund={
            "id": "rfnd_1",
            "status": "processed",
            "notes": notes | {"refundId": first.refund_id},
        },
    )
    refused = provider.razorpay(
        "refund.failed",
        refund={
            "id": "rfnd_2",
            "status": "failed",
            "notes": notes | {"refundId": second.refund_id},
        },
    )
    created = provider.razorpay("refund.created", refund={"id": "rfnd_3", "notes": []})

    assert processed.status is refused.status is InboxStatus.PROCESSED
    assert created.status is InboxStatus.IGNORED
    payment = shop.payment(placed)
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert payment.refunds[first.refund_id]["status"] == "succeeded"
    assert payment.refunds[second.refund_id]["status"] == "failed"
    assert shop.order(placed).status is OrderStatus.PARTIALLY_REFUNDED


def test_stripe_refund_events_settle_refunds_and_ignore_foreign_ones(
    provider: Provider, shop: Shop
) -> None:
    placed = shop.buy("stripe")
    provider.open_at_provider(placed, "pi_1")
    PaymentOutcomes(shop.app).succeeded(
        placed.payment.id, "pi_1", placed.payment.amount, placed.payment.currency, "evt_ok"
    )
    requested = Refunds(shop.app).request(placed.order.id, None, "all of it", "admin:t", "k")
    metadata = {"paymentId": str(placed.payment.id), "refundId": requested.refund_id}

    pending = provider.stripe(
        "refund.created", {"id": "re_1", "status": "pending", "metadata": metadata}
    )
    listed = provider.stripe(
        "charge.refunded",
        {
            "id": "ch_1",
            "refunds": {"data": [{"id": "re_1", "status": "succeeded", "metadata": metadata}]},
        },
    )
    foreign = provider.stripe(
        "refund.updated", {"id": "re_9", "status": "succeeded", "metadata": {}}
    )

    assert pending.status is InboxStatus.IGNORED
    assert listed.status is InboxStatus.PROCESSED
    assert foreign.status is InboxStatus.IGNORED
    assert shop.payment(placed).status is PaymentStatus.REFUNDED
    assert shop.order(placed).status is OrderStatus.REFUNDED
