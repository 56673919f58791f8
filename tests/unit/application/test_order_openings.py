"""The batched create (application.order_openings), against the in-memory gateway: every
payment gets its own result, and the batch is recorded in one save unless one conflicts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from application.order_openings import Opening, OrderOpenings
from application.ports import (
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from application.provider_calls import ProviderCalls
from domain import PaymentStatus
from tests.fakes import FakeGateway
from tests.unit.application.purchases import ProviderCallsFor, Purchases


def test_each_payment_of_a_batch_gets_its_own_result(
    purchases: Purchases,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
    razorpay: FakeGateway,
) -> None:
    made, refused = purchases.place("stripe"), purchases.place("stripe")
    failing, done = purchases.place("razorpay"), purchases.place("razorpay")
    purchases.cancel(done)
    razorpay.fail_next("create_order", TransientProviderError("razorpay answered 503"))
    stripe.fail_next("create_order", PermanentProviderError("Invalid currency"))
    batch = [failing, refused, made, done]

    results = OrderOpenings(provider_calls).open([Opening(p.payment.id) for p in batch])

    assert isinstance(results[failing.payment.id], TransientProviderError)
    assert isinstance(results[refused.payment.id], PermanentProviderError)
    [intent] = stripe.objects_for(made.payment.id)
    assert results[made.payment.id] == f"created {intent}"
    assert results[done.payment.id] == "nothing to do: payment is canceled"
    assert purchases.payment(failing).status is PaymentStatus.PROCESSING
    failed = purchases.payment(refused)
    assert (failed.status, failed.failure_reason) == (PaymentStatus.FAILED, "Invalid currency")
    assert purchases.payment(made).gateway_order_id == intent


def test_a_payment_whose_provider_is_not_configured_holds_back_no_other(
    purchases: Purchases, provider_calls_for: ProviderCallsFor, stripe: FakeGateway
) -> None:
    by_stripe, by_razorpay = purchases.place("stripe"), purchases.place("razorpay")
    calls = provider_calls_for({"stripe": stripe})

    results = OrderOpenings(calls).open(
        [Opening(by_razorpay.payment.id), Opening(by_stripe.payment.id)]
    )

    assert isinstance(results[by_razorpay.payment.id], ProviderNotConfigured)
    assert purchases.payment(by_stripe).status is PaymentStatus.PENDING


def test_the_first_claim_asks_for_no_look_up_and_a_retry_does(
    purchases: Purchases, provider_calls: ProviderCalls, stripe: FakeGateway
) -> None:
    first, retried = purchases.place(), purchases.place()

    OrderOpenings(provider_calls).open(
        [Opening(first.payment.id, first_attempt=True), Opening(retried.payment.id)]
    )

    sent = {r.payment_id: r.first_attempt for r in stripe.calls_of("create_order")}  # type: ignore[attr-defined]
    assert sent == {first.payment.id: True, retried.payment.id: False}


def test_the_calls_run_as_the_caller_runs_them(
    purchases: Purchases, provider_calls: ProviderCalls
) -> None:
    placed = [purchases.place("stripe"), purchases.place("razorpay"), purchases.place("stripe")]
    runs: list[int] = []

    def run(thunks: Sequence[Callable[[], Any]]) -> list[Any]:
        runs.append(len(thunks))
        return [thunk() for thunk in thunks]

    OrderOpenings(provider_calls).open([Opening(p.payment.id) for p in placed], run)

    assert runs == [3], "one call of the runner for the whole batch"
    assert all(purchases.payment(p).status is PaymentStatus.PENDING for p in placed)
