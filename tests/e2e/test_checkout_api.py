"""The happy path over HTTP: checkout, read the order and its payment, cancel."""

from __future__ import annotations

import uuid

from domain import Order, Payment
from tests.e2e.conftest import RunningApi


def _customer() -> str:
    return f"cust-{uuid.uuid4().hex[:8]}"


def test_checkout_answers_201_with_the_contract_body(api: RunningApi) -> None:
    response = api.checkout(
        _customer(), [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}]
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"orderId", "status", "amount", "currency", "lines", "payment"}
    assert body["status"] == "PENDING_PAYMENT"
    assert body["amount"] == 2 * 1250 + 499
    assert body["currency"] == "USD"
    assert body["lines"] == [
        {"sku": "SKU-1", "quantity": 2, "unitAmount": 1250, "vendorId": "vendor-a"},
        {"sku": "SKU-2", "quantity": 1, "unitAmount": 499, "vendorId": "vendor-b"},
    ]
    order_id = uuid.UUID(body["orderId"])
    assert body["payment"] == {
        "paymentId": str(Payment.id_for(order_id)),
        "provider": "stripe",
        "status": "processing",
    }
    assert int(response.headers["X-Log-Position"]) == api.head()
    assert "Idempotent-Replayed" not in response.headers
    assert api.container.app.load(Order, order_id).customer_id


def test_reading_an_order_right_after_checkout_never_404s(api: RunningApi) -> None:
    customer = _customer()
    for _ in range(5):
        placed = api.checkout(customer, [{"sku": "SKU-1", "quantity": 1}], provider="razorpay")
        assert placed.status_code == 201
        position = placed.headers["X-Log-Position"]
        order_id = placed.json()["orderId"]

        response = api.client.get(
            f"/orders/{order_id}", headers=api.auth(customer) | {"X-Log-Position": position}
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["orderId"] == order_id
        assert body["status"] == "PENDING_PAYMENT"
        assert body["amount"] == 1250
        assert body["lines"] == placed.json()["lines"]
        assert body["payment"] == placed.json()["payment"]
        assert body["createdAt"].endswith("Z")
        assert body["updatedAt"] >= body["createdAt"]


def test_min_position_query_parameter_waits_like_the_header(api: RunningApi) -> None:
    customer = _customer()
    placed = api.checkout(customer, [{"sku": "SKU-1", "quantity": 1}])
    order_id = placed.json()["orderId"]

    response = api.client.get(
        f"/orders/{order_id}",
        params={"minPosition": placed.headers["X-Log-Position"]},
        headers=api.auth(customer),
    )

    assert response.status_code == 200


def test_payment_status_has_every_contract_field_with_nulls_for_unknowns(
    api: RunningApi,
) -> None:
    customer = _customer()
    placed = api.checkout(customer, [{"sku": "SKU-2", "quantity": 2}])
    order_id = placed.json()["orderId"]

    response = api.client.get(
        f"/orders/{order_id}/payments",
        headers=api.auth(customer) | {"X-Log-Position": placed.headers["X-Log-Position"]},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "orderId",
        "paymentId",
        "status",
        "provider",
        "amount",
        "currency",
        "gatewayOrderId",
        "gatewayPaymentId",
        "metadata",
        "razorpayKeyId",
        "refundedAmount",
        "capturedAmount",  # an extension: what was captured (a partial manual capture)
        "failureReason",
        "updatedAt",
        "disputes",  # an extension: chargebacks of the payment
    }
    assert body["disputes"] == []
    assert body["orderId"] == order_id
    assert body["paymentId"] == placed.json()["payment"]["paymentId"]
    assert (body["status"], body["provider"]) == ("processing", "stripe")
    assert (body["amount"], body["currency"], body["refundedAmount"]) == (998, "USD", 0)
    assert body["gatewayOrderId"] is None
    assert body["gatewayPaymentId"] is None
    assert body["metadata"] == {"stripeClientSecret": None}
    assert body["razorpayKeyId"] is None
    assert body["failureReason"] is None
    assert body["capturedAmount"] is None


def test_cancel_releases_the_stock_for_the_next_customer(api: RunningApi) -> None:
    first, second = _customer(), _customer()
    placed = api.checkout(first, [{"sku": "SKU-2", "quantity": 5}])
    assert placed.status_code == 201
    assert api.checkout(second, [{"sku": "SKU-2", "quantity": 5}]).status_code == 409
    order_id = placed.json()["orderId"]

    cancelled = api.client.post(f"/orders/{order_id}/cancel", headers=api.auth(first))

    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["orderId"] == order_id
    assert body["status"] == "CANCELLED"
    assert body["payment"]["paymentId"] == placed.json()["payment"]["paymentId"]
    assert int(cancelled.headers["X-Log-Position"]) == api.head()
    assert api.stock("SKU-2").available == 5
    assert api.checkout(second, [{"sku": "SKU-2", "quantity": 5}]).status_code == 201
    read = api.client.get(
        f"/orders/{order_id}",
        headers=api.auth(first) | {"X-Log-Position": cancelled.headers["X-Log-Position"]},
    )
    assert read.json()["status"] == "CANCELLED"


def test_cancelling_twice_is_a_conflict_that_writes_nothing(api: RunningApi) -> None:
    customer = _customer()
    order_id = api.checkout(customer, [{"sku": "SKU-1", "quantity": 1}]).json()["orderId"]
    assert api.client.post(f"/orders/{order_id}/cancel", headers=api.auth(customer)).is_success
    before = api.head()

    again = api.client.post(f"/orders/{order_id}/cancel", headers=api.auth(customer))

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["status"] == 409
    assert api.head() == before
