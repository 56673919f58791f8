"""Each event type lands in both views, in the CONTRACT's shapes."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from domain import Order
from projections import ALL_PROJECTIONS
from projections.queries import OrderQueries, PaymentQueries
from projections.runner import ProjectionRunner, position
from projections.schema import order_view
from tests.integration.projections.histories import Histories

ORDER_KEYS = {
    "orderId",
    "status",
    "amount",
    "currency",
    "lines",
    "createdAt",
    "updatedAt",
    "payment",
}
PAYMENT_KEYS = {
    "orderId", "paymentId", "status", "provider", "amount", "currency", "gatewayOrderId",
    "gatewayPaymentId", "metadata", "razorpayKeyId", "refundedAmount", "capturedAmount",
    "failureReason", "updatedAt", "disputes",
}  # fmt: skip


def rfc3339(event: Any) -> str:
    return str(event.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z"))


@pytest.fixture
def project(app: CheckoutApplication, db: Engine) -> Any:
    def catch_up() -> None:
        for projection in ALL_PROJECTIONS:
            ProjectionRunner(app, db, projection).catch_up()

    return catch_up


def order_body(db: Engine, order: Order) -> dict[str, Any]:
    record = OrderQueries(db).get(order.id)
    assert record is not None
    assert record.customer_id == order.customer_id
    assert set(record.body) == ORDER_KEYS
    return record.body


def payment_body(db: Engine, order: Order) -> dict[str, Any]:
    record = PaymentQueries(db).get(str(order.id))
    assert record is not None
    assert record.customer_id == order.customer_id
    assert set(record.body) == PAYMENT_KEYS
    return record.body


def test_a_placed_order_is_pending_with_a_processing_payment(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, payment = histories.place(customer_id="customer-7")
    project()

    body = order_body(db, order)
    assert body == {
        "orderId": str(order.id),
        "status": "PENDING_PAYMENT",
        "amount": 4000,
        "currency": "USD",
        "lines": [
            {"sku": "SKU-A", "quantity": 2, "unitAmount": 1500, "vendorId": "vendor-a"},
            {"sku": "SKU-B", "quantity": 1, "unitAmount": 1000, "vendorId": "vendor-b"},
        ],
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
        "payment": {"paymentId": str(payment.id), "provider": "stripe", "status": "processing"},
    }
    assert body["createdAt"].endswith("Z")
    assert body["createdAt"] <= body["updatedAt"]
    assert payment_body(db, order) == {
        "orderId": str(order.id),
        "paymentId": str(payment.id),
        "status": "processing",
        "provider": "stripe",
        "amount": 4000,
        "currency": "USD",
        "gatewayOrderId": None,
        "gatewayPaymentId": None,
        "metadata": {"stripeClientSecret": None},
        "razorpayKeyId": None,
        "refundedAmount": 0,
        "capturedAmount": None,
        "failureReason": None,
        "updatedAt": payment_body(db, order)["updatedAt"],
        "disputes": [],
    }


def test_timestamps_come_from_the_events(histories: Histories, db: Engine, project: Any) -> None:
    order, payment = histories.place()
    histories.open_provider_order(payment)
    project()

    order_events = list(histories.app.events.get(order.id))
    payment_events = list(histories.app.events.get(payment.id))
    assert order_body(db, order)["createdAt"] == rfc3339(order_events[0])
    assert order_body(db, order)["updatedAt"] == rfc3339(payment_events[-1])
    assert payment_body(db, order)["updatedAt"] == rfc3339(payment_events[-1])


def test_a_stripe_provider_order_makes_the_payment_pending_with_its_client_secret(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, payment = histories.place()
    histories.open_provider_order(payment)
    project()

    body = payment_body(db, order)
    tag = payment.id.hex[:12]
    assert body["status"] == "pending"
    assert body["gatewayOrderId"] == f"pi_{tag}"
    assert body["gatewayPaymentId"] == f"pi_{tag}"
    assert body["metadata"] == {"stripeClientSecret": f"pi_secret_{tag}"}
    assert body["razorpayKeyId"] is None
    assert order_body(db, order)["payment"]["status"] == "pending"


def test_a_razorpay_provider_order_carries_the_key_id(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, payment = histories.place(provider="razorpay")
    histories.open_provider_order(payment)
    project()

    body = payment_body(db, order)
    assert body["provider"] == "razorpay"
    assert body["status"] == "pending"
    assert body["gatewayOrderId"] == f"order_{payment.id.hex[:12]}"
    assert body["gatewayPaymentId"] is None
    assert body["metadata"] == {"stripeClientSecret": None}
    assert body["razorpayKeyId"] == "rzp_test_key"


def test_a_success_confirms_the_order(histories: Histories, db: Engine, project: Any) -> None:
    order, payment = histories.paid_order()
    project()

    body = payment_body(db, order)
    assert body["status"] == "succeeded"
    assert body["gatewayPaymentId"] == f"pi_{payment.id.hex[:12]}"
    assert body["failureReason"] is None
    assert order_body(db, order)["status"] == "PAYMENT_CONFIRMED"
    assert order_body(db, order)["payment"]["status"] == "succeeded"


def test_a_declined_attempt_fails_the_payment_and_a_retry_clears_the_reason(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, payment = histories.place()
    histories.open_provider_order(payment)
    payment.fail_attempt("card_declined", "pi_x")
    histories.app.save(payment)
    project()

    assert payment_body(db, order)["status"] == "failed"
    assert payment_body(db, order)["failureReason"] == "card_declined"
    assert order_body(db, order)["status"] == "PENDING_PAYMENT"
    assert order_body(db, order)["payment"]["status"] == "failed"

    histories.pay(order, payment)
    project()
    assert payment_body(db, order)["failureReason"] is None
    assert payment_body(db, order)["status"] == "succeeded"


def test_a_provider_refusal_fails_the_payment(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, payment = histories.place()
    payment.fail_creation("invalid_request")
    histories.app.save(payment)
    project()

    assert payment_body(db, order)["status"] == "failed"
    assert payment_body(db, order)["failureReason"] == "invalid_request"
    assert order_body(db, order)["payment"]["status"] == "failed"


def test_a_cancelled_order(histories: Histories, db: Engine, project: Any) -> None:
    order, _ = histories.place()
    histories.cancel(order, "expired")
    project()

    assert order_body(db, order)["status"] == "CANCELLED"


def test_a_cancel_reason_with_a_nul_from_an_older_release_is_stored_without_it(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, _ = histories.place()
    # Order.cancel refuses such a reason now; an older release recorded it as sent.
    order.trigger_event(Order.Cancelled, reason="void\x00ed", actor="admin:ops")
    histories.app.save(order)
    project()

    assert order_body(db, order)["status"] == "CANCELLED"
    with db.connect() as conn:
        stored = conn.execute(
            sa.select(order_view.c.cancel_reason).where(order_view.c.order_id == order.id)
        ).scalar()
    assert stored == "voided"


def test_refunds_partial_then_full(histories: Histories, db: Engine, project: Any) -> None:
    order, payment = histories.paid_order()
    histories.refund(order, payment, 1500)
    failed = "re_failed"
    payment.request_refund(failed, 500)
    payment.fail_refund(failed, "insufficient_balance")
    histories.app.save(payment)
    project()

    assert payment_body(db, order)["status"] == "partially_refunded"
    assert payment_body(db, order)["refundedAmount"] == 1500
    assert order_body(db, order)["status"] == "PARTIALLY_REFUNDED"
    assert order_body(db, order)["payment"]["status"] == "partially_refunded"

    histories.refund(order, payment, 2500)
    project()
    assert payment_body(db, order)["status"] == "refunded"
    assert payment_body(db, order)["refundedAmount"] == 4000
    assert order_body(db, order)["status"] == "REFUNDED"
    assert order_body(db, order)["payment"]["status"] == "refunded"


def test_a_payment_logged_before_its_order_still_gets_its_owner(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, payment = histories.place(customer_id="customer-early", payment_first=True)
    project()

    assert payment_body(db, order)["paymentId"] == str(payment.id)
    assert order_body(db, order)["payment"]["status"] == "processing"


def test_unknown_orders_are_none(histories: Histories, db: Engine, project: Any) -> None:
    project()
    assert OrderQueries(db).get("not-a-uuid") is None
    assert OrderQueries(db).get(uuid4()) is None
    assert PaymentQueries(db).get("00000000-0000-0000-0000-000000000000") is None


def test_events_no_view_uses_still_advance_the_position(
    histories: Histories, app: CheckoutApplication, db: Engine, project: Any
) -> None:
    histories.products["SKU-A"].update(unit_amount=1600)
    app.save(histories.products["SKU-A"])
    project()

    for projection in ALL_PROJECTIONS:
        assert position(db, projection.name) == app.head_position()
    assert OrderQueries(db).list()[0] == []
