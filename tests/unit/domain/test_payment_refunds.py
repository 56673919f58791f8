from __future__ import annotations

import pytest

from domain import (
    InvalidAmount,
    InvalidTransition,
    OrderStatus,
    Payment,
    PaymentStatus,
    RefundConflict,
    RefundExceedsCaptured,
    UnknownRefund,
)
from tests.unit.domain.builders import paid_pair, status_of


def paid() -> Payment:
    return paid_pair()[1]


def test_requested_refund_is_pending_and_reserves_the_amount() -> None:
    payment = paid()
    assert payment.request_refund("r1", 1500) is True
    assert payment.refunds["r1"] == {
        "amount": 1500,
        "status": "pending",
        "gateway_refund_id": None,
        "failure_reason": None,
        "reason": None,
        "actor": "unknown",
        "kind": "requested",
        "charge": None,
        "currency": None,
        "fingerprint": None,
    }
    assert payment.status is PaymentStatus.SUCCEEDED
    assert (payment.refund_pending_amount, payment.refundable, payment.refunded_amount) == (
        1500,
        2500,
        0,
    )


def test_completed_refunds_move_to_partially_refunded_then_refunded() -> None:
    payment = paid()
    payment.request_refund("r1", 1500)
    assert payment.complete_refund("r1", "re_1") is True
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (payment.refunded_amount, payment.refundable) == (1500, 2500)
    assert payment.refunds["r1"]["gateway_refund_id"] == "re_1"
    payment.request_refund("r2", 2500)
    payment.complete_refund("r2", "re_2")
    assert status_of(payment) is PaymentStatus.REFUNDED
    assert (payment.refunded_amount, payment.refundable) == (4000, 0)


def test_pending_and_succeeded_refunds_never_exceed_captured() -> None:
    payment = paid()
    payment.request_refund("r1", 3000)
    payment.complete_refund("r1", "re_1")
    payment.request_refund("r2", 900)
    with pytest.raises(RefundExceedsCaptured) as caught:
        payment.request_refund("r3", 101)
    assert (caught.value.requested, caught.value.refundable) == (101, 100)
    assert "r3" not in payment.refunds


def test_failed_refund_frees_the_amount() -> None:
    payment = paid()
    payment.request_refund("r1", 4000)
    assert payment.fail_refund("r1", "insufficient balance") is True
    assert payment.refunds["r1"]["status"] == "failed"
    assert payment.refunds["r1"]["failure_reason"] == "insufficient balance"
    assert payment.refundable == 4000
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.request_refund("r2", 4000) is True


def test_repeated_notices_are_no_ops() -> None:
    payment = paid()
    payment.request_refund("r1", 100)
    assert payment.request_refund("r1", 100) is False
    payment.complete_refund("r1", "re_1")
    version = payment.version
    assert payment.complete_refund("r1", "re_1") is False
    payment.request_refund("r2", 100)
    payment.fail_refund("r2", "declined")
    assert payment.fail_refund("r2", "declined") is False
    assert payment.version == version + 2
    assert payment.refunded_amount == 100


def test_reusing_a_refund_id_for_another_amount_conflicts() -> None:
    payment = paid()
    payment.request_refund("r1", 100)
    with pytest.raises(RefundConflict):
        payment.request_refund("r1", 200)


@pytest.mark.parametrize("amount", [0, -1, 2.5])
def test_refund_amount_must_be_positive_int(amount: int) -> None:
    with pytest.raises(InvalidAmount):
        paid().request_refund("r1", amount)


def test_unknown_refunds_cannot_complete_or_fail() -> None:
    payment = paid()
    with pytest.raises(UnknownRefund):
        payment.complete_refund("nope", "re_1")
    with pytest.raises(UnknownRefund):
        payment.fail_refund("nope", "x")


def test_a_failed_refund_cannot_complete_and_a_completed_one_cannot_fail() -> None:
    payment = paid()
    payment.request_refund("r1", 100)
    payment.fail_refund("r1", "declined")
    with pytest.raises(InvalidTransition):
        payment.complete_refund("r1", "re_1")
    payment.request_refund("r2", 100)
    payment.complete_refund("r2", "re_2")
    with pytest.raises(InvalidTransition):
        payment.fail_refund("r2", "late")


def test_no_refund_after_full_refund() -> None:
    payment = paid()
    payment.request_refund("r1", 4000)
    payment.complete_refund("r1", "re_1")
    with pytest.raises(InvalidTransition):
        payment.request_refund("r2", 1)


def test_order_mirrors_completed_refunds() -> None:
    order, payment = paid_pair()
    payment.request_refund("r1", 1000)
    payment.complete_refund("r1", "re_1")
    order.record_refund(payment.refunds["r1"]["amount"])
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert order.refunded_total == payment.refunded_amount
