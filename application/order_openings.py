"""Opening several payments' provider orders at once: the batched worker's create calls.

The same use case as ``ProviderCalls.open_order``, for a batch, in the same steps:

1. load each payment and its order, and skip those with nothing left to do;
2. call the providers, as ``run_calls`` runs them (the worker: at once, on its pool);
3. keep every call's evidence, in one write, before any event that names it is saved;
4. record every answer, created or refused for good, in one ``app.save`` (one transaction),
   each payment at the version step 1 loaded: an order that ended while we called (which
   writes its payment too) makes that save conflict.

A conflict in step 4 (a webhook, a cancel or another executor saved one of the payments
meanwhile) must not lose the others' answers: the batch is then recorded one payment at a
time, each reloaded, as ``open_order`` records (``ProviderCalls.record``). Recording is
idempotent either way, so an executor whose lease ran out records nothing twice.

Each payment's result is a note (done) or the exception its call raised, for the caller to
settle its task with; a PermanentProviderError has been recorded when it is returned. An
exception that is no ``Exception`` (the process dying) stops the whole batch, leaving every
task leased for another executor to complete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from application.crash_points import crash_point
from application.ports import (
    Evidence,
    PermanentProviderError,
    ProviderOrder,
    ProviderOrderRequest,
    keep_all,
)
from application.provider_calls import EvidencedCalls, ProviderCalls, origin_of
from domain import Order, OrderStatus, Payment, PaymentStatus
from domain.actors import Origin

T = TypeVar("T")
CallRunner = Callable[[Sequence[Callable[[], Any]]], list[Any]]
Result = str | Exception  # a note for a finished task, or why it did not finish


def one_after_another(thunks: Sequence[Callable[[], Any]]) -> list[Any]:
    return [thunk() for thunk in thunks]


@dataclass(frozen=True)
class Opening:
    """One create task: the payment, and whether no earlier claim of it can have called."""

    payment_id: UUID
    first_attempt: bool = False


@dataclass(eq=False)  # one call is itself: comparing aggregates field by field cost O(n²)
class _Call:
    payment: Payment
    order: Order
    calls: EvidencedCalls
    request: ProviderOrderRequest
    created: ProviderOrder | None = None
    error: Exception | None = None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def origin(self) -> Origin:
        return origin_of(self.evidence)

    def make(self) -> None:
        """The provider call; any failure is this payment's result, not the batch's."""
        try:
            self.created = self.calls.gateway.create_order(self.request)
        except Exception as exc:
            self.error = exc
            return
        crash_point("worker.after_provider_call")


class OrderOpenings:
    def __init__(self, calls: ProviderCalls) -> None:
        self.calls = calls
        self.app = calls.app

    def open(
        self, openings: Sequence[Opening], run_calls: CallRunner = one_after_another
    ) -> dict[UUID, Result]:
        results: dict[UUID, Result] = {}
        payments, orders = self._load(openings)
        pending = [
            call
            for opening in openings
            if (call := self._prepare(opening, payments, orders, results)) is not None
        ]
        run_calls([call.make for call in pending])
        for call in pending:
            call.evidence = call.calls.take()
        if self.calls.evidence is not None:
            keep_all(self.calls.evidence, [e for call in pending for e in call.evidence])
        answered = [call for call in pending if call.created or _refused(call.error)]
        for call in pending:
            if call not in answered:
                assert call.error is not None
                results[call.payment.id] = call.error
        try:
            self._record_together(answered)
        except RecordConflictError:
            for call in answered:
                results[call.payment.id] = self._record_alone(call)
            return results
        for call in answered:
            results[call.payment.id] = self._after_recording(call)
        return results

    def _load(self, openings: Sequence[Opening]) -> tuple[dict[UUID, Payment], dict[UUID, Order]]:
        """The batch's payments, then their orders: two statements for the whole batch
        (new payments and orders have a few events each). A read that fails leaves each
        payment to ``_prepare``, which loads it alone and records its own trouble."""
        try:
            payments = self.app.load_many(Payment, [o.payment_id for o in openings])
            orders = self.app.load_many(Order, [p.order_id for p in payments.values()])
        except Exception:
            return {}, {}
        return payments, orders

    def _prepare(
        self,
        opening: Opening,
        payments: dict[UUID, Payment],
        orders: dict[UUID, Order],
        results: dict[UUID, Result],
    ) -> _Call | None:
        try:
            payment = payments.get(opening.payment_id) or self.app.load(Payment, opening.payment_id)
            if payment.status is not PaymentStatus.PROCESSING:
                results[payment.id] = f"nothing to do: payment is {payment.status.value}"
                return None
            order = orders.get(payment.order_id) or self.app.load(Order, payment.order_id)
            if order.status is not OrderStatus.PENDING_PAYMENT:
                results[payment.id] = f"nothing to do: order is {order.status.value}"
                return None
            calls = self.calls.calls(payment.provider.value)
        except Exception as exc:  # this payment's trouble (not configured, unreadable)
            results[opening.payment_id] = exc
            return None
        request = ProviderOrderRequest(
            payment.id,
            order.id,
            payment.amount,
            payment.currency,
            order.customer_id,
            capture=payment.capture_method.value,
            first_attempt=opening.first_attempt,
        )
        return _Call(payment, order, calls, request)

    def _record_together(self, answered: Sequence[_Call]) -> None:
        """Every answer on the payments as loaded: a change since then conflicts."""
        for call in answered:
            if call.created is not None:
                created = call.created
                call.payment.record_provider_order(
                    created.gateway_order_id,
                    created.gateway_payment_id,
                    created.client_secret,
                    created.key_id,
                    call.origin,
                )
            else:
                assert isinstance(call.error, PermanentProviderError)
                call.payment.fail_creation(call.error.reason, call.origin)
        if answered:
            self.app.save(*(call.payment for call in answered))

    def _record_alone(self, call: _Call) -> Result:
        try:
            if call.created is None:
                assert isinstance(call.error, PermanentProviderError)
                self.calls.creation_failed(call.payment.id, call.error.reason, call.origin)
                return call.error
            return self.calls.record(
                call.payment.id, call.order.id, call.calls, call.created, call.origin
            )
        except Exception as exc:
            return exc

    def _after_recording(self, call: _Call) -> Result:
        """Recorded together: the order is still open, so nothing to cancel.

        The batch saved each payment at the version it loaded before the call, and every
        command that ends an order writes its payment in the same transaction (a cancel or
        expiry cancels it, a capture confirms it): had the order ended while we called,
        that save would have conflicted and the payment gone one by one, through
        ``ProviderCalls.record``, which looks at the order again. A later cancel finds the
        recorded intent, and its cancel task cancels it.
        """
        if call.created is None:
            assert call.error is not None
            return call.error
        return f"created {call.created.gateway_order_id}"


def _refused(error: Exception | None) -> bool:
    return isinstance(error, PermanentProviderError)
