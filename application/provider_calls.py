"""What the worker does with a provider, one use case per kind of call.

Each use case loads the payment, decides whether the call is still needed, calls the
gateway (outside any transaction) and records the provider's answer. Each is safe to run
again after a crash at any point: the gateways find the objects an earlier attempt made,
and recording an answer already recorded changes nothing.

Provider errors propagate, typed: the caller retries a TransientProviderError later. A
PermanentProviderError has already been recorded against the payment (creation failed,
refund failed) when it propagates.

Every gateway call and every hosted-session call, answered or refused, is kept as evidence
(its request and the provider's answer) before the event it leads to is saved; that event
names the worker as its actor and carries the evidence's digest (adr/0016).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from application.application import CheckoutApplication
from application.contention import with_retries
from application.crash_points import crash_point
from application.payments import PaymentOutcomes
from application.ports import (
    CheckoutSessions,
    Evidence,
    EvidenceStore,
    EvidencingSessions,
    PaymentGateway,
    PermanentProviderError,
    ProviderCaptureRequest,
    ProviderNotConfigured,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefundRequest,
    ProviderRefundStatus,
    evidencing,
    keep_all,
)
from application.refunds import Refunds
from domain import (
    InvalidTransition,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Provider,
    RefundStatus,
)
from domain.actors import Origin


class _Evidenced:
    """The evidence a use case's calls handed back, until kept."""

    def __init__(self, store: EvidenceStore | None) -> None:
        self._kept: list[Evidence] = []
        self._store = store

    def keep(self) -> Origin:
        """Store the evidence gathered so far; the worker's origin for the last call."""
        kept = self.take()
        if self._store is not None:
            keep_all(self._store, kept)
        return origin_of(kept)

    def take(self) -> list[Evidence]:
        """The evidence gathered so far, for the caller to keep (several use cases' at once)."""
        taken, self._kept[:] = list(self._kept), []
        return taken


def origin_of(evidence: Sequence[Evidence]) -> Origin:
    """The worker, as the actor of the event the last of these calls led to (adr/0016)."""
    return Origin.worker(evidence[-1].digest if evidence else None)


class EvidencedCalls(_Evidenced):
    """One use case's calls through a gateway, with the evidence each call handed back."""

    def __init__(self, gateway: PaymentGateway, store: EvidenceStore | None) -> None:
        super().__init__(store)
        view = evidencing(gateway)
        self.gateway = gateway if view is None else view.with_evidence(self._kept.append)


class EvidencedSessions(_Evidenced):
    """One use case's calls through the hosted-checkout port, with their evidence."""

    def __init__(self, sessions: CheckoutSessions, store: EvidenceStore | None) -> None:
        super().__init__(store)
        self.sessions = (
            sessions.with_evidence(self._kept.append)
            if isinstance(sessions, EvidencingSessions)
            else sessions
        )


class ProviderCalls:
    def __init__(
        self,
        app: CheckoutApplication,
        gateways: Mapping[str, PaymentGateway],
        sessions: CheckoutSessions | None = None,
        *,
        payments: PaymentOutcomes,
        refunds: Refunds,
        evidence: EvidenceStore | None = None,
    ) -> None:
        self.app = app
        self.gateways = gateways
        self.sessions = sessions
        self.payments = payments
        self.refunds = refunds
        self.evidence = evidence

    def gateway(self, provider: str) -> PaymentGateway:
        try:
            return self.gateways[provider]
        except KeyError:
            raise ProviderNotConfigured(provider) from None

    def calls(self, provider: str) -> EvidencedCalls:
        return EvidencedCalls(self.gateway(provider), self.evidence)

    def open_order(self, payment_id: UUID) -> str:
        """Create the provider order/intent the customer pays, and record it."""
        payment = self.app.load(Payment, payment_id)
        if payment.status is not PaymentStatus.PROCESSING:
            return f"nothing to do: payment is {payment.status.value}"
        order = self.app.load(Order, payment.order_id)
        if order.status is not OrderStatus.PENDING_PAYMENT:
            return f"nothing to do: order is {order.status.value}"
        calls = self.calls(payment.provider.value)
        request = ProviderOrderRequest(
            payment.id,
            order.id,
            payment.amount,
            payment.currency,
            order.customer_id,
            capture=payment.capture_method.value,
        )
        try:
            created = calls.gateway.create_order(request)
            crash_point("worker.after_provider_call")
        except PermanentProviderError as exc:
            self.creation_failed(payment_id, exc.reason, calls.keep())
            raise
        except Exception:
            calls.keep()  # a transient failure is evidence too
            raise
        return self.record(payment_id, order.id, calls, created, calls.keep())

    def record(
        self,
        payment_id: UUID,
        order_id: UUID,
        calls: EvidencedCalls,
        created: ProviderOrder,
        origin: Origin,
    ) -> str:
        try:
            self.payments.provider_order_created(
                payment_id,
                created.gateway_order_id,
                created.gateway_payment_id,
                created.client_secret,
                created.key_id,
                origin,
            )
        except InvalidTransition as exc:  # a provider notice moved the payment on first
            return f"created {created.gateway_order_id}, not recorded: {exc}"
        return self.cancel_if_ended(order_id, calls, created)

    def cancel_if_ended(self, order_id: UUID, calls: EvidencedCalls, created: ProviderOrder) -> str:
        """Once ``created`` is recorded: cancel it if its order ended while we called."""
        if self.app.load(Order, order_id).status is not OrderStatus.PENDING_PAYMENT:
            # Cancelled while we called: its cancel task may have found nothing to cancel.
            try:
                calls.gateway.cancel(created.gateway_order_id)
            finally:
                calls.keep()
            return f"created {created.gateway_order_id}, cancelled: the order ended meanwhile"
        return f"created {created.gateway_order_id}"

    def creation_failed(self, payment_id: UUID, reason: str, origin: Origin | None = None) -> None:
        def attempt() -> None:
            payment = self.app.load(Payment, payment_id)
            if payment.status is PaymentStatus.PROCESSING:
                payment.fail_creation(reason, origin or Origin.worker())
                self.app.save(payment)

        with_retries(attempt)

    def cancel_order(self, payment_id: UUID) -> str:
        """Make the cancelled order's provider objects unpayable: its intent and sessions."""
        payment = self.app.load(Payment, payment_id)
        expired = self._expire_sessions(payment)
        if payment.gateway_order_id is None:
            # Not created yet: open_order sees the cancelled order and creates nothing
            # (or cancels what it has just created).
            return "nothing to cancel: no provider object"
        if payment.is_captured:
            # Paid after all; PaymentOutcomes refunds money that arrives too late.
            return f"not cancelled: payment is {payment.status.value}"
        calls = self.calls(payment.provider.value)
        try:
            calls.gateway.cancel(payment.gateway_order_id)
        finally:
            calls.keep()  # no event follows a cancel: the evidence row is its record
        return f"cancelled {payment.gateway_order_id}{expired}"

    def close_open(self, payment_id: UUID) -> str:
        """Once paid, nothing else may take the customer's money: close every other way to pay.

        Stripe: the engine's own PaymentIntent when a hosted session was paid, and every
        session still open. Razorpay orders cannot be closed; a second payment on one is
        refunded when it is captured.
        """
        payment = self.app.load(Payment, payment_id)
        if not payment.is_captured:
            return f"nothing to close: payment is {payment.status.value}"
        expired = self._expire_sessions(payment)
        intent = payment.gateway_order_id
        if payment.provider is not Provider.STRIPE or intent in (None, payment.gateway_payment_id):
            return "closed" + expired
        assert intent is not None
        calls = self.calls(payment.provider.value)
        try:
            calls.gateway.cancel(intent)
        except PermanentProviderError as exc:
            # Paid as well: its capture arrives as an extra charge and is refunded.
            return f"intent {intent} not cancelled ({exc.reason}){expired}"
        finally:
            calls.keep()
        return f"cancelled intent {intent}{expired}"

    def _expire_sessions(self, payment: Payment) -> str:
        """Expire the payment's open hosted sessions; what was done, for the task's note."""
        open_sessions = payment.open_sessions
        if not open_sessions:
            return ""
        if self.sessions is None:
            raise ProviderNotConfigured(payment.provider.value)
        calls = EvidencedSessions(self.sessions, self.evidence)
        for session_id in open_sessions:
            try:
                status = calls.sessions.expire(session_id)
            finally:
                origin = calls.keep()  # kept before the event naming it, refusals too
            self.payments.session_closed(payment.id, session_id, status, origin)
        return f"; sessions {', '.join(open_sessions)} closed"

    def capture(self, payment_id: UUID, capture_id: str) -> str:
        """Ask the provider for an operator's capture, and record what it took.

        The answer goes through the path every capture takes (``PaymentOutcomes.succeeded``):
        it confirms the order only if it took what the operator asked for, and anything
        else is recorded and refunded. A refusal is recorded on the payment (the
        authorization stays, for a person to capture again or void).
        """
        payment = self.app.load(Payment, payment_id)
        entry = payment.captures.get(capture_id)
        if entry is None or entry["status"] != "pending":
            return "nothing to do: capture is " + (entry["status"] if entry else "unknown")
        charge = payment.gateway_payment_id
        calls = self.calls(payment.provider.value)
        try:
            if charge is None:
                raise PermanentProviderError("the payment has no authorization to capture")
            request = ProviderCaptureRequest(
                payment_id, capture_id, charge, entry["amount"], payment.currency
            )
            captured = calls.gateway.capture(request)
            crash_point("worker.after_provider_call")
        except PermanentProviderError as exc:
            self.payments.capture_failed(payment_id, capture_id, exc.reason, calls.keep())
            raise
        except Exception:
            calls.keep()
            raise
        origin = calls.keep()
        outcome = self.payments.succeeded(
            payment_id,
            captured.gateway_payment_id,
            captured.amount,
            captured.currency,
            None,
            origin,
        )
        note = f"captured {captured.amount} {captured.currency} of {captured.gateway_payment_id}"
        return note if outcome.extra is None else f"{note}: {outcome.extra}"

    def refund(self, payment_id: UUID, refund_id: str) -> str:
        """Ask the provider for a requested refund; record a final answer if it gives one."""
        payment = self.app.load(Payment, payment_id)
        entry = payment.refunds.get(refund_id)
        if entry is None or entry["status"] != RefundStatus.PENDING:
            return "nothing to do: refund is " + (entry["status"] if entry else "unknown")
        calls = self.calls(payment.provider.value)
        charge, currency = payment.refunded_charge(refund_id)
        try:
            if charge is None:
                raise PermanentProviderError("the payment has no captured charge to refund")
            answer = calls.gateway.refund(
                ProviderRefundRequest(payment_id, refund_id, charge, entry["amount"], currency)
            )
            crash_point("worker.after_provider_call")
        except PermanentProviderError as exc:
            self.refunds.failed(payment_id, refund_id, exc.reason, calls.keep())
            raise
        except Exception:
            calls.keep()
            raise
        origin = calls.keep()
        if answer.status is ProviderRefundStatus.SUCCEEDED:
            self.refunds.succeeded(payment_id, refund_id, answer.gateway_refund_id, origin)
        elif answer.status is ProviderRefundStatus.FAILED:
            reason = "the provider declined the refund"
            self.refunds.failed(payment_id, refund_id, reason, origin)
        return f"refund {answer.gateway_refund_id} {answer.status.value}"
