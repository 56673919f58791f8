"""Razorpay manual capture through razorpay-python: the order's capture settings, an authorized
payment, ``POST /v1/payments/:id/capture`` and its refusals, and the refund of a payment left
uncaptured past its window."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import razorpay

from .conftest import RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, Sandbox, unique

MANUAL = {"capture": "manual", "capture_options": {"refund_speed": "normal"}}
DAY = 86400


def _order(client: razorpay.Client, amount: int = 50000, **fields: Any) -> dict[str, Any]:
    order: dict[str, Any] = client.order.create(
        {"amount": amount, "currency": "INR", "receipt": unique("rcpt"), **fields}
    )
    return order


def _pay(sandbox: Sandbox, order_id: str, **body: Any) -> str:
    response = httpx.post(f"{sandbox.razorpay_base}/v1/sandbox/orders/{order_id}/pay", json=body)
    response.raise_for_status()
    payment_id: str = response.json()["razorpay_payment_id"]
    return payment_id


def _api(sandbox: Sandbox, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(
        method,
        f"{sandbox.razorpay_base}{path}",
        json=body,
        auth=(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET),
    )


def _events(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Razorpay's events as recorded, oldest first."""
    return [e["body"] for e in sandbox.control("GET", "/events", provider="razorpay")["events"]]


def _event_types(sandbox: Sandbox) -> list[str]:
    return [e["event"] for e in _events(sandbox)]


def test_paying_a_manual_capture_order_only_authorizes(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, payment=MANUAL)

    payment_id = _pay(sandbox, order["id"])

    payment = razorpay_client.payment.fetch(payment_id)
    assert (payment["status"], payment["captured"], payment["fee"]) == ("authorized", False, None)
    after = razorpay_client.order.fetch(order["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("attempted", 0, 50000)
    assert _event_types(sandbox) == ["payment.authorized"]


@pytest.mark.parametrize("flag", [0, False, "0"])
def test_the_legacy_payment_capture_flag_off_means_manual(
    sandbox: Sandbox, razorpay_client: razorpay.Client, flag: Any
) -> None:
    order = _order(razorpay_client, payment_capture=flag)

    payment_id = _pay(sandbox, order["id"])

    assert razorpay_client.payment.fetch(payment_id)["status"] == "authorized"


@pytest.mark.parametrize(
    "fields",
    [
        {"payment_capture": 1},
        {"payment": {"capture": "automatic"}},
        {
            "payment": {
                "capture": "automatic",
                "capture_options": {"automatic_expiry_period": 12, "refund_speed": "optimum"},
            }
        },
    ],
)
def test_an_automatic_capture_order_is_captured_and_paid_at_once(
    sandbox: Sandbox, razorpay_client: razorpay.Client, fields: dict[str, Any]
) -> None:
    order = _order(razorpay_client, **fields)

    payment_id = _pay(sandbox, order["id"])

    assert razorpay_client.payment.fetch(payment_id)["status"] == "captured"
    assert razorpay_client.order.fetch(order["id"])["status"] == "paid"
    assert _event_types(sandbox) == ["payment.authorized", "payment.captured", "order.paid"]


@pytest.mark.parametrize(
    ("payment", "field", "description"),
    [
        ({"capture": "later"}, "payment.capture", "The selected payment.capture is invalid."),
        ({}, "payment.capture", "The payment.capture field is required."),
        ("manual", "payment", "The payment must be an array."),
        (
            {"capture": "manual", "capture_options": {}},
            "payment.capture_options.refund_speed",
            "The payment.capture_options.refund_speed field is required.",
        ),
        (
            {"capture": "manual", "capture_options": {"refund_speed": "fast"}},
            "payment.capture_options.refund_speed",
            "The selected payment.capture_options.refund_speed is invalid.",
        ),
        (
            {"capture": "automatic", "capture_options": {"refund_speed": "normal"}},
            "payment.capture_options.automatic_expiry_period",
            "The payment.capture_options.automatic_expiry_period field is required.",
        ),
        (
            {
                "capture": "manual",
                "capture_options": {"manual_expiry_period": 11, "refund_speed": "normal"},
            },
            "payment.capture_options.manual_expiry_period",
            "The payment.capture_options.manual_expiry_period must be at least 12.",
        ),
        (
            {"capture": "manual", "colour": "blue"},
            "colour",
            "colour is/are not required and should not be sent",
        ),
    ],
)
def test_capture_settings_are_validated_like_razorpays(
    sandbox: Sandbox, payment: Any, field: str, description: str
) -> None:
    answer = _api(
        sandbox, "POST", "/v1/orders", {"amount": 50000, "currency": "INR", "payment": payment}
    )

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["field"], error["description"]) == (
        "BAD_REQUEST_ERROR",
        field,
        description,
    )


def test_capturing_an_authorized_payment_captures_it_and_pays_the_order(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, payment=MANUAL)
    payment_id = _pay(sandbox, order["id"])

    captured = razorpay_client.payment.capture(payment_id, 50000, {"currency": "INR"})

    assert (captured["id"], captured["status"], captured["captured"]) == (
        payment_id,
        "captured",
        True,
    )
    assert (captured["fee"], captured["tax"]) == (1000, 153)
    after = razorpay_client.order.fetch(order["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("paid", 50000, 0)
    assert _event_types(sandbox) == ["payment.authorized", "payment.captured", "order.paid"]
    paid = _events(sandbox)[-1]["payload"]
    assert paid["order"]["entity"]["status"] == "paid"
    assert paid["payment"]["entity"]["status"] == "captured"


def test_a_captured_payment_can_then_be_refunded(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, payment=MANUAL)
    payment_id = _pay(sandbox, order["id"])
    refused = _api(sandbox, "POST", f"/v1/payments/{payment_id}/refund", {"amount": 1000})
    razorpay_client.payment.capture(payment_id, 50000, {"currency": "INR"})

    refund = razorpay_client.payment.refund(payment_id, {"amount": 1000})

    assert refused.status_code == 400
    assert refund["amount"] == 1000


def test_capturing_twice_is_refused(sandbox: Sandbox, razorpay_client: razorpay.Client) -> None:
    order = _order(razorpay_client, payment=MANUAL)
    payment_id = _pay(sandbox, order["id"])
    razorpay_client.payment.capture(payment_id, 50000, {"currency": "INR"})

    with pytest.raises(razorpay.errors.BadRequestError) as raised:
        razorpay_client.payment.capture(payment_id, 50000, {"currency": "INR"})

    assert str(raised.value) == "This payment has already been captured"
    assert _event_types(sandbox).count("payment.captured") == 1


def test_an_automatically_captured_payment_cannot_be_captured_again(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client)
    payment_id = _pay(sandbox, order["id"])

    answer = _api(
        sandbox, "POST", f"/v1/payments/{payment_id}/capture", {"amount": 50000, "currency": "INR"}
    )

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["description"]) == (
        "BAD_REQUEST_ERROR",
        "This payment has already been captured",
    )


def test_a_failed_payment_cannot_be_captured(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, payment=MANUAL)
    failed = httpx.post(
        f"{sandbox.razorpay_base}/v1/sandbox/orders/{order['id']}/pay", json={"outcome": "failure"}
    )
    payment_id = failed.json()["error"]["metadata"]["payment_id"]

    with pytest.raises(razorpay.errors.BadRequestError) as raised:
        razorpay_client.payment.capture(payment_id, 50000, {"currency": "INR"})

    assert "Only payments which have been authorized" in str(raised.value)


@pytest.mark.parametrize(
    ("body", "field", "description"),
    [
        (
            {"amount": 40000, "currency": "INR"},
            "amount",
            "Capture amount must be equal to the amount authorized",
        ),
        (
            {"amount": 50001, "currency": "INR"},
            "amount",
            "Capture amount must be equal to the amount authorized",
        ),
        (
            {"amount": 50000, "currency": "USD"},
            "currency",
            "Currency should be same as the payment currency",
        ),
        ({"currency": "INR"}, "amount", "The amount field is required."),
        ({"amount": 50000}, "currency", "The currency field is required."),
        ({"amount": "lots", "currency": "INR"}, "amount", "The amount must be an integer."),
        (
            {"amount": 50000, "currency": "INR", "speed": "fast"},
            "speed",
            "speed is/are not required and should not be sent",
        ),
    ],
)
def test_a_capture_must_name_the_authorized_amount_and_currency(
    sandbox: Sandbox,
    razorpay_client: razorpay.Client,
    body: dict[str, Any],
    field: str,
    description: str,
) -> None:
    order = _order(razorpay_client, payment=MANUAL)
    payment_id = _pay(sandbox, order["id"])

    answer = _api(sandbox, "POST", f"/v1/payments/{payment_id}/capture", body)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["field"], error["description"]) == (
        "BAD_REQUEST_ERROR",
        field,
        description,
    )
    assert razorpay_client.payment.fetch(payment_id)["status"] == "authorized"


def test_capturing_an_unknown_payment_is_a_bad_request(sandbox: Sandbox) -> None:
    answer = _api(
        sandbox,
        "POST",
        "/v1/payments/pay_doesnotexist01/capture",
        {"amount": 100, "currency": "INR"},
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["description"] == "The id provided does not exist"


def test_an_uncaptured_payment_is_refunded_after_five_days(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, payment=MANUAL)
    payment_id = _pay(sandbox, order["id"])

    early = sandbox.control("POST", "/clock/advance", json={"seconds": 5 * DAY - 60})
    late = sandbox.control("POST", "/clock/advance", json={"seconds": 120})

    assert early["refunded_authorized_payments"] == []
    assert late["refunded_authorized_payments"] == [payment_id]
    payment = razorpay_client.payment.fetch(payment_id)
    assert (payment["status"], payment["captured"]) == ("refunded", False)
    assert (payment["amount_refunded"], payment["refund_status"]) == (50000, "full")
    [refund] = razorpay_client.payment.fetch_multiple_refund(payment_id)["items"]
    assert (refund["amount"], refund["status"]) == (50000, "processed")
    assert _event_types(sandbox) == ["payment.authorized", "refund.created", "refund.processed"]
    assert razorpay_client.order.fetch(order["id"])["status"] == "attempted"
    with pytest.raises(razorpay.errors.BadRequestError):
        razorpay_client.payment.capture(payment_id, 50000, {"currency": "INR"})


def test_the_orders_manual_expiry_period_sets_the_capture_window(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    options = {"manual_expiry_period": 30, "refund_speed": "optimum"}
    order = _order(razorpay_client, payment={"capture": "manual", "capture_options": options})
    payment_id = _pay(sandbox, order["id"])

    early = sandbox.control("POST", "/clock/advance", json={"seconds": 29 * 60})
    late = sandbox.control("POST", "/clock/advance", json={"seconds": 2 * 60})

    assert early["refunded_authorized_payments"] == []
    assert late["refunded_authorized_payments"] == [payment_id]
    [refund] = razorpay_client.payment.fetch_multiple_refund(payment_id)["items"]
    assert refund["speed_requested"] == "optimum"


def test_a_payment_captured_in_time_is_not_refunded(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = _order(razorpay_client, payment=MANUAL)
    payment_id = _pay(sandbox, order["id"])
    razorpay_client.payment.capture(payment_id, 50000, {"currency": "INR"})

    later = sandbox.control("POST", "/clock/advance", json={"seconds": 6 * DAY})

    assert later["refunded_authorized_payments"] == []
    assert razorpay_client.payment.fetch(payment_id)["status"] == "captured"


def test_one_refund_of_a_payment_can_be_fetched(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    payment_id = _pay(sandbox, _order(razorpay_client)["id"])
    other_id = _pay(sandbox, _order(razorpay_client)["id"])
    refund = razorpay_client.payment.refund(payment_id, {"amount": 1000})

    fetched = razorpay_client.payment.fetch_refund_id(payment_id, refund["id"])
    elsewhere = _api(sandbox, "GET", f"/v1/payments/{other_id}/refunds/{refund['id']}")
    unknown = _api(sandbox, "GET", f"/v1/payments/{payment_id}/refunds/rfnd_doesnotexist01")

    assert fetched == refund
    for answer in (elsewhere, unknown):
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert (error["code"], error["description"]) == (
            "BAD_REQUEST_ERROR",
            "The id provided does not exist",
        )


def test_an_unknown_url_is_a_bad_request(sandbox: Sandbox) -> None:
    answer = _api(sandbox, "GET", "/v1/no_such_things")

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["description"]) == (
        "BAD_REQUEST_ERROR",
        "The requested URL was not found on the server.",
    )
